import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '../../workers/queues';
import { BotApiSink, postText } from './bot-api-sink';

/**
 * Processes of the app for bench/load.ts and bench/soak.ts: `hailong start --roles …` as
 * production runs it (bin/hailong.ts), each an OS process of its own, ready when it logs
 * "process started"; and the simulated citizens that answer surveys through the webhook.
 */
const ROOT = path.resolve(__dirname, '../..');

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
      env: { ...env, LOG_LEVEL: 'info', PORT: String(port ?? 0) },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${roles} process did not start in 90 s`)), 90_000);
    proc.once('exit', (code) => reject(new Error(`${roles} process exited (${code})`)));
    let buf = '';
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

export async function stopRoleProcess(p: RoleProcess): Promise<number> {
  const t0 = Date.now();
  if (p.proc.exitCode === null && p.proc.signalCode === null) {
    const exited = once(p.proc, 'exit');
    p.proc.kill('SIGTERM');
    await exited;
  }
  return Date.now() - t0;
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
): Promise<{ queues: Record<string, number>; redisMiB: number }> {
  const queues: Record<string, number> = {};
  for (const q of QUEUES) {
    const queue = new Queue(q, { connection: redis, prefix });
    const c = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    await queue.close();
    queues[q] = Object.values(c).reduce((a, b) => a + b, 0);
  }
  const info = await redis.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  return { queues, redisMiB: used / 1024 / 1024 };
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

export function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function loadAverage(): string {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}
