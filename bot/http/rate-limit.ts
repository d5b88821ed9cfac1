import type { RedisClient } from '../../lib/redis';
import { createHmac } from 'node:crypto';
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Env } from '../../config/env';

/**
 * Request budgets per minute, counted in Redis under the prefix so that every process of the
 * deployment shares them (@fastify/rate-limit's Redis store on the producer connection):
 *  - per client address on the public survey and results pages (/s/..., /ket-qua...) and on the API (/api/v1/dossiers*,
 *    /api/v1/reports/*), counted before authentication, so refused requests count too;
 *  - per API key, counted once the key is authenticated (an unauthenticated client cannot spend
 *    someone else's budget by naming their key id): posting dossiers and reading reports apart.
 * The webhooks (Telegram, Zalo) are not limited: the platforms deliver in bursts from few addresses.
 * A refused request gets 429 with Retry-After. Addresses are keyed by a keyed hash, never stored.
 * 0 turns a budget off.
 */
export interface RateLimits {
  webPerAddress: number;
  apiPerAddress: number;
  dossiersPerKey: number;
  reportsPerKey: number;
}

export type KeyBudget = 'dossiers' | 'reports';

export interface RateLimitOptions {
  redis: RedisClient;
  prefix: string;
  limits: RateLimits;
  /** Keys the hash of client addresses (PHONE_HASH_KEY, domain-separated). */
  hashKey: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Counts one request of an authenticated key; true when it is over budget (429 sent). */
    limitApiKey(req: FastifyRequest, reply: FastifyReply, budget: KeyBudget, keyId: string): Promise<boolean>;
  }
}

const WINDOW_MS = 60_000;

export function rateLimitsOf(env: Env): RateLimits {
  return {
    webPerAddress: env.RATE_LIMIT_WEB_PER_MIN,
    apiPerAddress: env.RATE_LIMIT_API_PER_MIN,
    dossiersPerKey: env.RATE_LIMIT_DOSSIERS_PER_KEY_PER_MIN,
    reportsPerKey: env.RATE_LIMIT_REPORTS_PER_KEY_PER_MIN,
  };
}

/** Which address budget a route counts against, by its URL pattern; null for none. */
export function addressBudgetOf(url: string): 'web' | 'api' | null {
  // The web chat's script and style sheet: static, cached, and what the 429 page itself loads.
  if (url.startsWith('/s/assets/')) return null;
  if (url.startsWith('/s/') || url === '/ket-qua' || url.startsWith('/ket-qua/')) return 'web';
  if (url === '/api/v1/dossiers' || url.startsWith('/api/v1/dossiers/') || url.startsWith('/api/v1/reports/'))
    return 'api';
  return null;
}

function tooMany(retryAfterS: number): { error: string; message: string } {
  return {
    error: 'rate_limited',
    message: `Quá nhiều yêu cầu, xin vui lòng thử lại sau ${retryAfterS} giây. / Too many requests: retry in ${retryAfterS} s.`,
  };
}

/**
 * What a citizen's browser gets on the survey pages instead of JSON: a short page in the web
 * chat's own style that says when to come back (a one-stop shop's network is one address for
 * every citizen at its counters).
 */
function tooManyPage(retryAfterS: number): string {
  return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="${retryAfterS}">
<title>Xin vui lòng thử lại sau ít phút</title>
<link rel="stylesheet" href="/s/assets/chat.css">
</head>
<body>
<header><h1>Đánh giá mức độ hài lòng</h1></header>
<main id="chat"><div id="log">
<p class="msg bot">Hệ thống đang nhận nhiều yêu cầu từ cùng một mạng. Xin Ông/Bà vui lòng thử lại sau khoảng ${retryAfterS} giây; trang sẽ tự tải lại.</p>
<p class="msg bot" lang="en">Too many requests from this network. Please try again in about ${retryAfterS} seconds; the page reloads by itself.</p>
</div></main>
</body>
</html>`;
}

function wantsPage(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

/**
 * Installs the budgets on `app` (before its routes are added: an onRoute hook puts the address
 * check in front of the routes it covers) and decorates `limitApiKey`. Without options nothing is
 * limited and `limitApiKey` always admits.
 */
export function installRateLimits(app: FastifyInstance, opts: RateLimitOptions | null): void {
  if (!opts) {
    app.decorate('limitApiKey', () => Promise.resolve(false));
    return;
  }
  const { limits } = opts;
  // The plugin's limiter takes its key and maximum from the request: set just before each check.
  const pending = new WeakMap<FastifyRequest, { subject: string; max: number }>();
  void app.register(fastifyRateLimit, {
    global: false,
    redis: opts.redis,
    nameSpace: `${opts.prefix}:rl:`,
    timeWindow: WINDOW_MS,
    keyGenerator: (req) => pending.get(req)?.subject ?? 'none',
    max: (req) => pending.get(req)?.max ?? 0,
  });
  let check: ReturnType<FastifyInstance['createRateLimit']> | undefined;

  async function admit(
    req: FastifyRequest,
    reply: FastifyReply,
    subject: string,
    max: number,
    what: string,
  ): Promise<boolean> {
    if (max <= 0) return false;
    check ??= app.createRateLimit();
    pending.set(req, { subject, max });
    let result: Awaited<ReturnType<typeof check>>;
    try {
      result = await check(req);
    } catch (err) {
      // A limiter that cannot count must not take the service down with it.
      req.log.warn(
        { budget: what, err: (err as Error).message },
        'rate limit not checked: store unavailable',
      );
      return false;
    }
    if (result.isAllowed || !result.isExceeded) return false;
    const retryAfter = Math.max(1, result.ttlInSeconds);
    req.log.info({ route: req.routeOptions.url, budget: what, retryAfter }, 'request refused: rate limited');
    void reply.status(429).header('retry-after', String(retryAfter));
    if (what === 'web-address' && wantsPage(req)) {
      await reply
        .headers({
          'content-security-policy':
            "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-store',
        })
        .type('text/html; charset=utf-8')
        .send(tooManyPage(retryAfter));
    } else await reply.send(tooMany(retryAfter));
    return true;
  }

  const address = (req: FastifyRequest) =>
    createHmac('sha256', opts.hashKey)
      .update(`address:${normalizeIP(req.ip)}`)
      .digest('base64url')
      .slice(0, 22);
  const perAddress = (budget: 'web' | 'api', max: number): onRequestAsyncHookHandler =>
    async function rateLimitByAddress(req, reply) {
      if (await admit(req, reply, `${budget}:addr:${address(req)}`, max, `${budget}-address`)) return reply;
      return undefined;
    };
  const hooks = {
    web: perAddress('web', limits.webPerAddress),
    api: perAddress('api', limits.apiPerAddress),
  };
  app.addHook('onRoute', (route) => {
    const budget = addressBudgetOf(route.url);
    if (!budget) return;
    // First, before the route's own hooks (the API authenticates in onRequest): a request that
    // fails authentication must still be counted, or guessing keys and codes would be free.
    const existing = route.onRequest;
    route.onRequest = [hooks[budget], ...(existing ? [existing].flat() : [])];
  });

  app.decorate('limitApiKey', (req: FastifyRequest, reply: FastifyReply, budget: KeyBudget, keyId: string) =>
    admit(
      req,
      reply,
      `${budget}:key:${keyId}`,
      budget === 'dossiers' ? limits.dossiersPerKey : limits.reportsPerKey,
      `${budget}-key`,
    ),
  );
}
