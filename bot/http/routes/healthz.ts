import type { RedisClient } from '../../../lib/redis';
import type { FastifyPluginAsync } from 'fastify';
import type { Env } from '../../../config/env';
import { probeHealth } from '../../../lib/health';
import type { Logger } from '../../../lib/logger';
import { platformLine, readPlatformSuccess, zaloTokenState } from '../../../lib/platform-health';
import type { OperatorAuth } from '../operator-auth';
import type { QueueCatalogue } from '../queue-catalogue';
import { refuseOperator } from './metrics';

/** What the operators' detail needs beyond /healthz (app/start.ts gives it). */
export interface HealthDetailDeps {
  env: Env;
  prefix: string;
  auth: OperatorAuth;
  catalogue: QueueCatalogue;
  /** This process's heartbeat file (app/heartbeat.ts), when HEALTH_FILE is set. */
  heartbeat?: () => Promise<{ ok: true } | { ok: false; reason: string }>;
}

/**
 * GET /healthz: 200 `{status:'ok', redis:'ok', mongodb:'ok'}` when Redis PING and MongoDB `ping`
 * both answer within the timeout, else 503 naming the one that did not (for load balancers and
 * operators; no details that would help an attacker).
 *
 * GET /healthz/detail (when `detail` is given), for operators behind the same access as /metrics:
 * the same checks, then per queue the jobs waiting and the age of the oldest, the last successful
 * call to each platform by any process, the Zalo token's expiry and this process's heartbeat.
 * Times, counts and flags only: no secret, no personal data. docs/observability.md.
 */
export function healthzRoute(deps: {
  redis: RedisClient;
  log: Logger;
  timeoutMs?: number;
  detail?: HealthDetailDeps;
}): FastifyPluginAsync {
  const timeout = deps.timeoutMs ?? 1500;
  return (app) => {
    app.get('/healthz', async (_req, reply) => {
      const { redis, mongodb } = await probeHealth(deps.redis, timeout);
      const ok = redis === 'ok' && mongodb === 'ok';
      if (!ok) deps.log.warn({ redis, mongodb }, 'health check failed');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', redis, mongodb });
    });
    const detail = deps.detail;
    if (detail)
      app.get('/healthz/detail', async (req, reply) => {
        const access = await detail.auth.check(req, { allowToken: true });
        if (!access.ok) return refuseOperator(reply, access);
        const now = Date.now();
        const { redis, mongodb } = await probeHealth(deps.redis, timeout);
        const ok = redis === 'ok' && mongodb === 'ok';
        const [queues, platforms, zaloToken, heartbeat] = await Promise.all([
          redis === 'ok' ? detail.catalogue.lag(now).catch(() => null) : null,
          redis === 'ok' ? readPlatformSuccess(deps.redis, detail.prefix).catch(() => null) : null,
          mongodb === 'ok' ? zaloTokenState(detail.env.ZALO_APP_ID, now) : null,
          detail.heartbeat ? detail.heartbeat() : null,
        ]);
        return reply
          .status(ok ? 200 : 503)
          .header('cache-control', 'no-store')
          .send({
            status: ok ? 'ok' : 'unavailable',
            checkedAt: new Date(now).toISOString(),
            redis,
            mongodb,
            queues,
            platforms: {
              telegram: platformLine(Boolean(detail.env.TELEGRAM_BOT_TOKEN), platforms?.telegram, now),
              zalo: platformLine(Boolean(detail.env.ZALO_APP_ID), platforms?.zalo, now),
            },
            zaloToken,
            heartbeat: heartbeat
              ? heartbeat.ok
                ? { fresh: true }
                : { fresh: false, reason: heartbeat.reason }
              : null,
          });
      });
    return Promise.resolve();
  };
}
