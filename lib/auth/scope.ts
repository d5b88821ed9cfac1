import { Unit } from '../../models/unit';

/**
 * Which units sit directly below (parentCode) or were merged into (successorCode) which: the
 * links of the whole effective-dated tree, read in one query. Walking the tree level by level
 * took a round trip per level (and on FerretDB 1.24 each `$in`/`$or` level was a pass over the
 * collection anyway); a deployment's units are a province's few hundred small documents.
 */
export class UnitLinks {
  private constructor(private readonly below: ReadonlyMap<string, readonly string[]>) {}

  static async read(): Promise<UnitLinks> {
    const units = await Unit.find({}, { _id: 0, code: 1, parentCode: 1, successorCode: 1 }).lean();
    const below = new Map<string, string[]>();
    for (const u of units)
      for (const up of new Set([u.parentCode, u.successorCode]))
        if (up) below.set(up, [...(below.get(up) ?? []), u.code]);
    return new UnitLinks(below);
  }

  /**
   * The units, the units below them and the units merged into them, recursively (16 levels at
   * most, the depth of any real tree with room to spare), sorted.
   */
  expand(codes: readonly string[]): string[] {
    const all = new Set(codes);
    let frontier = [...codes];
    for (let depth = 0; depth < 16 && frontier.length > 0; depth++) {
      frontier = [...new Set(frontier.flatMap((c) => this.below.get(c) ?? []))].filter((c) => !all.has(c));
      frontier.forEach((c) => all.add(c));
    }
    return [...all].sort();
  }
}

/**
 * The one implementation of "which units may this caller see". A unit's scope is the unit, the
 * units below it (parentCode) and the units merged into it (successorCode), recursively, over
 * the whole effective-dated tree: a commune merged on 1/7/2025 keeps its own history and is
 * also seen by the unit that took it over, so that unit's user sees the history of the
 * communes it absorbed, and nothing of its neighbours (they were merged into someone else).
 * `links` reuses a tree already read (several expansions in one request).
 */
export async function expandUnits(codes: readonly string[], links?: UnitLinks): Promise<string[]> {
  return (links ?? (await UnitLinks.read())).expand(codes);
}

/** A unit outside the caller's scope. The API answers it as 404, so its existence does not leak. */
export class UnitAccessError extends Error {
  constructor(readonly unitCode: string) {
    super(`unit ${unitCode} is outside the caller's units`);
    this.name = 'UnitAccessError';
  }
}

/**
 * The codes a figure for `unitCode` covers, limited to what the caller may read. `allowed` is
 * the caller's subtree-expanded unit list; `null` means every unit (the CLI, an unscoped key).
 */
export async function scopedUnits(
  unitCode: string,
  allowed: readonly string[] | null,
  links?: UnitLinks,
): Promise<string[]> {
  if (allowed && !allowed.includes(unitCode)) throw new UnitAccessError(unitCode);
  const codes = await expandUnits([unitCode], links);
  return allowed ? codes.filter((c) => allowed.includes(c)) : codes;
}

/**
 * A caller's scope, built once per request from its units (null: every unit). Every read of
 * survey data goes through it; it remembers that it was consulted, so the API framework can
 * refuse a handler that answered without asking (bot/http/api/register.ts).
 */
export class Scope {
  private expanded: Promise<ReadonlySet<string>> | null = null;
  private asked = false;

  constructor(
    /** The caller's own units; null means every unit. */
    readonly roots: readonly string[] | null,
  ) {}

  static everyUnit(): Scope {
    return new Scope(null);
  }

  get everyUnit(): boolean {
    return this.roots === null;
  }

  /** Whether a handler asked this scope anything. */
  get consulted(): boolean {
    return this.asked;
  }

  /** The unit codes the caller may see (its units and everything below or merged into them); null: every unit. */
  async units(): Promise<ReadonlySet<string> | null> {
    this.asked = true;
    if (this.roots === null) return null;
    this.expanded ??= expandUnits(this.roots).then((codes) => new Set(codes));
    return this.expanded;
  }

  /** The same as a sorted list, for the aggregation functions that take `units: string[] | null`. */
  async list(): Promise<string[] | null> {
    const units = await this.units();
    return units === null ? null : [...units].sort();
  }

  /** Whether the caller may see an object of this unit. An object of no unit is for every-unit callers only. */
  async allows(unitCode: string | null | undefined): Promise<boolean> {
    const units = await this.units();
    if (units === null) return true;
    return typeof unitCode === 'string' && units.has(unitCode);
  }

  /**
   * Whether the caller may see an object of these units (an account's, a key's): all of them.
   * An object of every unit (an empty list) is for every-unit callers only.
   */
  async allowsAll(unitCodes: readonly string[]): Promise<boolean> {
    const units = await this.units();
    if (units === null) return true;
    return unitCodes.length > 0 && unitCodes.every((c) => units.has(c));
  }

  /** Throws UnitAccessError unless allows() (one unit) or allowsAll() (a list of units). */
  async require(unitCode: string | null | undefined | readonly string[]): Promise<void> {
    if (typeof unitCode === 'string' || unitCode === null || unitCode === undefined) {
      if (!(await this.allows(unitCode))) throw new UnitAccessError(unitCode ?? '(no unit)');
    } else if (!(await this.allowsAll(unitCode))) {
      throw new UnitAccessError(unitCode.join(',') || '(every unit)');
    }
  }

  /** A MongoDB filter keeping only the caller's units in `field`: {} for every unit. */
  async filter(field = 'unitCode'): Promise<Record<string, { $in: string[] }>> {
    const units = await this.list();
    return units === null ? {} : { [field]: { $in: units } };
  }

  /** The codes a figure for `unitCode` covers, limited to the caller's scope (UnitAccessError outside it). */
  async within(unitCode: string): Promise<string[]> {
    return scopedUnits(unitCode, await this.list());
  }
}
