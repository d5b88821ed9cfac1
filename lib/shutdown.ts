import type { Logger } from './logger';

export interface Shutdown {
  /** Registers a closer; lower order runs first (http 0, workers 20, queues 80, connections 90+). */
  add(name: string, close: () => Promise<unknown>, order: number): void;
  /** Runs every closer once, in order; later calls return the same promise. */
  run(): Promise<void>;
  /** SIGTERM / SIGINT run the shutdown once, then exit. */
  onSignals(): void;
}

export function createShutdown(log: Logger, timeoutMs = 30_000): Shutdown {
  const closers: Array<{ name: string; close: () => Promise<unknown>; order: number }> = [];
  let running: Promise<void> | null = null;
  return {
    add(name, close, order) {
      closers.push({ name, close, order });
    },
    run() {
      running ??= (async () => {
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
