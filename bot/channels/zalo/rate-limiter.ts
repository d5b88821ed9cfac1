import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { key } from '../../../lib/redis';

/**
 * One limiter for every outbound Zalo request of every process (Zalo: 4000 requests/min per
 * app, -32 beyond). A sliding log in a Redis sorted set, checked and appended atomically by one
 * script, so processes never over-book a window. A -32 pauses everybody for a while.
 *
 * KEYS[1] log, KEYS[2] pause; ARGV: now ms, window ms, limit, member.
 * Returns 0 when a slot was taken, else the ms to wait.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local pause = redis.call('pttl', KEYS[2])
if pause > 0 then return pause end
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
if redis.call('zcard', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('zadd', KEYS[1], now, ARGV[4])
  redis.call('pexpire', KEYS[1], window)
  return 0
end
local oldest = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
`;

export interface ZaloRateLimiterOptions {
  redis: Redis;
  prefix: string;
  limit: number;
  windowMs?: number;
  /** Give up after waiting this long in total (the caller retries the job later). */
  maxWaitMs?: number;
  now?: () => number;
}

export class ZaloRateLimitedError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Zalo rate limit: retry in ${retryAfterMs} ms`);
    this.name = 'ZaloRateLimitedError';
  }
}

export class ZaloRateLimiter {
  private readonly logKey: string;
  private readonly pauseKey: string;
  private readonly now: () => number;

  constructor(private readonly opts: ZaloRateLimiterOptions) {
    this.logKey = key(opts.prefix, 'zalo', 'rl', 'log');
    this.pauseKey = key(opts.prefix, 'zalo', 'rl', 'pause');
    this.now = opts.now ?? Date.now;
  }

  /** Takes one request slot, waiting for one if needed; throws ZaloRateLimitedError past maxWaitMs. */
  async acquire(): Promise<void> {
    const started = this.now();
    const maxWait = this.opts.maxWaitMs ?? 10_000;
    for (;;) {
      const wait = await this.tryTake();
      if (wait === 0) return;
      const waited = this.now() - started;
      if (waited + wait > maxWait) throw new ZaloRateLimitedError(wait);
      await new Promise((r) => setTimeout(r, Math.min(wait, 1000)));
    }
  }

  /** 0 when a slot was taken, else how long to wait. */
  async tryTake(): Promise<number> {
    const member = `${this.now()}-${randomBytes(6).toString('hex')}`;
    const res = await this.opts.redis.eval(TAKE, 2, this.logKey, this.pauseKey, this.now(), this.opts.windowMs ?? 60_000, this.opts.limit, member);
    return Number(res);
  }

  /** After a -32: nobody sends for `ms`. */
  async pause(ms: number): Promise<void> {
    await this.opts.redis.set(this.pauseKey, '1', 'PX', Math.max(1, Math.round(ms)));
  }
}
