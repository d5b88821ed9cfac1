import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorAuth } from './operator-auth';
import type { QueueCatalogue } from './queue-catalogue';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';
/**
 * bull-board's page is a React app of its own files: without a policy of its own it would get
 * DEFAULT_CSP (security-headers.ts), which loads nothing, and stay on "Loading". Its scripts, API
 * calls and images are same-origin; its toasts add a <style> element, so styles may be inline.
 * The Google Fonts link of its page stays refused (nothing leaves for another site; the system
 * font is used).
 */
export const QUEUE_DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
/** The console's sign-in page (bot/http/console), which comes back here after. */
const SIGN_IN = `/admin/login?next=${encodeURIComponent(QUEUE_DASHBOARD_PATH)}`;

/** A page request (the browser navigating), not the dashboard's own API calls or its assets. */
function wantsPage(req: FastifyRequest): boolean {
  const path = req.url.split('?')[0] ?? '';
  return req.method === 'GET' && !path.startsWith(`${QUEUE_DASHBOARD_PATH}/api/`) && !/\.\w+$/.test(path);
}

async function refuse(req: FastifyRequest, reply: FastifyReply, status: 401 | 403): Promise<FastifyReply> {
  if (status === 401 && wantsPage(req)) return reply.redirect(SIGN_IN, 303);
  return reply.status(status).send({
    error: status === 401 ? 'unauthorized' : 'forbidden',
    message:
      status === 401
        ? 'Cần đăng nhập với vai trò quản trị. / Sign in as an admin.'
        : 'Chỉ dành cho quản trị viên. / Admins only.',
  });
}

/**
 * The queue dashboard (bull-board) at /admin/queues: every queue under the configured prefix,
 * their jobs, retries and failures. Admins only, by their signed-in session (the API's session
 * cookie): a browser without one is sent to the console's sign-in, a request of the dashboard's
 * API gets 401, another role 403. The metrics token does not open it: it can retry and remove
 * jobs. A state-changing request from another origin is refused (the cookie is SameSite=Strict
 * already). Encapsulated: its hook, views and static files apply under /admin/queues only.
 */
export function queueDashboard(deps: {
  auth: OperatorAuth;
  catalogue: QueueCatalogue;
  publicUrl: string;
}): FastifyPluginAsync {
  const origin = new URL(deps.publicUrl).origin;
  return async (app) => {
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
    createBullBoard({
      queues: deps.catalogue.queues.map((q) => new BullMQAdapter(q)),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Hài Lòng: hàng đợi' } },
    });
    app.addHook('onRequest', async (req, reply) => {
      const session = await deps.auth.adminSession(req);
      if (session === 'none') return refuse(req, reply, 401);
      if (session === 'not_admin') return refuse(req, reply, 403);
      if (
        req.method !== 'GET' &&
        req.method !== 'HEAD' &&
        req.headers.origin &&
        req.headers.origin !== origin
      )
        return refuse(req, reply, 403);
      void reply.header('cache-control', 'no-store');
      void reply.header('content-security-policy', QUEUE_DASHBOARD_CSP);
    });
    await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
  };
}
