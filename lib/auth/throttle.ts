import { createHash } from 'node:crypto';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { key, type RedisClient } from '../redis';

export interface ThrottleLimits {
  maxFailsPerUser: number;
  maxFailsPerIp: number;
  windowS: number;
}

/**
 * Failed sign-ins counted per username and per client address in Redis (rate-limiter-flexible's
 * atomic counters), so every process sees the same counts. A counter lives for the window from
 * its first failure; the failure that reaches the limit locks that username or address for a
 * whole window from then. Usernames are counted by their SHA-256, so a password typed into the
 * username field is not kept in Redis.
 */
export class LoginThrottle {
  private readonly byUser: RateLimiterRedis;
  private readonly byIp: RateLimiterRedis;

  constructor(
    redis: RedisClient,
    prefix: string,
    private readonly limits: ThrottleLimits,
  ) {
    const common = { storeClient: redis, duration: limits.windowS };
    this.byUser = new RateLimiterRedis({
      ...common,
      keyPrefix: key(prefix, 'auth', 'fail', 'user'),
      points: limits.maxFailsPerUser,
    });
    this.byIp = new RateLimiterRedis({
      ...common,
      keyPrefix: key(prefix, 'auth', 'fail', 'ip'),
      points: limits.maxFailsPerIp,
    });
  }

  private static userKey(username: string): string {
    return createHash('sha256').update(username.trim().toLowerCase(), 'utf8').digest('hex');
  }

  /** How long (ms) sign-in stays refused for this username or address; 0 when it may be tried. */
  async waitMs(username: string, ip: string): Promise<number> {
    const [u, a] = await Promise.all([this.byUser.get(LoginThrottle.userKey(username)), this.byIp.get(ip)]);
    const wait = (res: typeof u, points: number) =>
      res && res.consumedPoints >= points ? res.msBeforeNext : 0;
    return Math.max(wait(u, this.limits.maxFailsPerUser), wait(a, this.limits.maxFailsPerIp));
  }

  /** Counts a failure; returns how long (ms) sign-in is now refused (0 while under the limits). */
  async failed(username: string, ip: string): Promise<number> {
    const count = async (limiter: RateLimiterRedis, k: string, points: number): Promise<number> => {
      const res = await limiter.penalty(k, 1);
      if (res.consumedPoints < points) return 0;
      await limiter.block(k, this.limits.windowS);
      return this.limits.windowS * 1000;
    };
    const [u, a] = await Promise.all([
      count(this.byUser, LoginThrottle.userKey(username), this.limits.maxFailsPerUser),
      count(this.byIp, ip, this.limits.maxFailsPerIp),
    ]);
    return Math.max(u, a);
  }

  /** A successful sign-in forgets the username's failures (the address keeps its own). */
  async succeeded(username: string): Promise<void> {
    await this.byUser.delete(LoginThrottle.userKey(username));
  }
}

/** The Vietnamese (then English) answer to a throttled sign-in, with the time to wait. */
export function throttledMessage(waitMs: number): string {
  const minutes = Math.max(1, Math.ceil(waitMs / 60_000));
  return (
    `Ông/Bà đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ${minutes} phút. / ` +
    `Too many failed sign-ins: try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`
  );
}
