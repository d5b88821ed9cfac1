import type { Logger } from './logger';

/** How long a stopping process lets the platform calls in flight finish (see `stopSignal`). */
export const STOP_GRACE_MS = 5000;

export interface Shutdown {
  /** Registers a closer; lower order runs first (http 0, workers 20, queues 80, connections 90+). */
  add(name: string, close: () => Promise<unknown>, order: number): void;
  /** Runs every closer once, in order; later calls return the same promise. */
  run(): Promise<void>;
  /** SIGTERM / SIGINT run the shutdown once, then exit. */
  onSignals(): void;
  /**
   * The process's stop signal, aborted `graceMs` after the shutdown starts. Every platform client
   * of the process is given it (AppContext's `stopSignal`): past the grace a platform that hangs
   * or fails would hold the steps that wait for their work (turns, jobs) up to their timeout, so
   * their calls and retries give up at once and the work is left to the next process
   * (docs/faults.md, "The drain bound").
   */
  readonly stopSignal: AbortSignal;
}

export function createShutdown(log: Logger, timeoutMs = 30_000, graceMs = STOP_GRACE_MS): Shutdown {
  const closers: Array<{ name: string; close: () => Promise<unknown>; order: number }> = [];
  const stop = new AbortController();
  let running: Promise<void> | null = null;
  return {
    stopSignal: stop.signal,
    add(name, close, order) {
      closers.push({ name, close, order });
    },
    run() {
      running ??= (async () => {
        const grace = setTimeout(() => {
          log.info({ graceMs }, 'shutdown: platform calls still in flight are abandoned');
          stop.abort();
        }, graceMs).unref();
        const ordered = [...closers].sort((a, b) => a.order - b.order);
        for (const c of ordered) {
          try {
            await Promise.race([
              c.close(),
              new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
            ]);
            log.debug({ closer: c.name }, 'closed');
          } catch (err) {
            log.error({ closer: c.name, err: (err as Error).message }, 'shutdown step failed');
          }
        }
        clearTimeout(grace);
      })();
      return running;
    },
    onSignals() {
      const handler = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'shutting down');
        void this.run().then(() => process.exit(0));
      };
      process.once('SIGTERM', handler);
      process.once('SIGINT', handler);
    },
  };
}
