import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '../../workers/queues';
import { freePort } from './app';
import { uniqueName } from './services';

/**
 * Processes of their own for the fault tests (test/load/fault-*.test.ts): app processes with the
 * roles they are given, a Redis server with AOF that the test can restart, a FerretDB the test
 * can stop and start again (on the local PostgreSQL, its own database). The shared services of
 * scripts/with-services.sh are left alone: another test file may be using them.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '../..');

async function listening(port: number, timeoutMs: number, what: string): Promise<void> {
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
    if (Date.now() > deadline) throw new Error(`${what} on ${port} did not start in ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Ends a child with `signal` and resolves once it exited (at once if it already had). */
export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill(signal);
  await exited;
}

export interface OwnRedis {
  port: number;
  url: string;
  /** A graceful restart: SIGTERM (Redis writes its AOF and exits), then the same port and files. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** redis-server with AOF (appendfsync everysec) on a free port and a temporary directory. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'hl-fault-redis-'));
  const port = await freePort();
  let server: ChildProcess;
  const launch = async () => {
    server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await listening(port, 10_000, 'redis-server');
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs = 0) {
      await stopProcess(server);
      if (downMs > 0) await sleep(downMs);
      await launch();
    },
    async stop() {
      await stopProcess(server);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface OwnFerret {
  port: number;
  /** The server's URI with a database name in its path. */
  uri(db: string): string;
  /** Stops the server (SIGTERM): clients see their connections close and new ones refused. */
  stop(): Promise<void>;
  /** Starts it again on the same port and PostgreSQL database. */
  start(): Promise<void>;
  /** Stops it and drops its PostgreSQL database. */
  destroy(): Promise<void>;
}

/**
 * FerretDB 1.24.2 (scripts/install-ferretdb.sh's build) on a free port, on a PostgreSQL database
 * of its own at HAILONG_PG_URL (default postgres://postgres@127.0.0.1:5432), started as
 * scripts/with-services.sh starts the shared one (the GIN twins included).
 */
export async function startOwnFerret(): Promise<OwnFerret> {
  const pg = process.env.HAILONG_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const pgDb = uniqueName('ferret').toLowerCase();
  await run('psql', [`${pg}/postgres`, '-qc', `CREATE DATABASE ${pgDb}`]);
  await run('psql', [
    `${pg}/${pgDb}`,
    '-v',
    'ON_ERROR_STOP=1',
    '-qf',
    join(ROOT, 'scripts/ferretdb-pg-indexes.sql'),
  ]);
  await run('psql', [
    `${pg}/postgres`,
    '-qc',
    `ALTER DATABASE ${pgDb} SET plan_cache_mode = force_custom_plan`,
  ]);
  const bin =
    process.env.HAILONG_FERRET_BIN ??
    (await run('bash', [join(ROOT, 'scripts/install-ferretdb.sh')])).stdout.trim();
  const state = await mkdtemp(join(tmpdir(), 'hl-fault-ferret-'));
  const port = await freePort();
  let server: ChildProcess | null = null;
  const start = async () => {
    server = spawn(
      bin,
      [
        '--handler=postgresql',
        `--postgresql-url=${pg}/${pgDb}?pool_max_conns=40`,
        `--listen-addr=127.0.0.1:${port}`,
        '--debug-addr=-',
        `--state-dir=${state}`,
        '--telemetry=disable',
        '--log-level=error',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await listening(port, 20_000, 'FerretDB');
  };
  const stop = async () => {
    if (server) await stopProcess(server);
    server = null;
  };
  await start();
  return {
    port,
    uri: (db) => `mongodb://127.0.0.1:${port}/${db}`,
    stop,
    start,
    async destroy() {
      await stop();
      await run('psql', [`${pg}/postgres`, '-qc', `DROP DATABASE IF EXISTS ${pgDb} WITH (FORCE)`]).catch(
        () => undefined,
      );
      await rm(state, { recursive: true, force: true });
    },
  };
}

export interface AppProcess {
  proc: ChildProcess;
  roles: string;
  /** The HTTP port (null without the http role). */
  port: number | null;
  /** Output lines (stdout and stderr), for a test that must explain a failure. */
  output: string[];
}

/**
 * One process of the app (test/support/app-child.ts) with `roles` and the app's variables in
 * `env`, on `port` when it has the http role. Resolves once it started.
 */
export async function startAppProcess(
  roles: string,
  env: Record<string, string>,
  port: number | null = null,
): Promise<AppProcess> {
  const proc = fork(join(__dirname, 'app-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      ROLES: roles,
      PORT: String(port ?? 0),
      PUBLIC_URL: `http://127.0.0.1:${port ?? 1}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output: string[] = [];
  for (const s of [proc.stdout!, proc.stderr!])
    s.on('data', (b: Buffer) => {
      output.push(...b.toString().split('\n').filter(Boolean));
      if (output.length > 2000) output.splice(0, output.length - 2000);
    });
  const started = await new Promise<{ port: number | null }>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${roles} process exited early (${code}): ${output.slice(-20).join('\n')}`));
    proc.once('exit', onExit);
    proc.once('message', (m: { port: number | null }) => {
      proc.off('exit', onExit);
      resolve(m);
    });
  });
  return { proc, roles, port: started.port, output };
}

/** SIGTERM, and how long the process took to exit (ms); fails past `boundMs`. */
export async function drainTime(p: AppProcess, boundMs: number): Promise<number> {
  const t0 = Date.now();
  const stopped = stopProcess(p.proc);
  const timer = sleep(boundMs).then(() => 'late' as const);
  const r = await Promise.race([stopped.then(() => 'exited' as const), timer]);
  const ms = Date.now() - t0;
  if (r === 'late') {
    p.proc.kill('SIGKILL');
    throw new Error(`${p.roles} process did not exit within ${boundMs} ms of SIGTERM`);
  }
  return ms;
}

/** The app's variables for a fleet of processes sharing one database, one Redis and the fake Telegram. */
export function fleetEnv(o: {
  mongoUri: string;
  redisUrl: string;
  prefix: string;
  telegram: { token: string; apiRoot: string };
  secret: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    MONGODB_URI: o.mongoUri,
    REDIS_URL: o.redisUrl,
    REDIS_PREFIX: o.prefix,
    TELEGRAM_BOT_TOKEN: o.telegram.token,
    TELEGRAM_BOT_USERNAME: 'HaiLongFaultBot',
    TELEGRAM_API_ROOT: o.telegram.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: o.secret,
    // The test points the fake's webhook at the bot processes itself.
    TELEGRAM_SET_WEBHOOK: 'false',
    QUIET_HOURS_START: '00:00',
    QUIET_HOURS_END: '00:00',
    INVITE_COOLDOWN_DAYS: '0',
    SESSION_SYNC_LATER_MS: '200',
    DIGEST_AT: 'off',
    ...o.extra,
  };
}

/** The inbox state of the chats named in an error (`citizen <chat>:`), to explain a stuck conversation. */
export async function inboxStateOf(redis: Redis, prefix: string, err: unknown): Promise<string> {
  const chats = [...String((err as Error).message).matchAll(/citizen (\d+)/g)].map((m) => m[1]!);
  const out: string[] = [];
  for (const chat of chats) {
    for (const k of await redis.keys(`${prefix}:tg:*:${chat}`)) {
      const t = await redis.type(k);
      const v =
        t === 'zset'
          ? (await redis.zrange(k, 0, '-1')).map((x) => x.slice(0, 120))
          : t === 'hash'
            ? await redis.hgetall(k)
            : t === 'string'
              ? await redis.get(k)
              : t;
      out.push(`${k} (${t}, pttl ${await redis.pttl(k)}): ${JSON.stringify(v)}`);
    }
  }
  return out.join('\n');
}

/** Jobs that failed for good (retries exhausted) in each queue of the prefix: a fault test expects none. */
export async function failedJobs(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const q of QUEUES) {
    const queue = new Queue(q, { connection: redis, prefix });
    const n = await queue.getFailedCount();
    await queue.close();
    if (n > 0) out[q] = n;
  }
  return out;
}

/** Why each job that failed for good failed (name, attempts, reason): a fault test's explanation. */
export async function failedJobReasons(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const q of QUEUES) {
    const queue = new Queue(q, { connection: redis, prefix });
    for (const j of await queue.getFailed(0, 20))
      out.push(`${q}/${j.name}: ${j.attemptsMade} attempts: ${String(j.failedReason).slice(0, 200)}`);
    await queue.close();
  }
  return out;
}

/**
 * Each queue's job counts, and the delayed jobs' attempts and when they run next: where the
 * work of a fault test stands when it did not finish in time.
 */
export async function queueStateOf(redis: Redis, prefix: string): Promise<string> {
  const out: string[] = [];
  for (const q of QUEUES) {
    const queue = new Queue(q, { connection: redis, prefix });
    const counts = await queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'failed',
      'completed',
    );
    out.push(`${q}: ${JSON.stringify(counts)}`);
    const now = Date.now();
    for (const j of await queue.getActive(0, 4))
      out.push(
        `  active ${j.name} ${j.id}: for ${Math.round((now - (j.processedOn ?? now)) / 1000)} s, ${j.attemptsMade} attempts, ${j.stalledCounter} stalls`,
      );
    for (const j of await queue.getDelayed(0, 9))
      out.push(
        `  delayed ${j.name} ${j.id}: ${j.attemptsMade} attempts, next in ${Math.round((j.timestamp + j.delay - now) / 1000)} s: ${String(j.failedReason ?? '').slice(0, 120)}`,
      );
    await queue.close();
  }
  out.push(...(await failedJobReasons(redis, prefix)));
  return out.join('\n');
}
