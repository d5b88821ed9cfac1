import { RESOLUTIONS } from '../../../../lib/case-resolutions';
import type { Lang, Translate } from '../i18n';

/** The fields of the API's Case / CaseDetail (bot/http/api/routes/cases.ts) the pages read. */
export interface CaseRow {
  caseId: string;
  responseId: string;
  dossierCode: string | null;
  unitCode: string;
  procedureCode: string | null;
  status: 'open' | 'in_progress' | 'closed';
  items: Array<{ element: string; questionId: string; value: number; reasons: string[] }>;
  openedAt: string;
  dueAt: string;
  overdue: boolean;
  assignedTo: string | null;
  escalatedTo: string | null;
  closedAt: string | null;
  closedOnTime: boolean | null;
  resolution: string | null;
  followUpPending: boolean;
}

export interface CaseDetail extends CaseRow {
  log: Array<{ at: string; by: string; action: string; note: string | null; detail: string | null }>;
}

export interface CaseList {
  cases: CaseRow[];
  nextCursor: string | null;
}

/** The fields of GET /dossiers/:code the case page shows. */
export interface DossierView {
  code: string;
  procedureName: string | null;
  procedureCode: string;
  channel: string;
  status: string;
  receivedAt: string | null;
  finishedAt: string | null;
}

/** The common resolutions with their labels in the person's language (lib/case-resolutions.ts, their one home). */
export function resolutionChoices(lang: Lang): Array<{ code: string; label: string }> {
  return RESOLUTIONS.map((r) => ({ code: r.code, label: r.label[lang] }));
}

const HCM = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Ho_Chi_Minh',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/** An instant as dd/mm/yyyy HH:mm in Asia/Ho_Chi_Minh (both languages write it so). */
export function when(isoDate: string | null): string {
  if (!isoDate) return '—';
  return HCM.format(new Date(isoDate)).replace(',', '');
}

/** "Còn 3 giờ 5 phút" or "Quá hạn 1 giờ 0 phút" from now to the due time. */
export function timeLeft(dueAt: string, t: Translate, now = Date.now()): string {
  const ms = new Date(dueAt).getTime() - now;
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const vars = { h: Math.floor(minutes / 60), m: minutes % 60 };
  return t(ms < 0 ? 'cases.overdueBy' : 'cases.left', vars);
}

const ACTIONS = new Set([
  'opened',
  'notified',
  'acknowledged',
  'assigned',
  'note',
  'escalated',
  'closed',
  'follow_up_sent',
  'follow_up_failed',
  'reopened',
]);

/** A log entry's detail: a closing's resolution code in the person's language, else detail and note. */
export function logDetail(l: CaseDetail['log'][number], lang: Lang): string {
  const resolution = l.action === 'closed' ? RESOLUTIONS.find((r) => r.code === l.detail) : undefined;
  // Its note is the resolution's Vietnamese label (workers/aggregation/cases/handling.ts): said once.
  if (resolution) return resolution.label[lang];
  return [l.detail, l.note].filter(Boolean).join(' · ');
}

/** A case log's action as officials read it (the API's code when it is a new one). */
export function actionLabel(action: string, t: Translate): string {
  return ACTIONS.has(action) ? t(`cases.act.${action}`) : action;
}
