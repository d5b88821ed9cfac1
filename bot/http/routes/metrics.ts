import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { metrics, setQueueDepthSource } from '../../../lib/metrics';
import type { OperatorAccess, OperatorAuth } from '../operator-auth';
import type { QueueCatalogue } from '../queue-catalogue';

/** The refusal of an operators' endpoint: 401 asks for the bearer token, 403 is a signed-in non-admin. */
export async function refuseOperator(
  reply: FastifyReply,
  access: Extract<OperatorAccess, { ok: false }>,
): Promise<FastifyReply> {
  if (access.status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply
    .status(access.status)
    .send({ error: access.status === 401 ? 'unauthorized' : 'forbidden', message: access.reason });
}

/**
 * GET /metrics: the process's Prometheus metrics (lib/metrics.ts) in the text exposition format,
 * with the queue depth of every queue under the prefix read from Redis at scrape time. Access:
 * bot/http/operator-auth.ts (bearer METRICS_TOKEN or an admin session). docs/observability.md.
 */
export function metricsRoute(deps: { auth: OperatorAuth; catalogue: QueueCatalogue }): FastifyPluginAsync {
  return (app) => {
    setQueueDepthSource(() => deps.catalogue.depth());
    app.addHook('onClose', () => void setQueueDepthSource(null));
    app.get('/metrics', async (req, reply) => {
      const access = await deps.auth.check(req, { allowToken: true });
      if (!access.ok) return refuseOperator(reply, access);
      const body = await metrics.metrics();
      return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body);
    });
    return Promise.resolve();
  };
}
