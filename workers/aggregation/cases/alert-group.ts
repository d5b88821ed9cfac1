import { randomInt } from 'node:crypto';
import { key, type RedisClient } from '../../../lib/redis';
import { appendAudit } from '../../../lib/audit/writer';
import { Unit } from '../../../models/unit';

/**
 * Connecting a unit's Telegram group (Unit.alertTelegramChatId: case alerts, digests, handling
 * cases) without anyone typing a chat id: `hailong unit connect-telegram --unit CODE` issues a
 * one-time code, an admin of the group posts `/ketnoi CODE` there, and the bot connects the group
 * it came from. The code is random (40 bits), lives 15 minutes in Redis and works once; a group
 * serves one unit, and connecting it again to the same unit just says so.
 */
export const CONNECT_CODE_TTL_S = 15 * 60;
/** No 0/O, 1/I/L: the code is read off a terminal and typed on a phone. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 8;

const codeKey = (prefix: string, code: string): string => key(prefix, 'unit', 'tgcode', code);

export class UnitNotFoundError extends Error {
  constructor(readonly unitCode: string) {
    super(`no unit ${unitCode}`);
    this.name = 'UnitNotFoundError';
  }
}

/** What was typed, as stored: upper case, without spaces or dashes; null when it cannot be a code. */
export function normaliseConnectCode(text: string): string | null {
  const c = text.replace(/[\s-]/g, '').toUpperCase();
  return c.length === CODE_LENGTH && [...c].every((ch) => ALPHABET.includes(ch)) ? c : null;
}

export async function issueConnectCode(
  redis: RedisClient,
  prefix: string,
  unitCode: string,
  now = new Date(),
): Promise<{ code: string; expiresAt: Date }> {
  if (!(await Unit.exists({ code: unitCode }))) throw new UnitNotFoundError(unitCode);
  for (;;) {
    const code = Array.from({ length: CODE_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    // NX: a collision (one in 10^12 per live code) draws again rather than overwrite.
    if ((await redis.set(codeKey(prefix, code), unitCode, 'EX', CONNECT_CODE_TTL_S, 'NX')) === 'OK')
      return { code, expiresAt: new Date(now.getTime() + CONNECT_CODE_TTL_S * 1000) };
  }
}

export type ConnectResult =
  | { status: 'connected' | 'already'; unitCode: string; unitName: string }
  | { status: 'invalid' }
  /** The group already serves another unit (disconnect it there first); the code was not used. */
  | { status: 'taken'; unitCode: string; unitName: string };

/** Redeems a code posted in group `chatId` by `by` (an official's id, `tg:<user id>`). */
export async function redeemConnectCode(
  redis: RedisClient,
  prefix: string,
  typed: string,
  chatId: string,
  by: string,
  now = new Date(),
): Promise<ConnectResult> {
  const code = normaliseConnectCode(typed);
  if (!code) return { status: 'invalid' };
  const k = codeKey(prefix, code);
  const unitCode = await redis.get(k);
  if (!unitCode) return { status: 'invalid' };
  const other = await Unit.findOne(
    { alertTelegramChatId: chatId, code: { $ne: unitCode } },
    { _id: 0, code: 1, name: 1 },
  ).lean();
  if (other) return { status: 'taken', unitCode: other.code, unitName: other.name };
  // Single use: whoever deletes the code connects.
  if ((await redis.getdel(k)) !== unitCode) return { status: 'invalid' };
  const unit = await Unit.findOne({ code: unitCode }, { _id: 0, name: 1, alertTelegramChatId: 1 }).lean();
  if (!unit) return { status: 'invalid' };
  if (unit.alertTelegramChatId === chatId) return { status: 'already', unitCode, unitName: unit.name };
  await Unit.updateOne(
    { code: unitCode },
    { $set: { alertTelegramChatId: chatId, alertTelegramConnectedAt: now } },
  );
  await appendAudit({
    at: now,
    actor: by,
    action: 'unit.telegram_connected',
    targetType: 'unit',
    targetId: unitCode,
    unitCode,
  });
  return { status: 'connected', unitCode, unitName: unit.name };
}

/** Removes the unit's group; false when it had none. */
export async function disconnectGroup(unitCode: string, by: string, now = new Date()): Promise<boolean> {
  const unit = await Unit.findOne({ code: unitCode }, { _id: 0, alertTelegramChatId: 1 }).lean();
  if (!unit) throw new UnitNotFoundError(unitCode);
  if (!unit.alertTelegramChatId) return false;
  await Unit.updateOne(
    { code: unitCode },
    { $set: { alertTelegramChatId: null, alertTelegramConnectedAt: null } },
  );
  await appendAudit({
    at: now,
    actor: by,
    action: 'unit.telegram_disconnected',
    targetType: 'unit',
    targetId: unitCode,
    unitCode,
  });
  return true;
}
