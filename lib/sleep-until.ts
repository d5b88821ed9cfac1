import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves at or after `at` (a `performance.now()` instant), never before it. A timer alone can
 * fire early (Node counts whole milliseconds at both ends; bench/timer-early.ts measures it), so
 * whatever is left is slept again.
 */
export async function sleepUntil(at: number): Promise<void> {
  for (let left = at - performance.now(); left > 0; left = at - performance.now()) {
    await sleep(Math.ceil(left));
  }
}
