import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { createTelegramClient } from '../../../bot/channels/telegram/api-client';
import { classifyTelegramError } from '../../../bot/channels/telegram/errors';
import { hcmDay } from '../../../lib/time';
import { Unit } from '../../../models/unit';
import { jobId } from '../../job-id';
import type { JobContext } from '../../registry';
import { defineJob } from '../../registry';
import { buildDigest, yesterdayOf } from './figures';
import { flagBursts } from '../integrity/bursts';
import { renderDigest } from './text';

/** Sends a unit's digest to its group; false when nothing can send (no bot configured). */
export type DigestSender = (chatId: string, text: string) => Promise<boolean>;

let override: DigestSender | null = null;
/** Tests plug their sender in here; null restores the default (Telegram when a bot token is set). */
export function setDigestSender(s: DigestSender | null): void {
  override = s;
}

function digestSender(ctx: Pick<JobContext, 'env' | 'log' | 'stopSignal'>): DigestSender {
  if (override) return override;
  const e = ctx.env;
  if (!e.TELEGRAM_BOT_TOKEN) return async () => false;
  // Queue workers do not wait out long 429s inline: the job fails and BullMQ retries it with backoff.
  const tg = createTelegramClient({
    token: e.TELEGRAM_BOT_TOKEN,
    apiRoot: e.TELEGRAM_API_ROOT,
    maxRetries: e.TELEGRAM_MAX_RETRIES,
    maxRetryAfterS: e.TELEGRAM_MAX_RETRY_AFTER_S,
    waitOnRateLimit: false,
    // A stopping process abandons the call: the claim is released and the next process retries.
    stopSignal: ctx.stopSignal,
    log: ctx.log,
  });
  return async (chatId, text) => (await tg.sendMessage(chatId, text), true);
}

const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/**
 * `digest-<unit>-<day>`: stable per unit and day. Before job-id.ts, every character of the unit
 * code outside `A-Za-z0-9_.-` became `_` (so two such codes could share one id); those codes now
 * get an id of their own, and a digest queued by an older release under the old id is not sent
 * twice: the once-per-unit-day claim (digestSentKey) is taken before the send.
 */
export function digestJobId(unitCode: string, day: string): string {
  return jobId('digest', unitCode, day);
}

/** The once-per-unit-day claim; outlives BullMQ's memory of completed job ids (one day). */
export const digestSentKey = (prefix: string, unitCode: string, day: string) =>
  `${prefix}:digest:sent:${unitCode}:${day}`;
const CLAIM_TTL_S = 8 * 24 * 3600;

/**
 * The daily run (a BullMQ job scheduler, schedule.ts), for the day before the scheduled
 * time (or `day` when given by hand): first the identical-answer burst check of every unit for
 * that day (the day is complete, so the check sees every burst; the digests then count the
 * flags), then one `digest.send` per unit that has a Telegram group.
 */
export const digestRun = defineJob({
  name: 'digest.run',
  queue: 'aggregate',
  schema: z.object({ day: DAY.optional() }).passthrough(),
  async handle(p, ctx) {
    // The scheduled instant, not the moment a backed-up worker got to it.
    const scheduled = new Date(ctx.job.timestamp + (ctx.job.delay ?? 0));
    const day = p.day ?? yesterdayOf(scheduled);
    const units = await Unit.find({}, { _id: 0, code: 1, validTo: 1, alertTelegramChatId: 1 }).lean();
    let bursts = 0;
    for (const u of units) bursts += await flagBursts(u.code, day);
    let n = 0;
    for (const u of units) {
      if (!u.alertTelegramChatId) continue;
      // A unit merged away before that day has no digest of its own (its successor's includes it).
      if (u.validTo && hcmDay(u.validTo) < day) continue;
      await ctx.enqueue('digest.send', { unitCode: u.code, day }, { jobId: digestJobId(u.code, day) });
      n++;
    }
    ctx.log.info({ day, units: n, burstFlags: bursts }, 'daily digests queued');
  },
});

/**
 * One unit's digest for one day, sent at most once: a Redis claim (SET NX) taken before sending
 * and released if the send fails, so a rerun of the day, a duplicated job or a retry after a
 * successful send sends nothing more.
 */
export const digestSend = defineJob({
  name: 'digest.send',
  queue: 'outbound',
  schema: z.object({ unitCode: z.string().min(1).max(64), day: DAY }),
  async handle(p, ctx) {
    const unit = await Unit.findOne({ code: p.unitCode }, { _id: 0, alertTelegramChatId: 1 }).lean();
    if (!unit?.alertTelegramChatId) return;
    const key = digestSentKey(ctx.prefix, p.unitCode, p.day);
    if ((await ctx.redis.set(key, String(Date.now()), 'EX', CLAIM_TTL_S, 'NX')) !== 'OK') {
      ctx.log.debug({ unitCode: p.unitCode, day: p.day }, 'digest already sent');
      return;
    }
    try {
      const text = renderDigest(await buildDigest({ unitCode: p.unitCode, day: p.day, now: new Date() }));
      const sent = await digestSender(ctx)(unit.alertTelegramChatId, text);
      if (!sent) await ctx.redis.del(key);
      ctx.log.info({ unitCode: p.unitCode, day: p.day, sent }, 'daily digest');
    } catch (err) {
      await ctx.redis.del(key);
      // The bot was removed from the group, the chat is gone or Telegram refused: retrying cannot help.
      const kind = classifyTelegramError(err).kind;
      if (kind === 'dead' || kind === 'refused')
        throw new UnrecoverableError(`digest for ${p.unitCode}: ${(err as Error).message}`);
      throw err;
    }
  },
});
