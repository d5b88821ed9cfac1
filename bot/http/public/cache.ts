/**
 * The public pages' figures, kept in this process for a short while: a page view reads the
 * rollups at most once per key and TTL, however many citizens open it (concurrent views of a
 * cold key share one read). Bounded: the oldest keys go first, so made-up unit codes cannot
 * grow it without limit. A failed read is not kept.
 */
export class TtlCache {
  private readonly entries = new Map<string, { until: number; value: Promise<unknown> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 2000,
    private readonly clock: () => number = Date.now,
  ) {}

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value as Promise<T>;
    this.entries.delete(key);
    const value = load();
    if (this.ttlMs > 0) {
      this.entries.set(key, { until: now + this.ttlMs, value });
      value.catch(() => this.entries.delete(key));
      while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }
}
