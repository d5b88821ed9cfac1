import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { parseEnv } from '../../config/env';
import {
  connectionPlan,
  createProducerConnection,
  createWorkerConnection,
  type RedisClient,
} from '../../lib/redis';
import { freePort } from '../support/app';
import { pingable } from '../support/redis-cluster';
import { testPrefix } from '../support/services';
import { until } from '../support/until';

/**
 * REDIS_SENTINELS against a real master, replica and sentinel from Debian's redis-server on
 * loopback ports: the connections find the master through the sentinel, and after a failover
 * (SENTINEL FAILOVER) they follow the promoted replica; a queued job and a key written before it
 * are there after it (the replica was in sync: WAIT), and new writes and jobs go on.
 */
jest.setTimeout(120_000);
const NAME = 'hailong-test';
const prefix = testPrefix('sentinel');
let dir = '';
const servers: ChildProcess[] = [];
const ports = { master: 0, replica: 0, sentinel: 0 };
const clients: RedisClient[] = [];

function server(args: string[]): ChildProcess {
  const s = spawn(
    'redis-server',
    [...args, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  servers.push(s);
  return s;
}

const admin = (port: number) =>
  new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });

async function roleOf(port: number): Promise<string> {
  const r = admin(port);
  try {
    const role = (await r.call('ROLE')) as unknown[];
    return String(role[0]);
  } catch {
    return 'down';
  } finally {
    r.disconnect();
  }
}

async function masterPortSeenBySentinel(): Promise<number> {
  const s = admin(ports.sentinel);
  try {
    const [, port] = (await s.call('SENTINEL', 'get-master-addr-by-name', NAME)) as [string, string];
    return Number(port);
  } finally {
    s.disconnect();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hl-redis-sentinel-'));
  ports.master = await freePort();
  do ports.replica = await freePort();
  while (ports.replica === ports.master);
  do ports.sentinel = await freePort();
  while (ports.sentinel === ports.master || ports.sentinel === ports.replica);
  server(['--port', String(ports.master), '--dir', dir]);
  server(['--port', String(ports.replica), '--dir', dir, '--replicaof', '127.0.0.1', String(ports.master)]);
  await pingable(ports.master, 10_000);
  await pingable(ports.replica, 10_000);
  const conf = join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${ports.sentinel}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${NAME} 127.0.0.1 ${ports.master} 1`,
      `sentinel down-after-milliseconds ${NAME} 2000`,
      `sentinel failover-timeout ${NAME} 20000`,
      '',
    ].join('\n'),
  );
  server([conf, '--sentinel']);
  await pingable(ports.sentinel, 10_000);
  // The sentinel has found the replica (it is a candidate for promotion).
  await until(
    async () => {
      const s = admin(ports.sentinel);
      try {
        const replicas = (await s.call('SENTINEL', 'replicas', NAME)) as unknown[];
        return replicas.length === 1;
      } finally {
        s.disconnect();
      }
    },
    'the sentinel to find the replica',
    30_000,
  );
});

afterAll(async () => {
  // disconnect(), not quit(): a sentinel-mode client keeps its sentinel connections open after quit().
  for (const c of clients) c.disconnect();
  await Promise.all(
    servers.map(async (s) => {
      if (s.exitCode !== null || s.signalCode !== null) return;
      const exited = once(s, 'exit');
      s.kill('SIGTERM');
      await exited;
    }),
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('REDIS_SENTINELS is parsed and refused beside REDIS_CLUSTER_NODES', () => {
  const env = parseEnv({ NODE_ENV: 'test', REDIS_SENTINELS: 's1:26379, s2:26380', REDIS_SENTINEL_NAME: 'm' });
  expect(env.REDIS_SENTINELS).toEqual([
    { host: 's1', port: 26379 },
    { host: 's2', port: 26380 },
  ]);
  expect(connectionPlan(env, 'worker')).toMatchObject({
    kind: 'sentinel',
    options: { name: 'm', sentinels: env.REDIS_SENTINELS, maxRetriesPerRequest: null },
  });
  expect(() =>
    parseEnv({ NODE_ENV: 'test', REDIS_SENTINELS: 's1:26379', REDIS_CLUSTER_NODES: 'r1:6379' }),
  ).toThrow(/REDIS_SENTINELS: not with REDIS_CLUSTER_NODES/);
  expect(() => parseEnv({ NODE_ENV: 'test', REDIS_SENTINELS: 's1' })).toThrow(
    /expected comma-separated host:port/,
  );
});

test('the connections find the master through the sentinel and follow it across a failover, losing nothing', async () => {
  const env = parseEnv({
    NODE_ENV: 'test',
    // Nothing listens there: every connection must come from the sentinel.
    REDIS_URL: 'redis://127.0.0.1:1',
    REDIS_SENTINELS: `127.0.0.1:${ports.sentinel}`,
    REDIS_SENTINEL_NAME: NAME,
  });
  const producer = createProducerConnection(env);
  const workerConn = createWorkerConnection(env);
  clients.push(producer, workerConn);
  const queue = new Queue('sentinel', { connection: producer, prefix });
  await producer.set(`${prefix}:before`, 'kept');
  await queue.add('job', { n: 1 }, { jobId: 'before-failover' });
  // The replica has everything written so far before the master is replaced.
  expect(await producer.call('WAIT', '1', '5000')).toBe(1);
  expect(await roleOf(ports.master)).toBe('master');

  const s = admin(ports.sentinel);
  await s.call('SENTINEL', 'failover', NAME);
  s.disconnect();
  await until(
    async () => (await masterPortSeenBySentinel()) === ports.replica,
    'the sentinel to promote the replica',
    60_000,
  );
  await until(async () => (await roleOf(ports.replica)) === 'master', 'the replica to become master', 60_000);

  // Writes go on through the same client and reach the promoted replica. A write sent in the
  // switch may fail or land on the old master before it is demoted (lost: the cost of a failover,
  // docs/redis-cluster.md); the producer's callers retry, so the test does too.
  const direct = admin(ports.replica);
  await until(
    async () => {
      try {
        await producer.set(`${prefix}:after`, 'written');
        return (await direct.get(`${prefix}:after`)) === 'written';
      } catch {
        return false;
      }
    },
    'a write after the failover on the new master',
    60_000,
  );
  expect(await direct.get(`${prefix}:before`)).toBe('kept');
  direct.disconnect();
  await queue.add('job', { n: 2 }, { jobId: 'after-failover' });

  const done: string[] = [];
  const worker = new Worker(
    'sentinel',
    (job) => {
      done.push(job.id!);
      return Promise.resolve();
    },
    { connection: workerConn, prefix },
  );
  await until(() => done.length === 2, 'both jobs', 60_000);
  await worker.close();
  await queue.close();
  expect(done.sort()).toEqual(['after-failover', 'before-failover']);
});
