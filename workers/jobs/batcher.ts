/**
 * Groups concurrent calls into one write: `add()` resolves when the batch holding the item was
 * flushed (or rejects with its error, so each job is retried on its own). A batch is flushed when
 * it holds `maxItems` or `maxWaitMs` after its first item, whichever comes first.
 *
 * Group commit: at most `maxInFlight` flushes run at once (default 1). Items arriving while they
 * run wait and go out together in the next batch. Many concurrent bulk inserts into one
 * collection are slower in total than the same documents in fewer, larger, sequential ones
 * (on FerretDB above all), and the waiting batch grows, so throughput rises with load instead of
 * collapsing.
 */
export class Batcher<T> {
  private items: T[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private readonly maxInFlight: number;
  /** Every item's promise until it settles: what drain() waits for. */
  private readonly unsettled = new Set<Promise<void>>();

  constructor(
    private readonly flushFn: (items: T[]) => Promise<void>,
    private readonly opts: { maxItems: number; maxWaitMs: number; maxInFlight?: number } = {
      maxItems: 500,
      maxWaitMs: 5,
    },
  ) {
    this.maxInFlight = opts.maxInFlight ?? 1;
  }

  add(item: T): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.opts.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.maxWaitMs);
    });
    this.unsettled.add(p);
    const forget = (): void => void this.unsettled.delete(p);
    p.then(forget, forget);
    return p;
  }

  /**
   * Resolves once every item added before the call has been flushed or has failed (never
   * rejects: each item's own caller sees its error). Items added later are not waited for. A
   * reader that must see what concurrent callers wrote waits here instead of racing them.
   */
  async drain(): Promise<void> {
    if (this.unsettled.size === 0) return;
    await Promise.allSettled([...this.unsettled]);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // A flush is running: the items wait; its completion flushes them.
    if (this.inFlight >= this.maxInFlight || this.items.length === 0) return;
    const items = this.items.slice(0, this.opts.maxItems);
    const waiters = this.waiters.slice(0, this.opts.maxItems);
    this.items = this.items.slice(items.length);
    this.waiters = this.waiters.slice(waiters.length);
    this.inFlight++;
    const done = (): void => {
      this.inFlight--;
      if (this.items.length > 0) this.flush();
    };
    this.flushFn(items).then(
      () => {
        waiters.forEach((w) => w.resolve());
        done();
      },
      (err: unknown) => {
        waiters.forEach((w) => w.reject(err));
        done();
      },
    );
  }
}
