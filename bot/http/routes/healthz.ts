import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import mongoose from 'mongoose';
import type { Logger } from '../../../lib/logger';

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

/** GET /healthz: 200 when Redis and MongoDB answer, 503 naming the one that does not. */
export function healthzRoute(deps: { redis: Redis; log: Logger; timeoutMs?: number }): FastifyPluginAsync {
  const timeout = deps.timeoutMs ?? 1500;
  return async (app) => {
    app.get('/healthz', async (_req, reply) => {
      const [redis, mongodb] = await Promise.all([
        within(deps.redis.ping(), timeout).then(() => 'ok' as const, () => 'down' as const),
        within(
          (async () => {
            const db = mongoose.connection.db;
            if (!db || mongoose.connection.readyState !== 1) throw new Error('not connected');
            await db.command({ ping: 1 });
          })(),
          timeout,
        ).then(() => 'ok' as const, () => 'down' as const),
      ]);
      const ok = redis === 'ok' && mongodb === 'ok';
      if (!ok) deps.log.warn({ redis, mongodb }, 'health check failed');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', redis, mongodb });
    });
  };
}
