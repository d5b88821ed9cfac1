import { addCounts, emptyCounts, scoreAnswer, type Counts } from '../../../indices/formula';

/**
 * Pure: the counts of one unit-day bucket from its raw completed responses and their answers.
 * The same input always gives the same output (sorted keys), so a rebuild and any sequence of
 * incremental recomputes write identical documents.
 */
export interface BucketResponse {
  responseId: string;
  procedureCode: string | null;
  officerId: string | null;
  dossierChannel: string | null;
  onlineLevel: number | null;
  dissatisfied: boolean;
  excluded: boolean;
}
export interface BucketAnswer {
  responseId: string;
  questionId: string;
  element: string | null;
  value: unknown;
}
export interface Cell extends Counts {
  element: string;
  questionId: string;
}
export interface Group {
  key: string;
  responses: number;
  dissatisfiedResponses: number;
  cells: Cell[];
}
export interface Bucket {
  responses: number;
  dissatisfiedResponses: number;
  excluded: number;
  total: Cell[];
  byProcedure: Group[];
  byOfficer: Group[];
  byChannel: Group[];
}

/** in_person | online_3 | online_4 | online | post | unknown */
export function channelKey(channel: string | null, level: number | null): string {
  if (channel === 'online') return level === 3 || level === 4 ? `online_${level}` : 'online';
  return channel ?? 'unknown';
}

type CellMap = Map<string, Counts>;

function addTo(map: CellMap, key: string, c: Counts): void {
  let cur = map.get(key);
  if (!cur) map.set(key, (cur = emptyCounts()));
  addCounts(cur, c);
}

export function cellsOf(map: ReadonlyMap<string, Counts>): Cell[] {
  return [...map.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, c]) => {
      const i = k.indexOf('|');
      return {
        element: k.slice(0, i),
        questionId: k.slice(i + 1),
        n: c.n,
        satisfied: c.satisfied,
        dissatisfied: c.dissatisfied,
        na: c.na,
      };
    });
}

interface GroupAcc {
  responses: number;
  dissatisfiedResponses: number;
  cells: CellMap;
}

export function groupsOf(map: ReadonlyMap<string, GroupAcc>): Group[] {
  return [...map.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, g]) => ({
      key,
      responses: g.responses,
      dissatisfiedResponses: g.dissatisfiedResponses,
      cells: cellsOf(g.cells),
    }));
}

export function buildBucket(responses: readonly BucketResponse[], answers: readonly BucketAnswer[]): Bucket {
  const byResponse = new Map<string, BucketAnswer[]>();
  for (const a of answers) {
    const list = byResponse.get(a.responseId) ?? [];
    list.push(a);
    byResponse.set(a.responseId, list);
  }
  const total: CellMap = new Map();
  const groups = {
    procedure: new Map<string, GroupAcc>(),
    officer: new Map<string, GroupAcc>(),
    channel: new Map<string, GroupAcc>(),
  };
  let counted = 0;
  let dissatisfied = 0;
  let excluded = 0;
  for (const r of responses) {
    if (r.excluded) {
      excluded++;
      continue;
    }
    counted++;
    if (r.dissatisfied) dissatisfied++;
    const keys: Array<[Map<string, GroupAcc>, string]> = [
      [groups.procedure, r.procedureCode ?? 'unknown'],
      [groups.channel, channelKey(r.dossierChannel, r.onlineLevel)],
    ];
    if (r.officerId) keys.push([groups.officer, r.officerId]);
    const accs = keys.map(([m, k]) => {
      let g = m.get(k);
      if (!g) m.set(k, (g = { responses: 0, dissatisfiedResponses: 0, cells: new Map() }));
      g.responses++;
      if (r.dissatisfied) g.dissatisfiedResponses++;
      return g;
    });
    for (const a of byResponse.get(r.responseId) ?? []) {
      if (!a.element) continue;
      const score = scoreAnswer(a.value);
      if (!score) continue;
      const k = `${a.element}|${a.questionId}`;
      addTo(total, k, score);
      for (const g of accs) addTo(g.cells, k, score);
    }
  }
  return {
    responses: counted,
    dissatisfiedResponses: dissatisfied,
    excluded,
    total: cellsOf(total),
    byProcedure: groupsOf(groups.procedure),
    byOfficer: groupsOf(groups.officer),
    byChannel: groupsOf(groups.channel),
  };
}
