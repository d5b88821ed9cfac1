import type { RedisClient } from '../../../lib/redis';
import type { FastifyPluginAsync } from 'fastify';
import { probeHealth } from '../../../lib/health';
import type { Logger } from '../../../lib/logger';

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
      const { redis, mongodb } = await probeHealth(deps.redis, timeout);
      const ok = redis === 'ok' && mongodb === 'ok';
      if (!ok) deps.log.warn({ redis, mongodb }, 'health check failed');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', redis, mongodb });
    });
    return Promise.resolve();
  };
}
