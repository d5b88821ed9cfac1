import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Update } from 'telegraf/types';
import type { Logger } from '../../../lib/logger';
import type { UpdateInbox } from './update-inbox';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time comparison of the secret header (equal-length digests, never early exit). */
export function secretMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(expected), digest(given));
}

/**
 * POST /webhooks/telegram: checks X-Telegram-Bot-Api-Secret-Token, stores the update durably
 * (de-duplicated by update_id) and answers 200 at once; the update is applied off the request,
 * in per-chat order (UpdateInbox). 401 wrong secret, 400 not an update, 503 when Redis cannot
 * take it (Telegram retries).
 */
export function telegramWebhookRoute(opts: { secret: string; inbox: UpdateInbox; onAccepted?: (chatKey: string) => void; log: Logger }): FastifyPluginAsync {
  return async (app) => {
    app.post('/webhooks/telegram', async (req, reply) => {
      if (!secretMatches(opts.secret, req.headers['x-telegram-bot-api-secret-token'])) {
        opts.log.warn({ ip: req.ip }, 'telegram webhook refused: bad secret');
        return reply.status(401).send({ error: 'unauthorized', message: 'bad or missing secret token' });
      }
      const body = req.body as { update_id?: unknown } | undefined;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || !Number.isSafeInteger(body.update_id)) {
        return reply.status(400).send({ error: 'bad_request', message: 'expected a Telegram Update object with an integer update_id' });
      }
      let accepted: { chatKey: string } | null;
      try {
        accepted = await opts.inbox.accept(body as Update);
      } catch (err) {
        opts.log.error({ err: (err as Error).message }, 'telegram webhook: cannot store update');
        return reply.status(503).header('retry-after', '5').send({ error: 'unavailable', message: 'try again' });
      }
      if (accepted) opts.onAccepted?.(accepted.chatKey);
      return reply.status(200).send({ ok: true, duplicate: accepted === null });
    });
  };
}
