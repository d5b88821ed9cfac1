import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from '../lib/logger';
import type { Role } from './start';

/**
 * The nice value a process with these roles should run at: `workersNice` for a workers-only
 * process, unchanged (null) for anything that answers citizens (bot, http).
 *
 * Why: the bot's reply is what a citizen waits for; the workers' writes to MongoDB are
 * asynchronous (jobs wait in Redis) and can take the CPU the bot leaves (docs/history.md,
 * "Workers' CPU priority"). In containers with their own CPU shares, the value only orders the
 * container's own processes.
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
    const threads = lowerThreads(nice);
    log.info({ nice, threads }, 'workers process runs at a lower CPU priority');
  } catch (err) {
    log.warn({ err, nice }, 'could not lower the CPU priority of the workers process');
  }
}

/**
 * On Linux a nice value belongs to a thread: setpriority() above changed only the main thread,
 * and threads started before it (V8's platform and GC helpers, libuv's pool if already used)
 * kept theirs, so a "niced" process still competed at full weight on them. Lowers every thread
 * of this process that is not already as low; threads started later inherit from the main
 * thread. Returns how many threads it lowered (0 where /proc does not exist).
 */
function lowerThreads(nice: number): number {
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const tid of tids) {
    try {
      if (os.getPriority(Number(tid)) >= nice) continue;
      os.setPriority(Number(tid), nice);
      lowered++;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return lowered;
}
