import { DateTime } from 'luxon';
import { Scope } from '../../../lib/auth/scope';
import { ZONE } from '../../../lib/time';
import { ActionNote } from '../../../models/action-note';
import { Unit } from '../../../models/unit';
import {
  ELEMENT_NAMES_VI,
  ELEMENTS,
  FORMULA_VERSION,
  INDEX_LABEL_VI,
  type Interval,
  type Share,
} from '../../../indices/formula';
import {
  loadRollups,
  loadTotals,
  sumGroups,
  sumTotals,
  type PeriodTotals,
} from '../../../indices/period-sum';
import { buildRanking } from '../../../indices/ranking';
import { figuresOf } from '../../../indices/report';

/**
 * What the public results pages, their open data and the posters publish of a unit: figures of
 * complete months only, read from the rollups (month totals for whole months), through the same
 * sums and formulas as the reports. The privacy rule is applied here, once: a period with fewer
 * than `minN` completed responses publishes nothing (no index, no n), an element or an officer
 * below `minN` answers likewise; officers only when the unit chose to publish them; never free
 * text, never a name (docs/public-results.md).
 */
export const OPEN_DATA_SCHEMA = 'hailong.public-results/1';
export const TREND_MONTHS = 12;

export interface PublishedShare {
  /** Scale answers counted (not-applicable answers are out of n). */
  n: number;
  index: number;
  ci95: Interval;
}
export interface PublishedElement {
  code: string;
  name: string;
  /** null: this element had fewer than minN answers in the period. */
  share: PublishedShare | null;
}
export interface PublishedPeriod {
  kind: 'month' | 'quarter' | 'year';
  key: string;
  from: string;
  to: string;
  published: boolean;
  /** Completed responses; null when not published. */
  responses: number | null;
  overall: PublishedShare | null;
  elements: PublishedElement[];
}
export interface SiblingRow {
  code: string;
  name: string;
  rank: number | null;
  index: number | null;
  self: boolean;
}
export interface PublicNote {
  date: string;
  element: string;
  elementName: string;
  text: string;
}
export interface UnitResults {
  schema: typeof OPEN_DATA_SCHEMA;
  label: string;
  formulaVersion: number;
  minN: number;
  generatedAt: string;
  unit: { code: string; name: string; level: string; parentCode: string | null; parentName: string | null };
  /** The last complete month, the last complete quarter and the year to the end of that month. */
  periods: PublishedPeriod[];
  /** The trend: each of the last TREND_MONTHS complete months, oldest first. */
  months: PublishedPeriod[];
  siblings: { parentCode: string; parentName: string | null; period: string; rows: SiblingRow[] } | null;
  officers: {
    period: string;
    rows: Array<{ officer: string; responses: number; overall: PublishedShare }>;
  } | null;
  notes: PublicNote[];
}

export interface PublishOptions {
  minN: number;
  now: Date;
}

function publishShare(s: Share, minN: number): PublishedShare | null {
  if (s.n < minN || s.index === null || s.ci95 === null) return null;
  return { n: s.n, index: s.index, ci95: s.ci95 };
}

function publishFigures(
  docs: readonly PeriodTotals[],
  minN: number,
): Omit<PublishedPeriod, 'kind' | 'key' | 'from' | 'to'> {
  const f = figuresOf(sumTotals(docs));
  const overall = f.responses >= minN ? publishShare(f.overall, minN) : null;
  if (!overall) return { published: false, responses: null, overall: null, elements: [] };
  return {
    published: true,
    responses: f.responses,
    overall,
    elements: ELEMENTS.map((code) => ({
      code,
      name: ELEMENT_NAMES_VI[code] ?? code,
      share: f.elements[code] ? publishShare(f.elements[code], minN) : null,
    })),
  };
}

const dayOf = (d: DateTime) => d.toFormat('yyyy-LL-dd');

/** The calendar windows of a publication made at `now`: complete months only. */
export function publicationWindows(now: Date) {
  const month = DateTime.fromJSDate(now, { zone: ZONE }).startOf('month').minus({ months: 1 });
  const quarter = DateTime.fromJSDate(now, { zone: ZONE }).startOf('quarter').minus({ quarters: 1 });
  const months = Array.from({ length: TREND_MONTHS }, (_, i) =>
    month.minus({ months: TREND_MONTHS - 1 - i }),
  );
  return { month, quarter, yearStart: month.startOf('year'), months };
}

/** Whether a unit existed at `now`. */
export function existsAt(u: { validFrom?: Date | null; validTo?: Date | null }, now: Date): boolean {
  return (!u.validFrom || u.validFrom <= now) && (!u.validTo || u.validTo >= now);
}

/** The published results of one unit (with its subtree and merged predecessors), or null for no such unit. */
export async function unitResults(code: string, opts: PublishOptions): Promise<UnitResults | null> {
  const unit = await Unit.findOne({ code }).lean();
  if (!unit) return null;
  const { minN, now } = opts;
  // The public reads every unit's figures, and only through the publication rule below.
  const codes = await Scope.everyUnit().within(code);
  const w = publicationWindows(now);
  const byMonth = new Map<string, PeriodTotals[]>();
  await Promise.all(
    w.months.map(async (m) => {
      byMonth.set(m.toFormat('yyyy-LL'), await loadTotals(codes, dayOf(m), dayOf(m.endOf('month'))));
    }),
  );
  const docsOf = (from: DateTime, to: DateTime) =>
    w.months
      .filter((m) => m >= from.startOf('month') && m <= to)
      .flatMap((m) => byMonth.get(m.toFormat('yyyy-LL'))!);
  const quarterEnd = w.quarter.endOf('quarter').startOf('month');
  const periods: PublishedPeriod[] = [
    {
      kind: 'month',
      key: w.month.toFormat('yyyy-LL'),
      from: dayOf(w.month),
      to: dayOf(w.month.endOf('month')),
      ...publishFigures(docsOf(w.month, w.month), minN),
    },
    {
      kind: 'quarter',
      key: `${w.quarter.year}-Q${w.quarter.quarter}`,
      from: dayOf(w.quarter),
      to: dayOf(w.quarter.endOf('quarter')),
      ...publishFigures(docsOf(w.quarter, quarterEnd), minN),
    },
    {
      kind: 'year',
      key: String(w.yearStart.year),
      from: dayOf(w.yearStart),
      to: dayOf(w.month.endOf('month')),
      ...publishFigures(docsOf(w.yearStart, w.month), minN),
    },
  ];
  const months = w.months.map((m): PublishedPeriod => ({
    kind: 'month',
    key: m.toFormat('yyyy-LL'),
    from: dayOf(m),
    to: dayOf(m.endOf('month')),
    ...publishFigures(byMonth.get(m.toFormat('yyyy-LL'))!, minN),
  }));
  const [parent, siblings, officers, notes] = await Promise.all([
    unit.parentCode ? Unit.findOne({ code: unit.parentCode }, { name: 1 }).lean() : null,
    unit.parentCode
      ? buildRanking({ parent: unit.parentCode, period: periods[0]!.key, units: null, minN })
      : null,
    unit.publishOfficerIndices ? officerRows(codes, w.month, minN) : null,
    // Per unit by equality (FerretDB 1.24 uses no index for $in).
    Promise.all(
      codes.map((c) => ActionNote.find({ unitCode: c }, { _id: 0, date: 1, element: 1, text: 1 }).lean()),
    ),
  ]);
  return {
    schema: OPEN_DATA_SCHEMA,
    label: INDEX_LABEL_VI,
    formulaVersion: FORMULA_VERSION,
    minN,
    generatedAt: now.toISOString(),
    unit: {
      code: unit.code,
      name: unit.name,
      level: unit.level,
      parentCode: unit.parentCode ?? null,
      parentName: parent?.name ?? null,
    },
    periods,
    months,
    siblings:
      siblings && unit.parentCode
        ? {
            parentCode: unit.parentCode,
            parentName: parent?.name ?? null,
            period: siblings.period,
            rows: siblings.rows.map((r) => ({
              code: r.unitCode,
              name: r.name,
              rank: r.rank,
              index: r.rank === null ? null : r.index,
              self: r.unitCode === code,
            })),
          }
        : null,
    officers: officers ? { period: periods[0]!.key, rows: officers } : null,
    notes: notes
      .flat()
      .sort((a, b) => b.date.localeCompare(a.date))
      .map((n) => ({
        date: n.date,
        element: n.element,
        elementName: ELEMENT_NAMES_VI[n.element] ?? n.element,
        text: n.text,
      })),
  };
}

async function officerRows(codes: string[], month: DateTime, minN: number) {
  const docs = await loadRollups(codes, dayOf(month), dayOf(month.endOf('month')));
  const rows: Array<{ officer: string; responses: number; overall: PublishedShare }> = [];
  for (const [officer, s] of [...sumGroups(docs, (d) => d.byOfficer)].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    if (s.responses < minN) continue;
    const overall = publishShare(figuresOf(s).overall, minN);
    if (overall) rows.push({ officer, responses: s.responses, overall });
  }
  return rows;
}

export interface UnitListing {
  groups: Array<{
    parent: { code: string; name: string } | null;
    units: Array<{ code: string; name: string; level: string }>;
  }>;
}

/** The units that exist today, grouped under their parent (units without a parent first). */
export async function unitListing(now: Date): Promise<UnitListing> {
  const all = await Unit.find(
    {},
    { _id: 0, code: 1, name: 1, level: 1, parentCode: 1, validFrom: 1, validTo: 1 },
  ).lean();
  const live = all.filter((u) => existsAt(u, now));
  const names = new Map(all.map((u) => [u.code, u.name]));
  const groups = new Map<string, UnitListing['groups'][number]>();
  for (const u of live.sort((a, b) => a.name.localeCompare(b.name, 'vi'))) {
    const key = u.parentCode ?? '';
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = {
          parent: u.parentCode ? { code: u.parentCode, name: names.get(u.parentCode) ?? u.parentCode } : null,
          units: [],
        }),
      );
    g.units.push({ code: u.code, name: u.name, level: u.level });
  }
  return {
    groups: [...groups.values()].sort(
      (a, b) =>
        (a.parent ? 1 : 0) - (b.parent ? 1 : 0) ||
        (a.parent?.name ?? '').localeCompare(b.parent?.name ?? '', 'vi'),
    ),
  };
}
