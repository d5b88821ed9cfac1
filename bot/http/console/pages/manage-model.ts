import type { Permission } from '../../../../lib/auth/roles';
import { apiText, type ApiErrorBody } from '../api';
import type { Translate } from '../i18n';

/** The parts of Quản trị, each shown to whoever holds its permission (the API is what refuses). */
export const PARTS = [
  { part: 'users', href: '/admin/manage/users', permission: 'users:manage' },
  { part: 'keys', href: '/admin/manage/keys', permission: 'keys:manage' },
  { part: 'audit', href: '/admin/manage/audit', permission: 'audit:read' },
  { part: 'flags', href: '/admin/manage/flags', permission: 'flags:read' },
  { part: 'system', href: '/admin/manage/system', permission: 'platforms:read' },
] as const satisfies ReadonlyArray<{ part: string; href: string; permission: Permission }>;
export type Part = (typeof PARTS)[number]['part'];

export function partsFor(permissions: readonly Permission[]): Array<(typeof PARTS)[number]> {
  const held = new Set(permissions);
  return PARTS.filter((p) => held.has(p.permission));
}

/** The account roles (models/user.ts USER_ROLES; the console imports no model, the API checks the value). */
export const ROLES = ['admin', 'district', 'unit', 'broadcaster', 'viewer'] as const;

/** The fields of the API's User (routes/users.ts) the pages show. */
export interface UserRow {
  username: string;
  role: (typeof ROLES)[number];
  unitCodes: string[];
  disabled: boolean;
  disabledAt: string | null;
  lastLoginAt: string | null;
  passwordChangedAt: string;
  createdAt: string;
  createdBy: string;
}

/** The fields of the API's ApiKey (routes/api-keys.ts). */
export interface KeyRow {
  keyId: string;
  name: string;
  unitCodes: string[];
  hmac: boolean;
  createdBy: string;
  createdAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  unitCode: string | null;
  reason: string | null;
}

export interface Verify {
  ok: boolean;
  checked: number;
  head: { seq: number; hash: string } | null;
  firstBreak: { problem: string; seq: number | null; id: string; expectedSeq: number } | null;
}

export interface FlagRow {
  responseId: string;
  unitCode: string;
  day: string;
  reason: string;
  params: Record<string, number> | null;
  detail: string | null;
  excluded: boolean;
}

/** The reasons whose counts have a sentence in messages/manage.ts (`flags.detail.<reason>`). */
const WORDED = new Set(['identical_burst', 'shared_contact']);

/**
 * A flag's counts in the reader's language ("5 phiếu giống hệt nhau trong 10 phút"); a flag stored
 * before the counts were kept apart shows its stored sentence as it is.
 */
export function flagDetail(r: FlagRow, t: Translate, count: (n: number) => string): string | null {
  if (r.params && WORDED.has(r.reason))
    return t(
      `flags.detail.${r.reason}`,
      Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, count(v)])),
    );
  return r.detail;
}

interface PlatformLine {
  configured: boolean;
  lastSuccessAt: string | null;
  lastSuccessAgoS: number | null;
}
export interface Platforms {
  checkedAt: string;
  telegram: PlatformLine;
  zalo: PlatformLine & {
    token: {
      known: boolean;
      connected?: boolean;
      expiresAt?: string | null;
      expiresInS?: number;
      refreshedAt?: string | null;
      refreshFailed?: boolean;
    } | null;
  };
}

/** Unit codes typed in one field: separated by commas, semicolons or spaces; each once. */
export function unitList(text: string | undefined): string[] {
  return [...new Set((text ?? '').split(/[\s,;]+/).filter(Boolean))];
}

/**
 * The API's 422 details by the form field they concern: `unitCodes.0` is the unit field's. The
 * first message of a field wins; a refusal without details goes to `form`.
 */
export function formErrors(body: ApiErrorBody | null, lang: 'vi' | 'en'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of body?.details ?? []) out[d.path.split('.')[0] || 'form'] ??= apiText(d.message, lang);
  if (!Object.keys(out).length) out.form = apiText(body?.message, lang);
  return out;
}

/** How the Zalo OA connection stands, worst first: what the page says and how it marks it. */
export type ZaloHealth = 'off' | 'unknown' | 'disconnected' | 'failed' | 'expired' | 'soon' | 'ok';

/** An access token that expires within this is about to lapse (the refresh runs well before). */
const SOON_S = 3600;

export function zaloHealth(token: Platforms['zalo']['token']): ZaloHealth {
  if (!token) return 'off';
  if (!token.known) return 'unknown';
  if (!token.connected) return 'disconnected';
  if (token.refreshFailed) return 'failed';
  const left = token.expiresInS ?? 0;
  if (left <= 0) return 'expired';
  return left < SOON_S ? 'soon' : 'ok';
}

/** A length of time as officials read it: "2 ngày 3 giờ", "3 giờ 5 phút", "4 phút". */
export function duration(seconds: number, t: Translate): string {
  const s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return t('manage.dur.dh', { d, h });
  if (h > 0) return t('manage.dur.hm', { h, m });
  return t('manage.dur.m', { m });
}

/** The audit log's filters the page passes on to the API (anything else in the address is dropped). */
export const AUDIT_FILTERS = ['actor', 'action', 'targetType', 'targetId', 'unit', 'from', 'to'] as const;
export type AuditFilters = Partial<Record<(typeof AUDIT_FILTERS)[number], string>>;

export function auditFilters(q: Record<string, string | undefined>): AuditFilters {
  const out: AuditFilters = {};
  for (const k of AUDIT_FILTERS) {
    const v = q[k]?.trim();
    if (v) out[k] = v;
  }
  return out;
}

/** A query string of the given fields (empty ones left out), with a leading `?` when not empty. */
export function queryOf(fields: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const HCM_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh' });

/** The last `days` days up to today in Asia/Ho_Chi_Minh, as the API's YYYY-MM-DD. */
export function lastDays(days: number, now = new Date()): { from: string; to: string } {
  return {
    from: HCM_DAY.format(new Date(now.getTime() - (days - 1) * 86_400_000)),
    to: HCM_DAY.format(now),
  };
}
