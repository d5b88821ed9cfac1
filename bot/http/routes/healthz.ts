import type { RedisClient } from '../../../lib/redis';
import type { FastifyPluginAsync } from 'fastify';
import mongoose from 'mongoose';
import type { Logger } from '../../../lib/logger';

type Check = 'ok' | 'down';

/** Resolves 'ok' when `probe` answers within `ms`, 'down' otherwise; leaves no timer behind. */
async function check(probe: () => Promise<unknown>, ms: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

async function pingMongo(): Promise<void> {
  const conn = mongoose.connection;
  if (!conn.db || conn.readyState !== mongoose.ConnectionStates.connected) throw new Error('not connected');
  await conn.db.command({ ping: 1 });
}

/**
 * GET /healthz: 200 `{status:'ok', redis:'ok', mongodb:'ok'}` when Redis PING and MongoDB `ping`
 * both answer within the timeout, else 503 naming the one that did not (for load balancers and
 * operators; no details that would help an attacker).
 */
export function healthzRoute(deps: {
  redis: RedisClient;
  log: Logger;
  timeoutMs?: number;
}): FastifyPluginAsync {
  const timeout = deps.timeoutMs ?? 1500;
  return (app) => {
    app.get('/healthz', async (_req, reply) => {
      const [redis, mongodb] = await Promise.all([
        check(() => deps.redis.ping(), timeout),
        check(pingMongo, timeout),
      ]);
      const ok = redis === 'ok' && mongodb === 'ok';
      if (!ok) deps.log.warn({ redis, mongodb }, 'health check failed');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', redis, mongodb });
    });
    return Promise.resolve();
  };
}
