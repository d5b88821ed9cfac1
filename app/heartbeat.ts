import { readFile, rename, writeFile } from 'node:fs/promises';
import { probeHealth } from '../lib/health';
import type { Logger } from '../lib/logger';
import type { RedisClient } from '../lib/redis';

/** A fresh beat is at most this many intervals old. */
const STALE_AFTER_INTERVALS = 3;

export interface Heartbeat {
  stop(): void;
}

/**
 * Rewrites `file` with the time every `intervalMs` while this process's own Redis and MongoDB
 * connections answer, so that a container health check can judge a process of any role, one
 * without an HTTP server included. A wedged event loop or a lost connection stops the beats.
 * Written to a temporary name and renamed: a reader never sees half a file.
 */
export function startHeartbeat(opts: {
  file: string;
  intervalMs: number;
  redis: RedisClient;
  log: Logger;
}): Heartbeat {
  let running = false;
  const beat = async () => {
    if (running) return;
    running = true;
    try {
      const health = await probeHealth(opts.redis, Math.min(1500, opts.intervalMs));
      if (health.redis !== 'ok' || health.mongodb !== 'ok') {
        opts.log.warn(health, 'heartbeat skipped: a connection does not answer');
        return;
      }
      const tmp = `${opts.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ at: Date.now(), intervalMs: opts.intervalMs }));
      await rename(tmp, opts.file);
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'heartbeat not written');
    } finally {
      running = false;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Whether the heartbeat in `file` is fresh at `now`; the reason when not. */
export async function heartbeatFresh(
  file: string,
  now = Date.now(),
): Promise<{ ok: true } | { ok: false; reason: string }> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return { ok: false, reason: `no heartbeat file ${file}` };
  }
  const beat = JSON.parse(raw) as { at?: unknown; intervalMs?: unknown };
  if (typeof beat.at !== 'number' || typeof beat.intervalMs !== 'number')
    return { ok: false, reason: 'unreadable heartbeat' };
  const age = now - beat.at;
  if (age > STALE_AFTER_INTERVALS * beat.intervalMs)
    return { ok: false, reason: `last heartbeat ${Math.round(age / 1000)} s ago` };
  return { ok: true };
}
