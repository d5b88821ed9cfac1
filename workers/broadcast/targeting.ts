import type { Types } from 'mongoose';
import { Contact } from '../../models/contact';
import { Unit } from '../../models/unit';
import type { BroadcastChannel } from '../../models/broadcast';
import { expandUnits } from '../../indices/units';

/** Who a broadcast goes to. Empty/undefined fields mean "everyone". */
export interface BroadcastTarget {
  unitCode?: string | null;
  channels?: BroadcastChannel[];
  lang?: 'vi' | 'en' | null;
  tags?: string[];
}

export interface TargetingLimits {
  /** Zalo consultation messages reach only users who interacted within this many hours (7-day window). */
  zaloWindowH: number;
  now?: Date;
}

/**
 * The unit and every unit below it (parentCode), plus units merged into any of them
 * (successorCode): a contact registered under a commune that was merged still belongs to the
 * new commune's subtree. The same hierarchy as the figures (indices/units.ts).
 */
export function unitSubtree(code: string): Promise<string[]> {
  return expandUnits([code]);
}

/**
 * The unit a contact belongs to for answering a survey about a dossier of `code` at `at`:
 * the dossier's unit, or, when that unit had already been merged by then (validTo before `at`),
 * its successor at that time (followed through successive mergers). A unit merged later keeps
 * its contacts through unitSubtree. An unknown code is kept as it is.
 */
export async function contactUnitAt(code: string, at: Date): Promise<string> {
  let current = code;
  const seen = new Set([code]);
  for (let hops = 0; hops < 16; hops++) {
    const u = await Unit.findOne({ code: current }, { _id: 0, validTo: 1, successorCode: 1 }).lean();
    if (!u?.validTo || u.validTo >= at || !u.successorCode || seen.has(u.successorCode)) break;
    current = u.successorCode;
    seen.add(current);
  }
  return current;
}

/**
 * The MongoDB filter of one channel's reachable recipients. Never targeted: contacts without
 * consent, unsubscribed or blocked ones, web-chat contacts (nothing to push to), and on Zalo
 * users outside the consultation window (a broadcast may not use paid templates, see
 * docs/broadcasts.md).
 */
export async function recipientFilter(
  target: BroadcastTarget,
  channel: BroadcastChannel,
  limits: TargetingLimits,
): Promise<Record<string, unknown>> {
  const filter: Record<string, unknown> = {
    channel,
    consentAt: { $ne: null },
    unsubscribedAt: null,
    blockedAt: null,
  };
  if (target.lang) filter.lang = target.lang;
  if (target.tags && target.tags.length > 0) filter.tags = { $all: target.tags };
  if (target.unitCode) filter.unitCodes = { $in: await unitSubtree(target.unitCode) };
  if (channel === 'zalo') {
    const now = limits.now ?? new Date();
    filter.lastInteractionAt = { $gte: new Date(now.getTime() - limits.zaloWindowH * 3600_000) };
  }
  return filter;
}

export function targetChannels(target: BroadcastTarget): BroadcastChannel[] {
  return target.channels && target.channels.length > 0 ? target.channels : ['telegram', 'zalo'];
}

export interface RecipientCount {
  total: number;
  byChannel: Record<BroadcastChannel, number>;
  /** Zalo followers that match but are outside the consultation window (not reachable). */
  zaloOutsideWindow: number;
}

/** What staff see before sending. */
export async function countRecipients(
  target: BroadcastTarget,
  limits: TargetingLimits,
): Promise<RecipientCount> {
  const byChannel: Record<BroadcastChannel, number> = { telegram: 0, zalo: 0 };
  let zaloOutsideWindow = 0;
  for (const channel of targetChannels(target)) {
    const filter = await recipientFilter(target, channel, limits);
    byChannel[channel] = await Contact.countDocuments(filter);
    if (channel === 'zalo') {
      const { lastInteractionAt: _ignored, ...anyTime } = filter;
      zaloOutsideWindow = (await Contact.countDocuments(anyTime)) - byChannel.zalo;
    }
  }
  return { total: byChannel.telegram + byChannel.zalo, byChannel, zaloOutsideWindow };
}

export interface RecipientRow {
  _id: Types.ObjectId;
  channel: BroadcastChannel;
  channelUserId: string;
  lang: 'vi' | 'en';
}

/**
 * Recipients after `cursor` in _id order, in pages: one query and one cursor for the whole walk
 * (on FerretDB each query scans the collection, so paging by repeated queries costs a scan a page).
 */
export async function* recipientPages(
  filter: Record<string, unknown>,
  cursor: Types.ObjectId | null,
  pageSize: number,
): AsyncGenerator<RecipientRow[]> {
  const q = cursor ? { ...filter, _id: { $gt: cursor } } : filter;
  let page: RecipientRow[] = [];
  for await (const r of Contact.find(q, { channel: 1, channelUserId: 1, lang: 1 })
    .sort({ _id: 1 })
    .lean()
    .cursor({ batchSize: pageSize })) {
    page.push({
      _id: r._id,
      channel: r.channel as BroadcastChannel,
      channelUserId: r.channelUserId,
      lang: r.lang === 'en' ? 'en' : 'vi',
    });
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
