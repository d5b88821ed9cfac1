import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Update } from 'telegraf/types';
import { logger, type Logger } from '../../../lib/logger';
import { WEBHOOK_ROUTE } from '../../http/server';
import type { UpdateInbox } from './update-inbox';

export const TELEGRAM_WEBHOOK_PATH = '/webhooks/telegram';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Constant-time comparison of the secret header: both sides are hashed first so the buffers
 * have equal length (timingSafeEqual's requirement) and the length of the secret does not leak.
 */
export function secretMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(expected), digest(given));
}

export interface TelegramWebhookRouteOptions {
  /** The secret_token given to setWebhook (TELEGRAM_WEBHOOK_SECRET). */
  secret: string;
  inbox: Pick<UpdateInbox, 'accept'>;
  /** Called (not awaited) with the chat of a newly stored update: kick its drain. */
  onAccepted?: (chatKey: string) => void;
  log?: Logger;
}

/**
 * POST /webhooks/telegram: checks X-Telegram-Bot-Api-Secret-Token, stores the update durably
 * (de-duplicated by update_id) and answers 200 at once; the update is applied off the request,
 * in per-chat order (UpdateInbox). Telegram sends a chat's next update only after this 200, so
 * answering before the conversation turn runs keeps citizens from waiting on each other.
 * 401 wrong secret, 400 not an update, 503 when Redis cannot take it (Telegram retries).
 */
export function telegramWebhookRoute(opts: TelegramWebhookRouteOptions): FastifyPluginAsync {
  const log = opts.log ?? logger;
  return (app) => {
    app.post(TELEGRAM_WEBHOOK_PATH, WEBHOOK_ROUTE, async (req, reply) => {
      if (!secretMatches(opts.secret, req.headers['x-telegram-bot-api-secret-token'])) {
        log.warn({ ip: req.ip }, 'telegram webhook refused: bad secret');
        return reply
          .status(401)
          .send({ error: 'unauthorized', message: 'missing or wrong X-Telegram-Bot-Api-Secret-Token' });
      }
      const body = req.body as { update_id?: unknown } | undefined;
      if (
        typeof body !== 'object' ||
        body === null ||
        Array.isArray(body) ||
        !Number.isSafeInteger(body.update_id)
      ) {
        return reply.status(400).send({
          error: 'bad_request',
          message: 'expected a Telegram Update: a JSON object with an integer update_id',
        });
      }
      let accepted: { chatKey: string } | false;
      try {
        accepted = await opts.inbox.accept(body as Update);
      } catch (err) {
        log.error(
          { updateId: body.update_id, err: (err as Error).message },
          'telegram webhook: cannot store update',
        );
        return reply
          .status(503)
          .header('retry-after', '5')
          .send({ error: 'unavailable', message: 'update not stored, try again' });
      }
      if (accepted) {
        try {
          opts.onAccepted?.(accepted.chatKey);
        } catch (err) {
          // Stored already: the sweeper applies it even if the kick failed.
          log.error(
            { updateId: body.update_id, err: (err as Error).message },
            'telegram webhook: kick failed',
          );
        }
      }
      return reply.status(200).send({ ok: true, duplicate: !accepted });
    });
    return Promise.resolve();
  };
}
