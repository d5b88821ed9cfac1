import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../../lib/app-context';
import { createWorkerConnection, type RedisClient } from '../../../lib/redis';
import type { JobObserver, RunningWorkers } from '../../../workers/runner';
import type { AnswerSink, ConversationHooks } from '../../conversation/ports';
import type { InboundEvent, TurnReply } from '../channel';
import { ZaloClient } from './client';
import { createZaloFeedbackRecorder } from './feedback';
import { ZaloInboundQueue } from './inbound-queue';
import { startZaloInboundWorker } from './inbound-worker';
import { ZaloOAuthClient } from './oauth';
import { zaloOAuthRoute } from './oauth-route';
import { ZaloProactiveSender } from './proactive';
import { ZaloRateLimiter } from './rate-limiter';
import { parseSecretsKey } from '../../../lib/secret-box';
import { keepZaloTokenFresh } from './token-keeper';
import { ZaloTokenStore, type ZaloRefreshFailure } from './token-store';
import { zaloWebhookRoute } from './webhook-route';

export interface ZaloChannel {
  client: ZaloClient;
  tokens: ZaloTokenStore;
  oauth: ZaloOAuthClient;
  limiter: ZaloRateLimiter;
  proactive: ZaloProactiveSender;
  queue: ZaloInboundQueue;
  /** Register on the HTTP server: POST /webhooks/zalo and GET /oauth/zalo/callback. */
  routes: FastifyPluginAsync;
  /**
   * The inbound queue's worker, in a process with the `bot` role; `createConnection` makes its
   * blocking (worker) connection, closed with it.
   */
  startWorker(
    createConnection: () => RedisClient,
    opts?: { concurrency?: number; observe?: JobObserver },
  ): Promise<RunningWorkers>;
  /** Refreshes the token ahead of expiry even without traffic (./token-keeper.ts); stopped by close(). */
  startTokenKeeper(everyMs?: number): void;
  health(): Promise<{ healthy: boolean; reason?: string }>;
  close(): Promise<void>;
}

export interface ZaloChannelDeps {
  conversation: { handle(e: InboundEvent): Promise<TurnReply> };
  /** Where rating-template answers go (the same sink as chat answers). */
  sink?: AnswerSink;
  /** What a completed survey triggers (outreach's hooks): a rating completes its dossier's survey too. */
  hooks?: Pick<ConversationHooks, 'onFinished'>;
  /** Pages admins (e.g. a Telegram message) when a token refresh fails. */
  onRefreshFailed?: (f: ZaloRefreshFailure) => void | Promise<void>;
}

/** Builds the Zalo channel from the app context; throws when the Zalo variables are missing. */
export function createZaloChannel(ctx: AppContext, deps: ZaloChannelDeps): ZaloChannel {
  const e = ctx.env;
  const missing = (['ZALO_APP_ID', 'ZALO_APP_SECRET', 'ZALO_OA_SECRET_KEY', 'SECRETS_KEY'] as const).filter(
    (k) => !e[k],
  );
  if (missing.length > 0) throw new Error(`Zalo channel needs ${missing.join(', ')}`);
  const appId = e.ZALO_APP_ID!;
  const oauth = new ZaloOAuthClient({ oauthRoot: e.ZALO_OAUTH_ROOT, appId, appSecret: e.ZALO_APP_SECRET! });
  const tokens = new ZaloTokenStore({
    appId,
    secretsKey: parseSecretsKey(e.SECRETS_KEY, e.SECRETS_KEY_PREVIOUS),
    redis: ctx.redis,
    prefix: ctx.prefix,
    oauth,
    log: ctx.log,
    refreshAheadMs: e.ZALO_REFRESH_AHEAD_S * 1000,
    ...(deps.onRefreshFailed ? { onRefreshFailed: deps.onRefreshFailed } : {}),
  });
  const limiter = new ZaloRateLimiter({
    redis: ctx.redis,
    blockingConnection: () => createWorkerConnection(e),
    prefix: ctx.prefix,
    limit: e.ZALO_RATE_LIMIT_PER_MIN,
    log: ctx.log,
  });
  const client = new ZaloClient({
    apiRoot: e.ZALO_API_ROOT,
    businessApiRoot: e.ZALO_BUSINESS_API_ROOT,
    tokens,
    limiter,
  });
  const proactive = new ZaloProactiveSender({
    client,
    redis: ctx.redis,
    prefix: ctx.prefix,
    log: ctx.log,
    csWindowMs: e.ZALO_CS_WINDOW_H * 3600_000,
    ratingTemplateId: e.ZALO_RATING_TEMPLATE_ID,
    templateByUid: e.ZALO_TEMPLATE_BY_UID,
    templateMode: e.ZALO_TEMPLATE_MODE,
    templateParams: e.ZALO_RATING_TEMPLATE_PARAMS,
    quietHours: { start: e.QUIET_HOURS_START, end: e.QUIET_HOURS_END },
  });
  const queue = new ZaloInboundQueue(ctx.redis, ctx.prefix);
  const webhook = zaloWebhookRoute({
    appId,
    secret: e.ZALO_SIGNATURE_KEY === 'app_secret' ? e.ZALO_APP_SECRET! : e.ZALO_OA_SECRET_KEY!,
    timestampSource: e.ZALO_SIGNATURE_TIMESTAMP,
    maxAgeMs: e.ZALO_WEBHOOK_MAX_AGE_S * 1000,
    maxSkewMs: e.ZALO_WEBHOOK_MAX_SKEW_S * 1000,
    redis: ctx.redis,
    prefix: ctx.prefix,
    queue,
    phoneHashKey: e.PHONE_HASH_KEY,
    log: ctx.log,
  });
  const callback = zaloOAuthRoute({ redis: ctx.redis, prefix: ctx.prefix, oauth, tokens, log: ctx.log });
  const workers: Array<Promise<RunningWorkers>> = [];
  let keeper: { stop(): Promise<void> } | null = null;

  return {
    client,
    tokens,
    oauth,
    limiter,
    proactive,
    queue,
    routes: async (app) => {
      await app.register(webhook);
      await app.register(callback);
    },
    startWorker(createConnection, opts = {}) {
      const feedback = deps.sink
        ? createZaloFeedbackRecorder({
            sink: deps.sink,
            redis: ctx.redis,
            prefix: ctx.prefix,
            log: ctx.log,
            ...(deps.hooks ? { hooks: deps.hooks } : {}),
          })
        : undefined;
      const w = startZaloInboundWorker({
        ctx,
        producer: queue.producer,
        createConnection,
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        ...(opts.observe ? { observe: opts.observe } : {}),
        deps: {
          conversation: deps.conversation,
          client,
          redis: ctx.redis,
          prefix: ctx.prefix,
          log: ctx.log,
          phoneHashKey: e.PHONE_HASH_KEY,
          ...(feedback ? { feedback } : {}),
        },
      });
      workers.push(w);
      return w;
    },
    startTokenKeeper(everyMs) {
      keeper ??= keepZaloTokenFresh(tokens, ctx.log, everyMs);
    },
    health: () => tokens.health(),
    async close() {
      await keeper?.stop();
      await Promise.all(workers.map(async (w) => (await w.catch(() => null))?.close()));
      await queue.close();
      // Last: the outreach and broadcast workers (closed before this) send through it.
      await limiter.close();
    },
  };
}
