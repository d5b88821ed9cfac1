import { ZALO_OUTSIDE_WINDOW } from '../../../channels/send-failure';
import { classifyZaloCode } from '../../../channels/zalo/errors';
import type { Translate } from '../i18n';
import { dayText, parseDay } from './day-input';

/** The fields of the API's Broadcast (bot/http/api/routes/broadcasts.ts) the pages read. */
export interface BroadcastView {
  id: string;
  text: string;
  textEn: string | null;
  format: 'text' | 'html';
  imageUrl: string | null;
  buttons: Array<{ text: string; textEn: string | null; url: string }>;
  target: { unitCode: string | null; channels: string[]; lang: 'vi' | 'en' | null; tags: string[] };
  status: BroadcastStatus;
  createdBy: string;
  approvedBy: string | null;
  sendAt: string | null;
  ignoreQuietHours: boolean;
  heldUntil: string | null;
  recipientCount: number;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export const BROADCAST_STATUSES = [
  'pending_approval',
  'scheduled',
  'fanning_out',
  'sending',
  'paused',
  'completed',
  'cancelled',
] as const;
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];

/** BroadcastProgress of GET /broadcasts/:id and /report (routes/broadcast-control.ts). */
export interface ProgressView {
  status: BroadcastStatus;
  recipients: number;
  fanoutDone: boolean;
  counts: Record<'queued' | 'sending' | 'sent' | 'failed' | 'blocked' | 'skipped' | 'cancelled', number>;
  done: number;
  ratePerS: number;
  etaSeconds: number | null;
  failedReasons: Record<string, number>;
  blockedReasons: Record<string, number>;
  unsubscribedDuring: number;
}

/** POST /broadcasts/count. */
export interface RecipientCount {
  total: number;
  byChannel: { telegram: number; zalo: number };
  zaloOutsideWindow: number;
}

/** POST /broadcasts/preview: one language's message as the senders send it. */
export interface RenderedView {
  lang: 'vi' | 'en';
  html: string;
  plain: string;
  imageUrl: string | null;
  links: Array<{ text: string; url: string }>;
  stopButton: string;
}

export const MAX_BUTTONS = 3;
export const CHANNELS = ['telegram', 'zalo'] as const;
export const TERMINAL: ReadonlySet<string> = new Set(['completed', 'cancelled']);

type Form = Record<string, string | undefined>;
const trimmed = (v: string | undefined) => (v ?? '').trim();

/** The target part of the composer's form, as POST /broadcasts/count and POST /broadcasts take it. */
export function targetOfForm(f: Form): {
  unitCode?: string;
  channels?: string[];
  lang?: 'vi' | 'en';
  tags?: string[];
} {
  const channels = CHANNELS.filter((c) => f[`ch_${c}`] === 'on');
  const tags = trimmed(f.tags)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    ...(trimmed(f.unitCode) ? { unitCode: trimmed(f.unitCode) } : {}),
    // Both channels ticked (or none) is every channel: the API's default.
    ...(channels.length === 1 ? { channels } : {}),
    ...(f.lang === 'vi' || f.lang === 'en' ? { lang: f.lang } : {}),
    ...(tags.length ? { tags } : {}),
  };
}

/** The content part of the form, as POST /broadcasts/preview and POST /broadcasts take it. */
export function contentOfForm(f: Form): {
  text: string;
  textEn?: string;
  imageUrl?: string;
  buttons?: Array<{ text: string; textEn?: string; url: string }>;
} {
  const buttons: Array<{ text: string; textEn?: string; url: string }> = [];
  for (let i = 0; i < MAX_BUTTONS; i++) {
    const text = trimmed(f[`b${i}_text`]);
    const url = trimmed(f[`b${i}_url`]);
    const textEn = trimmed(f[`b${i}_textEn`]);
    // A row left empty is no button; a half-filled one goes to the API, which names what is missing.
    if (text || url) buttons.push({ text, url, ...(textEn ? { textEn } : {}) });
  }
  return {
    text: f.text ?? '',
    ...(trimmed(f.textEn) ? { textEn: f.textEn } : {}),
    ...(trimmed(f.imageUrl) ? { imageUrl: trimmed(f.imageUrl) } : {}),
    ...(buttons.length ? { buttons } : {}),
  };
}

/**
 * The send time as typed, `dd/mm/yyyy hh:mm` (a text field: a browser's own date-time field shows
 * its locale's order), or a `datetime-local` value: the person's wall clock in Asia/Ho_Chi_Minh
 * (UTC+7 all year), as an ISO instant; '' is null (send at once). A malformed value goes to the API
 * unchanged so that its 422 names the field; `badSendAt` lets the composer say it first.
 */
export function sendAtOfForm(v: string | undefined): string | null {
  const s = trimmed(v);
  if (!s) return null;
  const dmy = /^(\d{1,2}\/\d{1,2}\/\d{4})\s+(\d{1,2}):(\d{2})$/.exec(s);
  const day = dmy ? parseDay(dmy[1]!) : null;
  if (dmy && day && Number(dmy[2]) < 24 && Number(dmy[3]) < 60)
    return new Date(`${day}T${dmy[2]!.padStart(2, '0')}:${dmy[3]}:00+07:00`).toISOString();
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?$/.exec(s);
  const iso = m ? new Date(`${m[1]}T${m[2]}${m[3] ?? ':00'}+07:00`) : null;
  return iso && !Number.isNaN(iso.getTime()) ? iso.toISOString() : s;
}

/** Whether a typed send time is neither empty nor a time sendAtOfForm reads. */
export function badSendAt(v: string | undefined): boolean {
  const s = sendAtOfForm(v);
  return s !== null && s === trimmed(v);
}

/** An ISO instant as the field shows it (`dd/mm/yyyy hh:mm`, Asia/Ho_Chi_Minh), for a form redrawn. */
export function localOfIso(iso: string | null): string {
  if (!iso) return '';
  const local = new Date(new Date(iso).getTime() + 7 * 3_600_000).toISOString();
  return `${dayText(local.slice(0, 10))} ${local.slice(11, 16)}`;
}

/** The API's 422 paths (`buttons.1.url`) as the composer's field names (`b1_url`). */
export function fieldOfPath(path: string): string {
  const b = /^buttons\.(\d+)\.(text|textEn|url)$/.exec(path);
  if (b) return `b${b[1]}_${b[2]}`;
  return path.split('.')[0]!;
}

/** A rendered message split for the preview: the body, and the unsubscribe line added under it. */
export function previewParts(m: RenderedView): { body: string; footer: string } {
  const i = m.plain.lastIndexOf('\n\n');
  return i < 0 ? { body: m.plain, footer: '' } : { body: m.plain.slice(0, i), footer: m.plain.slice(i + 2) };
}

/** The progress bar's figures: how far (0..100), the time left in words. */
export function progressFigures(
  p: ProgressView,
  t: Translate,
): { percent: number; left: string | null; finished: number } {
  // done: sent + failed + blocked + skipped + cancelled (workers/broadcast/progress.ts).
  const finished = p.done;
  const percent =
    p.recipients > 0
      ? Math.min(100, Math.floor((finished / p.recipients) * 100))
      : TERMINAL.has(p.status)
        ? 100
        : 0;
  let left: string | null = null;
  if (!TERMINAL.has(p.status) && p.etaSeconds !== null) {
    const s = Math.max(0, p.etaSeconds);
    left = s < 60 ? t('bc.left.seconds', { s }) : t('bc.left.minutes', { m: Math.floor(s / 60), s: s % 60 });
  }
  return { percent, left, finished };
}

/** Which of the page's actions the person and the broadcast's state allow (the API decides). */
export function actionsFor(
  b: Pick<BroadcastView, 'status' | 'createdBy' | 'startedAt'>,
  me: { username: string; permissions: readonly string[] },
): {
  approve: boolean;
  waitsForOther: boolean;
  test: boolean;
  schedule: boolean;
  pause: boolean;
  resume: boolean;
  cancel: boolean;
} {
  const can = new Set(me.permissions);
  const write = can.has('broadcasts:write');
  const mine = b.createdBy.trim().toLowerCase() === me.username.trim().toLowerCase();
  const pending = b.status === 'pending_approval';
  const running = b.status === 'scheduled' || b.status === 'fanning_out' || b.status === 'sending';
  return {
    approve: pending && can.has('broadcasts:approve') && !mine,
    waitsForOther: pending && mine,
    test: write && !TERMINAL.has(b.status),
    schedule: write && (pending || (b.status === 'scheduled' && !b.startedAt)),
    // A scheduled broadcast pauses too (control.ts PAUSABLE): its fan-out then waits for resume.
    pause: write && running,
    resume: write && b.status === 'paused',
    cancel: write && !TERMINAL.has(b.status),
  };
}

/** The first line of a broadcast's text, cut for a table cell. */
export function excerpt(text: string, max = 80): string {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Reasons named by the channels' classifiers (telegram/errors.ts DEAD, send-failure.ts). */
const NAMED_REASONS: ReadonlySet<string> = new Set([
  'blocked',
  'deactivated',
  'kicked',
  'chat_not_found',
  ZALO_OUTSIDE_WINDOW,
]);

/** A transient failure's reason is the error's name (zalo/errors.ts, telegram/errors.ts). */
const ERROR_NAMES: Readonly<Record<string, string>> = {
  TelegramUnreachableError: 'bc.reason.telegramUnreachable',
  ZaloHttpError: 'bc.reason.zaloUnreachable',
  ZaloTokenError: 'bc.reason.zaloToken',
};

/**
 * A failed or blocked delivery's reason code (the SendFailure reasons of bot/channels: `blocked`,
 * `telegram_400`, `zalo_-213`, an error's name) in the person's words; a code no rule knows is
 * shown as it is, so an operator can still look it up.
 */
export function reasonLabel(code: string, t: Translate): string {
  if (NAMED_REASONS.has(code)) return t(`bc.reason.${code}`);
  const known = ERROR_NAMES[code];
  if (known) return t(known);
  const telegram = /^telegram_(\d+)$/.exec(code);
  if (telegram) return t('bc.reason.telegram', { code: telegram[1]! });
  const zalo = /^zalo_(-?\d+)$/.exec(code);
  if (zalo) {
    const info = classifyZaloCode(Number(zalo[1]));
    const key =
      info.cause === 'recipient_unavailable'
        ? info.mark === 'unsubscribed'
          ? 'bc.reason.zaloUnfollowed'
          : 'bc.reason.zaloRecipient'
        : info.cause === 'transient' || info.cause === 'token_expired' || info.cause === 'rate_limited'
          ? 'bc.reason.zaloLater'
          : 'bc.reason.zaloRefused';
    return t(key, { code: zalo[1]! });
  }
  return t('bc.reason.other', { code });
}
