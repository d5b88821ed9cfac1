import type { Redis } from 'ioredis';
import { logger } from '../../lib/logger';
import { ZaloClient } from '../../bot/channels/zalo/client';
import type { ZaloInboundQueue } from '../../bot/channels/zalo/inbound-queue';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { ZaloProactiveSender, type ZaloProactiveOptions } from '../../bot/channels/zalo/proactive';
import { ZaloRateLimiter, type ZaloRateLimiterOptions } from '../../bot/channels/zalo/rate-limiter';
import { parseSecretsKey } from '../../lib/secret-box';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
import { zaloWebhookRoute } from '../../bot/channels/zalo/webhook-route';
import type { FakeZaloServer } from '../fakes/zalo-server';
import { testRedis } from './services';

type LimiterOptions = Partial<Omit<ZaloRateLimiterOptions, 'redis' | 'prefix' | 'blockingConnection'>>;

/**
 * The shared Zalo limiter (a BullMQ queue with a global rate limit) as a test process builds it:
 * its own blocking connections to the test Redis. Close it in afterAll (`limiter.close()`).
 */
export function testZaloLimiter(redis: Redis, prefix: string, opts: LimiterOptions = {}): ZaloRateLimiter {
  return new ZaloRateLimiter({ redis, prefix, blockingConnection: testRedis, limit: 4000, ...opts });
}

/**
 * A Zalo client connected to a fake platform the way an operator leaves it after `hailong zalo
 * connect`: a fresh token pair stored encrypted, the shared limiter, the client. The caller
 * closes `limiter`.
 */
export async function connectedZaloClient(
  fake: FakeZaloServer,
  redis: Redis,
  prefix: string,
  opts: { secretsKey?: string; limiter?: LimiterOptions; rateLimitBackoffMs?: number } = {},
): Promise<{ client: ZaloClient; tokens: ZaloTokenStore; limiter: ZaloRateLimiter }> {
  const tokens = new ZaloTokenStore({
    appId: fake.appId,
    secretsKey: parseSecretsKey(opts.secretsKey ?? '33'.repeat(32)),
    redis,
    prefix,
    oauth: new ZaloOAuthClient({ oauthRoot: fake.url, appId: fake.appId, appSecret: fake.appSecret }),
    log: logger,
    refreshAheadMs: 0,
  });
  await tokens.save(fake.issuePair());
  const limiter = testZaloLimiter(redis, prefix, opts.limiter);
  const client = new ZaloClient({
    apiRoot: fake.url,
    businessApiRoot: fake.url,
    tokens,
    limiter,
    ...(opts.rateLimitBackoffMs ? { rateLimitBackoffMs: opts.rateLimitBackoffMs } : {}),
  });
  return { client, tokens, limiter };
}

/** POST /webhooks/zalo as production configures it, checking the fake's signatures (phone hash key 'k'). */
export function testZaloWebhookRoute(
  fake: FakeZaloServer,
  redis: Redis,
  prefix: string,
  queue: ZaloInboundQueue,
) {
  return zaloWebhookRoute({
    appId: fake.appId,
    secret: fake.oaSecretKey,
    timestampSource: 'body',
    maxAgeMs: 7200_000,
    maxSkewMs: 300_000,
    redis,
    prefix,
    queue,
    phoneHashKey: 'k',
    log: logger,
  });
}

/** The proactive sender with the rating template TPL-RATING, 7-day window, quiet hours 21:00–07:00. */
export function testZaloProactiveSender(
  client: ZaloClient,
  redis: Redis,
  prefix: string,
  opts: Pick<ZaloProactiveOptions, 'templateMode'> & { now: number },
): ZaloProactiveSender {
  return new ZaloProactiveSender({
    client,
    redis,
    prefix,
    log: logger,
    csWindowMs: 7 * 24 * 3600_000,
    ratingTemplateId: 'TPL-RATING',
    templateByUid: true,
    templateMode: opts.templateMode,
    templateParams: ['ma_ho_so=ma', 'ten_don_vi=donvi'],
    quietHours: { start: '21:00', end: '07:00' },
    now: () => opts.now,
  });
}
