import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { Unit } from '../../models/unit';
import { QUEUES } from '../../workers/queues';
import { freePort, uriWithDb } from '../../test/support/app';
import { stopProcess } from '../../test/support/fleet';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../../test/support/services';
import { BotApiSink, percentile, postText } from './bot-api-sink';
import { BENCH_SECRET, benchBotEnv } from './bot-env';

/**
 * The fleet of bench/load.ts and bench/soak.ts: `hailong start --roles …` as production runs it
 * (bin/hailong.ts), each an OS process of its own, ready when it logs "process started"; a
 * database and a key prefix of their own; and the simulated citizens that answer surveys
 * through the webhook.
 */
const ROOT = path.resolve(__dirname, '../..');
/** The unit of every simulated survey (the poster's `/start u_<unit>`). */
export const BENCH_UNIT = '19867';
/** How long a process may take to start (a loaded machine compiles the TypeScript slowly). */
const START_TIMEOUT_S = Number(process.env.BENCH_START_TIMEOUT_S ?? 300);

export interface RoleProcess {
  roles: string;
  proc: ChildProcess;
  port: number | null;
}

export async function startRoleProcess(
  roles: string,
  env: NodeJS.ProcessEnv,
  port: number | null,
): Promise<RoleProcess> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bin/hailong.ts'), 'start', '--roles', roles],
    {
      cwd: ROOT,
      // A workers-only process serves its metrics on OPS_PORT (app/start.ts).
      env: {
        ...env,
        LOG_LEVEL: 'info',
        PORT: String(port ?? 0),
        ...(port !== null && !roles.split(',').includes('http') ? { OPS_PORT: String(port) } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let buf = '';
  const tail = () => buf.split('\n').slice(-10).join('\n');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${roles} process did not start in ${START_TIMEOUT_S} s: ${tail()}`));
    }, START_TIMEOUT_S * 1000);
    proc.once('exit', (code) => reject(new Error(`${roles} process exited (${code}): ${tail()}`)));
    const onData = (b: Buffer) => {
      buf = (buf + b.toString()).slice(-4000);
      if (buf.includes('process started')) {
        clearTimeout(timer);
        proc.stderr!.off('data', onData);
        resolve();
      }
    };
    proc.stderr!.on('data', onData);
  });
  // Logs go on being read (and dropped), so a full pipe never blocks the process.
  proc.stderr!.resume();
  return { roles, proc, port };
}

/** SIGTERM, and how long the process took to drain and exit (ms). */
export async function stopRoleProcess(p: RoleProcess): Promise<number> {
  const t0 = Date.now();
  await stopProcess(p.proc);
  return Date.now() - t0;
}

export interface BenchFleet {
  /** The Bot API every process sends to; it answers at once and records each reply. */
  sink: BotApiSink;
  secret: string;
  prefix: string;
  /** A connection of the bench's own (queue depths, Redis memory). */
  redis: Redis;
  /** Two bot processes and two worker processes, after start(). */
  procs: RoleProcess[];
  /** A name per process: `http,bot#1`, `http,bot#2`, `workers#1`, `workers#2`. */
  names: string[];
  /** The webhook of each bot process (a load balancer sends turns to them in turn). */
  urls: string[];
  start(): Promise<void>;
  /**
   * Stops the processes (SIGTERM; each one's drain time in ms), drops the database and the keys.
   * Once: a bench calls it on its way out whether it failed or not.
   */
  close(): Promise<number[]>;
}

/**
 * A fresh database (indexes, the default flow, the unit) and key prefix, and the Bot API sink;
 * the app's processes start with start(), so that a baseline can run before them on an idle
 * machine.
 */
export async function prepareBenchFleet(label: string): Promise<BenchFleet> {
  const sink = await BotApiSink.start();
  const dbName = await connectTestDb(`bench_${label}`);
  await new FlowRepository().ensure(defaultFlow);
  await Unit.create({ code: BENCH_UNIT, name: 'Thị trấn Sịa', level: 'town' });
  const prefix = testPrefix(`bench_${label}`);
  const env: NodeJS.ProcessEnv = {
    ...benchBotEnv(sink.apiRoot, uriWithDb(dbName), prefix),
    DIGEST_AT: 'off',
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
    QUIET_HOURS_START: '00:00',
    QUIET_HOURS_END: '00:00',
  };
  const redis = testRedis();
  let closing: Promise<number[]> | null = null;
  const fleet: BenchFleet = {
    sink,
    secret: BENCH_SECRET,
    prefix,
    redis,
    procs: [],
    names: [],
    urls: [],
    async start() {
      const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
      // One after the other: four processes compiling and connecting at once on a busy machine
      // can take longer than the app's 5 s to reach MongoDB.
      try {
        for (const [roles, port] of [
          ['http,bot', ports[0]!],
          ['http,bot', ports[1]!],
          ['workers', ports[2]!],
          ['workers', ports[3]!],
        ] as const)
          fleet.procs.push(await startRoleProcess(roles, env, port));
      } catch (err) {
        await fleet.close();
        throw err;
      }
      fleet.names = fleet.procs.map((p, i) => `${p.roles}#${(i % 2) + 1}`);
      fleet.urls = ports.slice(0, 2).map((p) => `http://127.0.0.1:${p}/webhooks/telegram`);
    },
    close() {
      closing ??= (async () => {
        const drains = await Promise.all(fleet.procs.map(stopRoleProcess));
        await sink.close();
        await dropTestDb();
        await clearPrefix(redis, prefix);
        await redis.quit();
        return drains;
      })();
      return closing;
    },
  };
  return fleet;
}

const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';

/**
 * A process's V8 heap in use, in MiB, from its /metrics (null when it does not answer): apart
 * from the resident memory, it tells objects kept from memory the allocator has not given back.
 */
export async function heapUsedMiB(p: RoleProcess): Promise<number | null> {
  if (p.port === null) return null;
  try {
    const res = await fetch(`http://127.0.0.1:${p.port}/metrics`, {
      headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` },
      signal: AbortSignal.timeout(5000),
    });
    const m = /^hailong_nodejs_heap_size_used_bytes (\S+)$/m.exec(await res.text());
    return m ? Number(m[1]) / 1024 / 1024 : null;
  } catch {
    return null;
  }
}

/** Resident memory of a process in MiB (Linux /proc), null when it is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Jobs waiting, delayed or active in each queue of the prefix, and Redis's used memory in MiB. */
export async function queueDepths(
  redis: Redis,
  prefix: string,
): Promise<{
  queues: Record<string, number>;
  /** Per queue: the backlog (waiting, prioritized, active: due now) and the delayed (scheduled for later). */
  states: Record<string, { backlog: number; delayed: number }>;
  redisMiB: number;
}> {
  const queues: Record<string, number> = {};
  const states: Record<string, { backlog: number; delayed: number }> = {};
  for (const q of QUEUES) {
    const queue = new Queue(q, { connection: redis, prefix });
    const c = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    await queue.close();
    const delayed = c.delayed ?? 0;
    const backlog = (c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0);
    states[q] = { backlog, delayed };
    queues[q] = backlog + delayed;
  }
  const info = await redis.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  return { queues, states, redisMiB: used / 1024 / 1024 };
}

/** A whole survey as a citizen types it: /start of the unit's poster, consent, q1–q6, no suggestion. */
export const surveyScript = (unitCode: string): string[] => [
  `/start u_${unitCode}`,
  '1',
  '5',
  '4',
  '5',
  '3',
  '5',
  '4',
  'bỏ qua',
];

export interface TurnTiming {
  /** When the update was posted (performance.now). */
  sentAt: number;
  latencyMs: number;
  step: number;
}

/**
 * One citizen's survey, turn after turn, each waiting for the reply; the turns go to the bot
 * processes in turn (a load balancer). A reply later than `replyTimeoutMs` counts as lost and
 * the citizen goes on.
 */
export async function citizenSurvey(
  sink: BotApiSink,
  urls: readonly string[],
  secret: string,
  chat: number,
  script: readonly string[],
  replyTimeoutMs: number,
  onTurn: (t: TurnTiming | null) => void,
): Promise<void> {
  for (let step = 0; step < script.length; step++) {
    const reply = sink.nextMessage(chat);
    const t0 = performance.now();
    await postText(urls[(chat + step) % urls.length]!, secret, chat, script[step]!);
    const at = await Promise.race([reply, sleep(replyTimeoutMs).then(() => null)]);
    onTurn(at === null ? null : { sentAt: t0, latencyMs: at - t0, step });
  }
}

export const pct = percentile;

export function loadAverage(): string {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}
