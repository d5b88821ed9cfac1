import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import mongoose from 'mongoose';
import { freePort, uriWithDb } from '../support/app';
import { clearPrefix, redisUrl, testPrefix, testRedis, uniqueName } from '../support/services';

/**
 * `hailong start` as the README runs it (no --roles, no ROLES): http and bot in the command's
 * process, the workers role in a child process it starts, lowers in priority, starts again when
 * it dies, and drains on SIGTERM (app/layout.ts). The real command, as an operator runs it.
 */
const redis = testRedis();
const prefix = testPrefix('startlayout');
const dbName = uniqueName('startlayout');
/** Above run-test.sh's own nice (10), so that the child's is seen to be lowered. */
const WORKERS_NICE = 15;

interface LogLine {
  msg: string;
  roles?: string;
  pid?: number;
  [k: string]: unknown;
}

interface Started {
  proc: ChildProcess;
  port: number;
  logs: LogLine[];
}

async function startCommand(): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    MONGODB_URI: uriWithDb(dbName),
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    WORKERS_NICE: String(WORKERS_NICE),
    DIGEST_AT: 'off',
  };
  delete env.ROLES;
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '../../bin/hailong.ts'), 'start'],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logs: LogLine[] = [];
  let rest = '';
  proc.stderr!.on('data', (b: Buffer) => {
    const lines = (rest + b.toString()).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l) as LogLine);
      } catch {
        logs.push({ msg: l });
      }
    }
  });
  return { proc, port, logs };
}

/** Polls until `find` returns something (bounded by the test's timeout: a wait, not a timed assertion). */
async function waitFor<T>(s: Started, what: string, find: () => T | undefined): Promise<T> {
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (s.proc.exitCode !== null)
      throw new Error(
        `hailong start exited (${s.proc.exitCode}) before ${what}: ${JSON.stringify(s.logs.slice(-10))}`,
      );
    await sleep(50);
  }
}

const startedWorkers = (s: Started) => s.logs.filter((l) => l.msg === 'workers process started by this one');
const ready = (s: Started, roles: string) =>
  s.logs.filter((l) => l.msg === 'process started' && l.roles === roles).length;

/** Whether a process runs (a zombie left by an exited child does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

afterAll(async () => {
  const conn = await mongoose.createConnection(uriWithDb(dbName)).asPromise();
  await conn.dropDatabase();
  await conn.close();
  await clearPrefix(redis, prefix);
  await redis.quit();
});

test('hailong start runs http and bot itself, the workers in a child of lower priority that is started again when it dies and drained on SIGTERM', async () => {
  const s = await startCommand();
  try {
    const first = await waitFor(s, 'the workers process', () => startedWorkers(s)[0]?.pid);
    await waitFor(
      s,
      'both started',
      () => (ready(s, 'http,bot') === 1 && ready(s, 'workers') === 1) || undefined,
    );
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);

    // The child is lowered (never raised above what it inherited); the command's own process is not.
    expect(os.getPriority(first)).toBe(Math.max(WORKERS_NICE, os.getPriority()));
    expect(os.getPriority(s.proc.pid)).toBe(os.getPriority());
    // It consumes the queues: BullMQ's workers of the ingest queue are there, and only the child
    // has the workers role.
    const ingest = new Queue('ingest', { connection: redis, prefix });
    expect((await ingest.getWorkers()).length).toBeGreaterThan(0);
    await ingest.close();

    process.kill(first, 'SIGKILL');
    const second = await waitFor(s, 'a new workers process', () => startedWorkers(s)[1]?.pid);
    expect(second).not.toBe(first);
    expect(s.logs.filter((l) => l.msg === 'workers process exited: starting it again')).toEqual([
      expect.objectContaining({ signal: 'SIGKILL', restartInMs: 1000 }),
    ]);
    await waitFor(s, 'the new one started', () => ready(s, 'workers') === 2 || undefined);
    expect(alive(second)).toBe(true);

    const exited = once(s.proc, 'exit');
    s.proc.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(alive(second)).toBe(false);
    // The command's process restarted nothing while it stopped.
    expect(startedWorkers(s)).toHaveLength(2);
  } finally {
    s.proc.kill('SIGKILL');
  }
}, 180_000);

test('a workers process whose command was killed drains and exits on its own', async () => {
  const s = await startCommand();
  try {
    const child = await waitFor(s, 'the workers process', () => startedWorkers(s)[0]?.pid);
    await waitFor(s, 'it started', () => ready(s, 'workers') === 1 || undefined);
    // The pipe of the logs ends once every process that writes to it (the command's and the
    // child's) is gone: a child that outlived its command would keep it open.
    const ended = once(s.proc.stderr!, 'end');
    s.proc.kill('SIGKILL');
    await ended;
    // Its files close a moment before it is gone.
    while (alive(child)) await sleep(20);
    // It went by its own drain, not by a signal.
    expect(s.logs.filter((l) => l.msg === 'the supervising process is gone: shutting down')).toHaveLength(1);
  } finally {
    s.proc.kill('SIGKILL');
  }
}, 180_000);
