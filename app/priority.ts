import os from 'node:os';
import type { Logger } from '../lib/logger';
import type { Role } from './start';

/**
 * The nice value a process with these roles should run at: `workersNice` for a workers-only
 * process, unchanged (null) for anything that answers citizens (bot, http).
 *
 * Why: the bot's reply is what a citizen waits for; the workers' writes to MongoDB are
 * asynchronous (jobs wait in Redis) and can take the CPU the bot leaves. On one 2-core host
 * running bot, workers, Redis and the database, the open-loop p99 after the cold start was ~80 ms
 * at nice 0 and 26–28 ms at nice 10 (single runs; later alternating runs were noisy: see
 * docs/architecture.md "Workers yield the CPU"). In containers with their own CPU shares, the
 * value only orders the container's own processes.
 */
export function niceFor(roles: ReadonlySet<Role>, workersNice: number): number | null {
  if (!roles.has('workers') || roles.has('bot') || roles.has('http') || workersNice === 0) return null;
  return workersNice;
}

/** Lowers this process's CPU priority when niceFor says so; never raises it. */
export function applyRolePriority(roles: ReadonlySet<Role>, workersNice: number, log: Logger): void {
  const nice = niceFor(roles, workersNice);
  if (nice === null) return;
  try {
    if (os.getPriority() >= nice) return;
    os.setPriority(nice);
    log.info({ nice }, 'workers process runs at a lower CPU priority');
  } catch (err) {
    log.warn({ err, nice }, 'could not lower the CPU priority of the workers process');
  }
}
