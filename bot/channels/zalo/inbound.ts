import { decodeAction } from '../../engine/callback-data';
import { parseCommand } from '../../conversation/commands';
import type { InboundEvent } from '../channel';
import { phoneHashOf, phoneKeyId } from '../../../lib/phone';

/**
 * Zalo webhook events (docs/platform-limits.md) → what the channel does with them. Button taps arrive as a
 * plain `user_send_text` whose text is the button's payload (once an object came back as
 * `{"content":"…"}`), so payloads are decoded defensively; anything else typed is text for the
 * engine, which reads numbers and labels itself.
 */
export interface ZaloWebhookEvent {
  event_name?: string;
  app_id?: string;
  oa_id?: string;
  timestamp?: string | number;
  sender?: { id?: string };
  recipient?: { id?: string };
  follower?: { id?: string };
  user_id_by_app?: string;
  message?: {
    text?: string;
    msg_id?: string;
    tracking_id?: string;
    rate?: number | string;
    note?: string;
    feedbacks?: unknown[];
    attachments?: unknown[];
  };
  /** As Zalo sends it; `phone_hash` is what the webhook keeps of it (see `sealSharedInfo`). */
  info?: { name?: string; phone?: string; phone_hash?: string; phone_key?: string };
}

export type ZaloMapped =
  | { type: 'turn'; event: InboundEvent }
  | { type: 'follow'; userId: string; at: number }
  | { type: 'unfollow'; userId: string; at: number }
  | {
      type: 'submit_info';
      userId: string;
      at: number;
      phone: string | null;
      /** Hashed by the webhook, with the lib/phone.ts phoneKeyId of its key (null: an older release's event). */
      phoneHash: string | null;
      phoneKeyId: string | null;
    }
  | {
      type: 'feedback';
      userId: string | null;
      at: number;
      msgId: string | null;
      trackingId: string | null;
      rate: number | null;
      note: string | null;
    }
  | { type: 'ignore'; reason: string };

/** Event timestamps are epoch ms as strings; they order one user's turns. */
export function eventTime(e: ZaloWebhookEvent, fallback: number): number {
  const n = Number(e.timestamp);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The identity Zalo retries under: msg_id for messages, else the event's name, user and time. */
export function eventId(e: ZaloWebhookEvent): string | null {
  const raw = e.message?.msg_id
    ? `m-${e.message.msg_id}`
    : e.event_name && e.timestamp !== undefined
      ? `${e.event_name}-${e.follower?.id ?? e.sender?.id ?? 'x'}-${String(e.timestamp)}`
      : null;
  // BullMQ job ids may not contain ':'; keep ids short and plain.
  return raw ? raw.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 200) : null;
}

/** A payload as it came back: a string, or an object wrapping it in `content`/`payload`. */
export function payloadText(text: string): string {
  const s = text.trim();
  if (!s.startsWith('{')) return s;
  try {
    const o = JSON.parse(s) as Record<string, unknown>;
    const inner = o.content ?? o.payload;
    return typeof inner === 'string' ? inner.trim() : s;
  } catch {
    return s;
  }
}

export function mapText(text: string): InboundEvent['input'] {
  const s = payloadText(text);
  const action = decodeAction(s);
  if (action) return { kind: 'action', action };
  return parseCommand(s) ?? { kind: 'text', text: s };
}

/**
 * What of a webhook event may wait in Redis: the details a citizen shares (user_submit_info:
 * name, phone, address) are replaced by the keyed hash of the phone, the only part we keep, and
 * the id of the key that made it (PHONE_HASH_KEY may change while the event waits).
 */
export function sealSharedInfo(e: ZaloWebhookEvent, phoneHashKey: string): ZaloWebhookEvent {
  if (e.event_name !== 'user_submit_info' || !e.info) return e;
  const phoneHash =
    typeof e.info.phone === 'string' && e.info.phone.length > 0
      ? phoneHashOf(e.info.phone, phoneHashKey)
      : null;
  return { ...e, info: phoneHash ? { phone_hash: phoneHash, phone_key: phoneKeyId(phoneHashKey) } : {} };
}

/** The event as a job keeps it once its replies are saved: no typed text, no shared details. */
export function redactedEvent(e: Record<string, unknown>): Record<string, unknown> {
  const { info: _info, ...rest } = e as ZaloWebhookEvent & Record<string, unknown>;
  const message = rest.message as ZaloWebhookEvent['message'] | undefined;
  if (message && typeof message === 'object' && 'text' in message) {
    const { text: _text, ...kept } = message;
    return { ...rest, message: kept };
  }
  return rest;
}

export function mapZaloEvent(e: ZaloWebhookEvent, now: number): ZaloMapped {
  const name = e.event_name ?? '';
  const at = eventTime(e, now);
  if (name.startsWith('oa_send_')) return { type: 'ignore', reason: 'echo' };
  if (name === 'follow' || name === 'unfollow') {
    const userId = e.follower?.id;
    if (!userId) return { type: 'ignore', reason: 'no follower id' };
    return { type: name, userId, at };
  }
  const userId = e.sender?.id ?? null;
  if (name === 'user_submit_info') {
    if (!userId) return { type: 'ignore', reason: 'no sender' };
    const phone = typeof e.info?.phone === 'string' && e.info.phone.length > 0 ? e.info.phone : null;
    const phoneHash =
      typeof e.info?.phone_hash === 'string' && e.info.phone_hash.length > 0 ? e.info.phone_hash : null;
    const phoneKeyId =
      phoneHash && typeof e.info?.phone_key === 'string' && e.info.phone_key.length > 0
        ? e.info.phone_key
        : null;
    return { type: 'submit_info', userId, at, phone, phoneHash, phoneKeyId };
  }
  if (name === 'user_feedback') {
    const rate = Number(e.message?.rate);
    return {
      type: 'feedback',
      userId,
      at,
      msgId: e.message?.msg_id ?? null,
      trackingId: e.message?.tracking_id ?? null,
      rate: Number.isFinite(rate) ? rate : null,
      note: typeof e.message?.note === 'string' && e.message.note.length > 0 ? e.message.note : null,
    };
  }
  if (name.startsWith('user_send_')) {
    if (!userId) return { type: 'ignore', reason: 'no sender' };
    // A sticker, photo or file still deserves an answer: the engine re-asks on empty text.
    const input =
      name === 'user_send_text' && typeof e.message?.text === 'string'
        ? mapText(e.message.text)
        : { kind: 'text' as const, text: '' };
    return { type: 'turn', event: { channel: 'zalo', userId, updateId: at, input } };
  }
  return { type: 'ignore', reason: `unhandled ${name || 'event'}` };
}
