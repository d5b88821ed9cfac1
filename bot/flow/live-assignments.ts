import { FlowAssignment } from '../../models/flow-assignment';
import { Unit } from '../../models/unit';

/** One assignment as the resolver reads it: '' is "every unit" / "every procedure". */
export interface AssignmentRow {
  unitCode: string;
  procedureCode: string;
  flowKey: string;
  version: number;
}

/** Where new surveys of a dossier (or of no dossier: both null) start. */
export interface LiveTarget {
  unitCode?: string | null;
  procedureCode?: string | null;
}

/** Units no deeper than this are walked up (a province, a district, a commune, with room to spare). */
const MAX_DEPTH = 16;

/**
 * The most specific assignment for a unit and a procedure: walking up from the unit (its chain,
 * nearest first), the unit and procedure, then the unit alone; after the whole chain, every
 * unit for the procedure, then every unit. So a commune inherits its district's choice unless it
 * made its own, and a choice of the commune beats one of its district even for one procedure.
 */
export function pickAssignment(
  rows: readonly AssignmentRow[],
  chain: readonly string[],
  procedureCode: string | null,
): AssignmentRow | null {
  const at = new Map(rows.map((r) => [`${r.unitCode}|${r.procedureCode}`, r]));
  for (const unit of [...chain, '']) {
    const hit = (procedureCode ? at.get(`${unit}|${procedureCode}`) : undefined) ?? at.get(`${unit}|`);
    if (hit) return hit;
  }
  return null;
}

/**
 * The unit and the units it belongs to, nearest first, level by level: a unit merged into
 * another continues in its successor (the unit that answers for its dossiers now) and then in its
 * old parent; any other in its parent. So Quảng Thái (merged into Đan Điền on 1/7/2025) reads
 * [19870, QD-DAN-DIEN, 477, 46]: the new commune's choice first, then the old district's.
 */
export async function unitChain(code: string): Promise<string[]> {
  const chain = [code];
  let frontier = [code];
  while (frontier.length > 0 && chain.length < MAX_DEPTH) {
    const units = await Unit.find(
      { code: { $in: frontier } },
      { code: 1, successorCode: 1, parentCode: 1 },
    ).lean();
    const byCode = new Map(units.map((u) => [u.code, u]));
    const next: string[] = [];
    for (const c of frontier) {
      const u = byCode.get(c);
      for (const up of [u?.successorCode, u?.parentCode])
        if (up && !chain.includes(up) && !next.includes(up)) next.push(up);
    }
    chain.push(...next);
    frontier = next;
  }
  return chain;
}

/** A cached read, its time, and whether a renewal ahead of its expiry is under way. */
type Renewable<K extends string, T> = { at: number; renewing: boolean } & Record<K, Promise<T>>;

/**
 * Bumped by every change of what is live (an assignment, a published version): this process's
 * resolvers and FlowRepository's latest versions reload at once. A change made here is also
 * announced (bot/flow/change-bus.ts tells the other processes through Redis); one announced by
 * another process bumps it without announcing again.
 */
let generation = 0;
const announcers = new Set<() => void>();

export function liveFlowsGeneration(): number {
  return generation;
}

export function liveAssignmentsChanged(opts: { fromElsewhere?: boolean } = {}): void {
  generation++;
  if (!opts.fromElsewhere) for (const announce of announcers) announce();
}

/** Called after each change made in this process; returns the function that stops it. */
export function onLiveFlowsChanged(announce: () => void): () => void {
  announcers.add(announce);
  return () => void announcers.delete(announce);
}

/**
 * The assignments and the unit chains they are walked on, cached: a start past half of `ttlMs`
 * after their last read renews them in the background and is served them as they are, as is every
 * start until the renewal is back, so no survey start waits for the database once they are known
 * (FlowRepository.latestPublished says why). A change made in this process is seen at once
 * (liveAssignmentsChanged), and so is one announced by another process (the API apart from the
 * bot); when an announcement is lost (a dropped connection), the first renewal after it reads
 * the change.
 */
export class LiveAssignments {
  private rows: (Renewable<'rows', AssignmentRow[]> & { gen: number }) | null = null;
  private readonly chains = new Map<string, Renewable<'chain', string[]>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  async pick(target: LiveTarget | null): Promise<AssignmentRow | null> {
    const rows = await this.allRows();
    if (rows.length === 0) return null;
    const unit = target?.unitCode ?? null;
    // Only a unit-specific assignment needs the unit's chain.
    const chain = unit && rows.some((r) => r.unitCode !== '') ? await this.chainOf(unit) : [];
    return pickAssignment(rows, chain, target?.procedureCode ?? null);
  }

  private allRows(): Promise<AssignmentRow[]> {
    const now = this.now();
    const cur = this.rows;
    if (cur && cur.gen === generation) {
      if (now - cur.at > this.ttlMs / 2 && !cur.renewing) {
        // Off the caller's path, served as they are meanwhile (FlowRepository.latestPublished says why).
        cur.renewing = true;
        const fresh = this.loadRows(now);
        fresh.rows.then(
          () => void (this.rows === cur && (this.rows = fresh)),
          () => void (cur.renewing = false),
        );
      }
      return cur.rows;
    }
    const fresh = this.loadRows(now);
    this.rows = fresh;
    return fresh.rows;
  }

  private loadRows(now: number): Renewable<'rows', AssignmentRow[]> & { gen: number } {
    const rows = FlowAssignment.find({}, { unitCode: 1, procedureCode: 1, flowKey: 1, version: 1 })
      .lean()
      .then((docs) =>
        docs.map((d) => ({
          unitCode: d.unitCode ?? '',
          procedureCode: d.procedureCode ?? '',
          flowKey: d.flowKey,
          version: d.version,
        })),
      );
    const fresh = { at: now, gen: generation, rows, renewing: false };
    rows.catch(() => this.rows === fresh && (this.rows = null));
    return fresh;
  }

  private chainOf(unit: string): Promise<string[]> {
    const now = this.now();
    const hit = this.chains.get(unit);
    if (hit) {
      if (now - hit.at > this.ttlMs / 2 && !hit.renewing) {
        hit.renewing = true;
        const fresh = this.loadChain(unit, now);
        fresh.chain.then(
          () => void (this.chains.get(unit) === hit && this.chains.set(unit, fresh)),
          () => void (hit.renewing = false),
        );
      }
      return hit.chain;
    }
    const fresh = this.loadChain(unit, now);
    this.chains.set(unit, fresh);
    return fresh.chain;
  }

  private loadChain(unit: string, now: number): Renewable<'chain', string[]> {
    const chain = unitChain(unit);
    const fresh = { at: now, chain, renewing: false };
    chain.catch(() => this.chains.get(unit) === fresh && this.chains.delete(unit));
    return fresh;
  }
}
