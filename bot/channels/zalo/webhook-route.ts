import type { RedisClient } from '../../../lib/redis';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from '../../../lib/logger';
import { eventId, mapZaloEvent, sealSharedInfo, type ZaloWebhookEvent } from './inbound';
import { isZaloEventDone, type ZaloInboundQueue } from './inbound-queue';
import { zaloEventJobId } from '../../../workers/job-id';
import { verifyZaloSignature } from './signature';
import { WEBHOOK_ROUTE } from '../../http/server';

export interface ZaloWebhookOptions {
  appId: string;
  /** The OA secret key (or the app secret, per ZALO_SIGNATURE_KEY). */
  secret: string;
  /** Where the MAC's timestamp is read from (ZALO_SIGNATURE_TIMESTAMP). */
  timestampSource: 'body' | 'header';
  maxAgeMs: number;
  maxSkewMs: number;
  redis: RedisClient;
  prefix: string;
  queue: ZaloInboundQueue;
  /** PHONE_HASH_KEY: a shared phone number is hashed before the event is queued. */
  phoneHashKey: string;
  log: Logger;
  now?: () => number;
}

/**
 * POST /webhooks/zalo. Checks the MAC over the exact bytes received, refuses stale or future
 * events (a captured request replayed later), then persists the event as a BullMQ job whose id
 * is the event's identity (Zalo retries with `num_retry`) and answers 200 at once: Zalo wants an
 * answer within 2 s, and the job survives the process dying after it.
 */
export function zaloWebhookRoute(opts: ZaloWebhookOptions): FastifyPluginAsync {
  const now = opts.now ?? Date.now;
  return async (app) => {
    app.post('/webhooks/zalo', WEBHOOK_ROUTE, async (req, reply) => {
      const raw = req.rawBody;
      const body = (req.body ?? null) as ZaloWebhookEvent | null;
      if (!raw || !body || typeof body !== 'object')
        return reply.status(400).send({ error: 'bad_request', message: 'JSON body expected' });
      const tsHeader = req.headers['x-zevent-timestamp'];
      const timestamp =
        opts.timestampSource === 'header'
          ? typeof tsHeader === 'string'
            ? tsHeader
            : ''
          : String(body.timestamp ?? '');
      const sig = req.headers['x-zevent-signature'];
      if (
        !verifyZaloSignature(
          typeof sig === 'string' ? sig : undefined,
          opts.appId,
          raw,
          timestamp,
          opts.secret,
        )
      ) {
        opts.log.warn({ event: body.event_name ?? null }, 'zalo webhook refused: bad signature');
        return reply.status(401).send({ error: 'unauthorized', message: 'bad signature' });
      }
      const ts = Number(timestamp);
      const age = now() - ts;
      if (!Number.isFinite(ts) || age > opts.maxAgeMs || -age > opts.maxSkewMs) {
        opts.log.warn(
          { event: body.event_name ?? null, ageMs: Number.isFinite(age) ? age : null },
          'zalo webhook refused: timestamp out of range',
        );
        return reply.status(401).send({ error: 'unauthorized', message: 'stale or future timestamp' });
      }
      const mapped = mapZaloEvent(body, now());
      if (mapped.type === 'ignore') return reply.status(200).send({ ok: true, ignored: mapped.reason });
      const id = eventId(body);
      if (!id) return reply.status(200).send({ ok: true, ignored: 'no event identity' });
      if (await isZaloEventDone(opts.redis, opts.prefix, id))
        return reply.status(200).send({ ok: true, duplicate: true });
      const retry = Number(req.headers['num_retry'] ?? 0);
      const event = sealSharedInfo(body, opts.phoneHashKey) as Record<string, unknown>;
      await opts.queue.add(
        'zalo.event',
        { eventId: id, event, receivedAt: now() },
        { jobId: zaloEventJobId(id) },
      );
      opts.log.debug(
        { eventId: id, event: body.event_name, numRetry: Number.isFinite(retry) ? retry : null },
        'zalo webhook queued',
      );
      return reply.status(200).send({ ok: true });
    });
  };
}
