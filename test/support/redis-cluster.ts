import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './app';

const run = promisify(execFile);

export interface TestRedisCluster {
  nodes: Array<{ host: string; port: number }>;
  /** As REDIS_CLUSTER_NODES takes it: host:port,host:port,… */
  nodesEnv: string;
  stop(): Promise<void>;
}

/** Distinct free loopback ports: a client port per node, and its cluster bus port (not port + 10000, which may be taken or out of range). */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export async function pingable(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
    await sleep(50);
  }
}

/**
 * Starts a real Redis Cluster of `masters` masters (no replicas) from Debian's redis-server, on
 * free loopback ports with a temporary directory, creates it with `redis-cli --cluster create`,
 * and waits until every node reports cluster_state:ok. `stop()` ends the servers and removes the
 * directory. Nothing is persisted (no RDB, no AOF): the cluster lives for one test file.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'hl-redis-cluster-'));
  const ports = await freePorts(masters * 2);
  const servers: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      servers.map(async (s) => {
        if (s.exitCode !== null || s.signalCode !== null) return;
        const exited = once(s, 'exit');
        s.kill('SIGTERM');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const nodes = ports.slice(0, masters).map((port) => ({ host: '127.0.0.1', port }));
    nodes.forEach(({ port }, i) => {
      const server = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(ports[masters + i]),
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '3000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
          '--loglevel',
          'warning',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      servers.push(server);
    });
    await Promise.all(nodes.map(({ port }) => pingable(port, 10_000)));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map(({ host, port }) => `${host}:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await clusterOk(
      nodes.map((n) => n.port),
      20_000,
    );
    return { nodes, nodesEnv: nodes.map(({ host, port }) => `${host}:${port}`).join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function clusterOk(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const clients = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: true }));
  try {
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO') as Promise<string>));
      if (
        infos.every(
          (i) => i.includes('cluster_state:ok') && i.includes(`cluster_known_nodes:${ports.length}`),
        )
      )
        return;
      if (Date.now() > deadline) throw new Error(`redis cluster not ok: ${infos.join(' | ')}`);
      await sleep(100);
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}
