import type { Redis } from 'ioredis';
import { ZaloRateLimiter, type ZaloRateLimiterOptions } from '../../bot/channels/zalo/rate-limiter';
import { testRedis } from './services';

/**
 * The shared Zalo limiter (a BullMQ queue with a global rate limit) as a test process builds it:
 * its own blocking connections to the test Redis. Close it in afterAll (`limiter.close()`).
 */
export function testZaloLimiter(
  redis: Redis,
  prefix: string,
  opts: Partial<Omit<ZaloRateLimiterOptions, 'redis' | 'prefix' | 'blockingConnection'>> = {},
): ZaloRateLimiter {
  return new ZaloRateLimiter({ redis, prefix, blockingConnection: testRedis, limit: 4000, ...opts });
}
