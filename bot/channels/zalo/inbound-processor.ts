import { key, type RedisClient } from '../../../lib/redis';
import type { Logger } from '../../../lib/logger';
import { phoneHashOf, phoneKeyId } from '../../../lib/phone';
import { Contact } from '../../../models/contact';
import { writeContactOf } from '../../../workers/jobs/contact-writer';
import type { InboundEvent, TurnReply } from '../channel';
import { t } from '../../engine/messages';
import type { Outbound } from '../../engine/types';
import type { ZaloClient, ZaloMessage } from './client';
import { classifyZaloError, type ZaloApiError } from './errors';
import { mapZaloEvent, redactedEvent, type ZaloMapped, type ZaloWebhookEvent } from './inbound';
import { isZaloEventDone, markZaloEventDone, type ZaloEventJob } from './inbound-queue';
import { markZaloContact } from './contacts';
import { renderForZalo } from './renderer';

export type ZaloFeedback = Extract<ZaloMapped, { type: 'feedback' }>;

export interface ZaloInboundDeps {
  conversation: { handle(e: InboundEvent): Promise<TurnReply> };
  client: Pick<ZaloClient, 'sendCs'>;
  redis: RedisClient;
  prefix: string;
  log: Logger;
  phoneHashKey: string;
  /** Records a rating-template answer (./feedback.ts); absent: logged and dropped. */
  feedback?: (f: ZaloFeedback) => Promise<void>;
  now?: () => number;
}

/** The slice of a BullMQ job the processor needs (tests pass a plain object). */
export interface ZaloJobLike {
  data: ZaloEventJob;
  updateData(data: ZaloEventJob): Promise<void>;
}

export class ZaloUnrecoverableSend extends Error {
  constructor(readonly zalo: ZaloApiError) {
    super(zalo.message);
    this.name = 'ZaloUnrecoverableSend';
  }
}

/** Last question shown to a user, so a toggled multi-choice can be shown again with its ticks. */
const LAST_QUESTION_TTL_S = 7 * 24 * 3600;
type QuestionOut = Extract<Outbound, { kind: 'question' }>;

/**
 * Does what one Zalo event asks. A turn's rendered messages are saved on the job before the
 * first send, so a retry (transient send failure, crash) resends the rest instead of re-running
 * the turn, which the conversation service would treat as a duplicate and answer with nothing.
 */
export async function processZaloEvent(
  deps: ZaloInboundDeps,
  job: ZaloJobLike,
): Promise<'done' | 'duplicate' | 'ignored'> {
  const now = deps.now ?? Date.now;
  const { eventId } = job.data;
  if (await isZaloEventDone(deps.redis, deps.prefix, eventId)) return 'duplicate';
  const mapped = mapZaloEvent(job.data.event as ZaloWebhookEvent, now());
  let result: 'done' | 'ignored' = 'done';
  switch (mapped.type) {
    case 'turn':
      await runTurn(deps, job, mapped.event);
      break;
    case 'follow': {
      // Following again is an explicit wish to hear from the OA.
      await writeContactOf(deps, 'zalo', mapped.userId, {
        lastInteractionAt: new Date(now()).toISOString(),
        unsubscribedAt: null,
      });
      const c = await Contact.findOne({ channel: 'zalo', channelUserId: mapped.userId }, { lang: 1 }).lean();
      if (!job.data.outbox) await saveOutbox(job, [{ text: t('noSurvey', c?.lang === 'en' ? 'en' : 'vi') }]);
      await sendOutbox(deps, job, mapped.userId);
      break;
    }
    case 'unfollow':
      await markZaloContact(deps, mapped.userId, 'unsubscribed', new Date(now()));
      break;
    case 'submit_info': {
      const hash = mapped.phoneHash ?? (mapped.phone ? phoneHashOf(mapped.phone, deps.phoneHashKey) : null);
      // An event queued by an older release names no key: it was hashed under this one then.
      const keyId = (mapped.phoneHash ? mapped.phoneKeyId : null) ?? phoneKeyId(deps.phoneHashKey);
      await writeContactOf(deps, 'zalo', mapped.userId, {
        lastInteractionAt: new Date(now()).toISOString(),
        ...(hash ? { phoneHash: hash } : {}),
        ...(hash ? { phoneHashKeyId: keyId } : {}),
      });
      const c = await Contact.findOne({ channel: 'zalo', channelUserId: mapped.userId }, { lang: 1 }).lean();
      // Sharing details is writing to the OA: it gets an answer.
      if (!job.data.outbox)
        await saveOutbox(job, [{ text: t('infoThanks', c?.lang === 'en' ? 'en' : 'vi') }]);
      await sendOutbox(deps, job, mapped.userId);
      break;
    }
    case 'feedback':
      if (deps.feedback) await deps.feedback(mapped);
      else deps.log.warn({ eventId }, 'zalo rating feedback received but no recorder is wired');
      break;
    case 'ignore':
      result = 'ignored';
      break;
  }
  await markZaloEventDone(deps.redis, deps.prefix, eventId);
  return result;
}

async function runTurn(deps: ZaloInboundDeps, job: ZaloJobLike, ev: InboundEvent): Promise<void> {
  if (!job.data.outbox) {
    const reply = await deps.conversation.handle(ev);
    await saveOutbox(job, await zaloMessagesFor(deps, ev.userId, reply));
  }
  await sendOutbox(deps, job, ev.userId);
}

/**
 * Saves the replies on the job before sending them. From then on the job no longer needs what
 * the citizen typed or shared, and a finished job stays in Redis for hours: both leave it.
 */
async function saveOutbox(job: ZaloJobLike, outbox: ZaloMessage[]): Promise<void> {
  const data: ZaloEventJob = {
    ...job.data,
    event: redactedEvent(job.data.event),
    outbox: outbox as unknown as Array<Record<string, unknown>>,
    sent: 0,
  };
  await job.updateData(data);
  job.data = data;
}

/**
 * TurnReply → Zalo messages. Zalo cannot edit a sent message, so: the button acknowledgement
 * ("Đã chọn: …") becomes a text (an `oa.query.hide` tap leaves no trace in the chat), and new
 * buttons for a toggled multi-choice re-send the question with its ticks.
 */
export async function zaloMessagesFor(
  deps: Pick<ZaloInboundDeps, 'redis' | 'prefix'>,
  userId: string,
  reply: TurnReply,
): Promise<ZaloMessage[]> {
  const lastKey = key(deps.prefix, 'zalo', 'lastq', userId);
  const out: Outbound[] = [];
  if (reply.ack) out.push({ kind: 'text', text: reply.ack });
  if (Array.isArray(reply.updateChoices) && reply.messages.length === 0) {
    const raw = await deps.redis.get(lastKey);
    if (raw) {
      const last = JSON.parse(raw) as QuestionOut;
      out.push({ ...last, choices: reply.updateChoices });
    }
  }
  out.push(...reply.messages);
  const lastQuestion = [...reply.messages].reverse().find((m): m is QuestionOut => m.kind === 'question');
  if (lastQuestion) await deps.redis.set(lastKey, JSON.stringify(lastQuestion), 'EX', LAST_QUESTION_TTL_S);
  return renderForZalo(out);
}

async function sendOutbox(deps: ZaloInboundDeps, job: ZaloJobLike, userId: string): Promise<void> {
  const outbox = (job.data.outbox ?? []) as unknown as ZaloMessage[];
  for (let i = job.data.sent ?? 0; i < outbox.length; i++) {
    try {
      await deps.client.sendCs(userId, outbox[i]!);
    } catch (err) {
      const f = classifyZaloError(err);
      if (f.kind === 'dead') {
        await markZaloContact(deps, userId, f.mark, new Date());
        deps.log.info(
          { eventId: job.data.eventId, reason: f.reason },
          'zalo recipient unavailable; contact marked',
        );
        throw new ZaloUnrecoverableSend(err as ZaloApiError);
      }
      if (f.kind === 'refused') {
        const e = err as ZaloApiError;
        deps.log.error(
          { eventId: job.data.eventId, code: e.code, endpoint: e.endpoint },
          'zalo refused a reply',
        );
        throw new ZaloUnrecoverableSend(e);
      }
      throw err;
    }
    const data: ZaloEventJob = { ...job.data, sent: i + 1 };
    await job.updateData(data);
    job.data = data;
  }
}
