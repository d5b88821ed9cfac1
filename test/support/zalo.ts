import type { Redis } from 'ioredis';
import { logger } from '../../lib/logger';
import { ZaloClient } from '../../bot/channels/zalo/client';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { ZaloRateLimiter, type ZaloRateLimiterOptions } from '../../bot/channels/zalo/rate-limiter';
import { parseSecretsKey } from '../../bot/channels/zalo/token-crypto';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
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
