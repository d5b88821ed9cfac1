import type { RedisClient } from '../lib/redis';
import type { Breakdowns, PeriodTotals } from './period-sum';

/** A month document as the period reads use it, its breakdowns parsed (models/rollup-month.ts). */
export interface MonthFigures extends PeriodTotals {
  month: string;
  /** The `rollup.month` run that wrote it. */
  version: number;
  days: number;
  /** Null on months written before they were kept. */
  breakdowns: Breakdowns | null;
  completedDossiers: number | null;
  badDossiers: number | null;
}

/** A unit-month as last read: its document, or that there was none, and when it was read. */
type Entry = { doc: MonthFigures | null; at: number };

/**
 * Month documents kept in this process between requests (the console's overview reads the same
 * unit-months for its report and its ranking, and again at each view), each served only while
 * it is provably what the database holds. Every `rollup.month` run INCRs its unit-month's epoch
 * in Redis (under the configured prefix) before it reads the days, and writes the document with
 * that epoch as its `version`, only over a lower one (workers/aggregation/rollups/month.ts). So
 * while the epoch still equals a kept document's version, no run has started since that document
 * was written and the database holds that same document; once any run starts (a completion, an
 * exclusion, a dossier day, a rebuild: all go through the month job), the epoch is above it and
 * every process reads the database again. A unit-month with no document is kept as "none" only
 * while its epoch is unset (no run ever started). A document read from a lagging secondary has a
 * version below the epoch, so it is never served from here either.
 *
 * Not seen: writes that bypass the month job (a database restore, a hand edit), and an epoch
 * reused after Redis lost its keys; for those an entry is read again after `maxAgeMs` at the
 * latest. The processes serving the API use it; the CLI and the tests that edit month documents
 * by hand read directly.
 * Unit scope is the caller's business: this is asked only for units already limited to the
 * caller's (indices/report.ts, ranking.ts). Kept documents are shared: never mutate them.
 */
export class MonthCache {
  /** In use order, the oldest first (a Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();
  /** The reads under way, by unit, months and the epochs seen before they started. */
  private readonly reading = new Map<string, Promise<MonthFigures[]>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly epochKey: (unitCode: string, month: string) => string,
    private readonly opts: { maxEntries: number; maxAgeMs: number; now: () => number } = {
      maxEntries: 2_000,
      maxAgeMs: 5 * 60_000,
      now: Date.now,
    },
  ) {}

  /**
   * Each unit's month documents: kept and current, or from a read of them (`read`, kept when it
   * succeeds). Single flight: a request that finds a read of the same unit-months under way,
   * started after seeing the same epochs, shares it instead of reading again (the overview's
   * report and ranking, its htmx swap and parallel API reads ask for the same unit-months at
   * once, and each read decodes the same breakdowns). Equal epochs mean no month run started
   * between the two requests' looks, so the shared read is as current as the joiner's own would
   * have been (a run under way may or may not be seen by either). One Redis round trip.
   */
  async months(
    units: readonly string[],
    months: readonly string[],
    read: (unitCode: string) => Promise<MonthFigures[]>,
  ): Promise<Map<string, Promise<MonthFigures[]>>> {
    const out = new Map<string, Promise<MonthFigures[]>>();
    if (months.length === 0) {
      for (const unitCode of units) out.set(unitCode, Promise.resolve([]));
      return out;
    }
    const { fresh, epochs } = await this.check(units, months);
    for (const [u, unitCode] of units.entries()) {
      const kept = fresh.get(unitCode);
      if (kept) {
        out.set(unitCode, Promise.resolve(kept));
        continue;
      }
      const seen = epochs.slice(u * months.length, (u + 1) * months.length).map((e) => e ?? '-');
      const k = `${unitCode}|${months.join(',')}|${seen.join(',')}`;
      let p = this.reading.get(k);
      if (!p) {
        p = read(unitCode).then(
          (docs) => {
            this.reading.delete(k);
            this.keep(unitCode, months, docs);
            return docs;
          },
          (err: unknown) => {
            this.reading.delete(k);
            throw err;
          },
        );
        this.reading.set(k, p);
      }
      out.set(unitCode, p);
    }
    return out;
  }

  /** The units whose months are all kept and current, and the epochs read (unit by unit, month by month). */
  private async check(
    units: readonly string[],
    months: readonly string[],
  ): Promise<{ fresh: Map<string, MonthFigures[]>; epochs: Array<string | null> }> {
    const out = new Map<string, MonthFigures[]>();
    if (units.length === 0 || months.length === 0) return { fresh: out, epochs: [] };
    const pairs = units.flatMap((unitCode) => months.map((month) => ({ unitCode, month })));
    // One slot: the prefix is hash-tagged, so MGET works on a cluster too.
    const epochs = await this.redis.mget(...pairs.map((p) => this.epochKey(p.unitCode, p.month)));
    const young = this.opts.now() - this.opts.maxAgeMs;
    for (const [u, unitCode] of units.entries()) {
      const docs: MonthFigures[] = [];
      let all = true;
      for (const [m, month] of months.entries()) {
        const k = `${unitCode}|${month}`;
        const e = this.entries.get(k);
        const epoch = epochs[u * months.length + m] ?? null;
        const fresh = e && e.at > young && (e.doc ? epoch === String(e.doc.version) : epoch === null);
        if (!fresh) {
          all = false;
          break;
        }
        // Used now: to the young end.
        this.entries.delete(k);
        this.entries.set(k, e);
        if (e.doc) docs.push(e.doc);
      }
      if (all) out.set(unitCode, docs);
    }
    return { fresh: out, epochs };
  }

  /** Keeps what a read of these months found (whether it is current is checked when it is used). */
  keep(unitCode: string, months: readonly string[], docs: readonly MonthFigures[]): void {
    const byMonth = new Map(docs.map((d) => [d.month, d]));
    const at = this.opts.now();
    for (const month of months) {
      const k = `${unitCode}|${month}`;
      this.entries.delete(k);
      this.entries.set(k, { doc: byMonth.get(month) ?? null, at });
    }
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.opts.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  /** How many unit-months are kept (for the tests). */
  get size(): number {
    return this.entries.size;
  }
}
