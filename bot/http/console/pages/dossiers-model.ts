/** The fields of GET /dossiers/:code (bot/http/api/routes/dossiers.ts) the lookup shows. */
export interface DossierDetail {
  code: string;
  unitCode: string;
  procedureCode: string;
  procedureName: string | null;
  channel: 'in_person' | 'online' | 'post';
  onlineLevel: number | null;
  status: string;
  officerId: string | null;
  receivedAt: string | null;
  dueAt: string | null;
  finishedAt: string | null;
  responseId: string | null;
  funnel: {
    stage: 'not_invited' | 'invited' | 'reminded' | 'opened' | 'started' | 'answered' | 'expired';
    invitedAt: string | null;
    invitationChannel: string | null;
    invitationSkipped: string | null;
    reminders: number;
    openedAt: string | null;
    startedAt: string | null;
    answeredAt: string | null;
    expiresAt: string | null;
    expired: boolean;
  };
}

/** The fields of GET /responses (bot/http/api/routes/responses.ts) the list shows. */
export interface ResponseAnswer {
  questionId: string;
  element: string | null;
  type: string;
  value: number | string | string[] | null;
  hasText: boolean;
  text?: string | null;
}
export interface ResponseRow {
  responseId: string;
  dossierCode: string | null;
  unitCode: string | null;
  procedureCode: string | null;
  officerId: string | null;
  channel: string | null;
  onlineLevel: number | null;
  surveyChannel: string;
  completedAt: string | null;
  dissatisfied: boolean;
  excluded: { at: string; reason: string | null } | null;
  answers: ResponseAnswer[];
}
export interface ResponseList {
  responses: ResponseRow[];
  nextCursor: string | null;
}

/** One step of a dossier's survey path, as the timeline shows it. */
export interface Step {
  key: 'received' | 'finished' | 'invited' | 'reminded' | 'opened' | 'started' | 'answered' | 'expired';
  /** done: it happened (at `at` when known); todo: not yet; missed: it will not (no invitation, link ran out). */
  state: 'done' | 'todo' | 'missed';
  at: string | null;
  /** The message key of a note under the step and its values. */
  note?: { key: string; vars: Record<string, string | number> };
}

/**
 * The survey path of a dossier, oldest first: received, finished, invited (by which channel, or
 * why not), reminded, opened, started, then answered, or expired when the link ran out
 * unanswered. The API keeps no time for a reminder, only how many were sent.
 */
export function timeline(d: DossierDetail): Step[] {
  const f = d.funnel;
  const done = (at: string | null): Step['state'] => (at ? 'done' : 'todo');
  const steps: Step[] = [
    { key: 'received', state: done(d.receivedAt), at: d.receivedAt },
    { key: 'finished', state: done(d.finishedAt), at: d.finishedAt },
  ];
  if (f.invitedAt)
    steps.push({
      key: 'invited',
      state: 'done',
      at: f.invitedAt,
      ...(f.invitationChannel
        ? { note: { key: 'dossiers.note.channel', vars: { channel: f.invitationChannel } } }
        : {}),
    });
  else
    steps.push({
      key: 'invited',
      state: f.invitationSkipped ? 'missed' : 'todo',
      at: null,
      ...(f.invitationSkipped
        ? { note: { key: `dossiers.skip.${skipCode(f.invitationSkipped)}`, vars: {} } }
        : {}),
    });
  steps.push({
    key: 'reminded',
    state: f.reminders > 0 ? 'done' : 'todo',
    at: null,
    note: { key: 'dossiers.note.reminders', vars: { n: f.reminders } },
  });
  steps.push({ key: 'opened', state: done(f.openedAt), at: f.openedAt });
  steps.push({ key: 'started', state: done(f.startedAt), at: f.startedAt });
  if (f.expired) steps.push({ key: 'expired', state: 'missed', at: f.expiresAt });
  else
    steps.push({
      key: 'answered',
      state: done(f.answeredAt),
      at: f.answeredAt,
      ...(!f.answeredAt && f.expiresAt
        ? { note: { key: 'dossiers.note.expiresAt', vars: { at: f.expiresAt } } }
        : {}),
    });
  return steps;
}

const SKIPS = new Set(['cooldown', 'no_channel']);
/** The reason code of an invitation not sent, or `other` for one this console does not know yet. */
export const skipCode = (code: string): string => (SKIPS.has(code) ? code : 'other');

export const DOSSIER_CHANNELS = ['in_person', 'online', 'online_3', 'online_4', 'post', 'unknown'] as const;
export const SURVEY_CHANNELS = ['telegram', 'zalo', 'web'] as const;
export const SCORES = ['1', '2', '3', '4', '5', '1-2', '4-5'] as const;
export const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'] as const;
const PERIOD = /^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$/;
const CODE = /^[A-Za-z0-9._-]{1,64}$/;

/** The list's filters as the page's query carries them. */
export type FilterQuery = Partial<
  Record<
    | 'unit'
    | 'procedure'
    | 'officer'
    | 'channel'
    | 'surveyChannel'
    | 'period'
    | 'rating'
    | 'score'
    | 'element',
    string
  >
>;

/**
 * The filters of the page's query that GET /responses takes, each checked against what the
 * form offers: a value the form could not have sent is dropped (the API would refuse it anyway;
 * dropping it keeps a hand-edited address from ending on an error page). `element` only with
 * `score`, as the API requires.
 */
export function responseFilters(q: FilterQuery): Record<string, string> {
  const out: Record<string, string> = {};
  const keep = (k: keyof FilterQuery, ok: (v: string) => boolean) => {
    const v = q[k]?.trim();
    if (v && ok(v)) out[k] = v;
  };
  const oneOf = (list: readonly string[]) => (v: string) => list.includes(v);
  keep('unit', (v) => CODE.test(v));
  keep('procedure', (v) => v.length <= 64);
  keep('officer', (v) => v.length <= 64);
  keep('channel', oneOf(DOSSIER_CHANNELS));
  keep('surveyChannel', oneOf(SURVEY_CHANNELS));
  keep('period', (v) => PERIOD.test(v));
  keep('rating', oneOf(['dissatisfied', 'not_dissatisfied']));
  keep('score', oneOf(SCORES));
  if (out.score) keep('element', oneOf(ELEMENTS));
  return out;
}

/** The scores of a response's rated answers, element by element (a scale answer is a number; 0 is not applicable). */
export function scoresOf(answers: readonly ResponseAnswer[]): Array<{ element: string; value: number }> {
  return answers
    .filter(
      (a): a is ResponseAnswer & { element: string; value: number } =>
        !!a.element && typeof a.value === 'number',
    )
    .map((a) => ({ element: a.element, value: a.value }));
}

/** An answer's value as stored, for the answers table (choices joined; none: an empty cell). */
export function valueText(v: ResponseAnswer['value']): string {
  if (v === null) return '';
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** `/path?query` of the given parameters, the empty ones left out. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
