import { randomBytes } from 'node:crypto';
import { key, type RedisClient } from '../../../lib/redis';
import type { Logger } from '../../../lib/logger';
import { ZaloToken } from '../../../models/zalo-token';
import { ZaloApiError, ZaloTokenError } from './errors';
import type { ZaloOAuthClient, ZaloTokenPair } from './oauth';
import { decryptSecret, encryptSecret, type SecretKeyRing } from '../../../lib/secret-box';

/** Who needs an access token: the API client. `renew` is called after Zalo rejected `rejected`. */
export interface ZaloTokenProvider {
  getAccessToken(): Promise<string>;
  renew(rejected: string): Promise<string>;
}

export interface ZaloRefreshFailure {
  appId: string;
  /** Error message without any token. */
  error: string;
  /** True when Zalo refused the refresh token: nothing works until an operator reconnects. */
  permanent: boolean;
}

export interface ZaloTokenStoreOptions {
  appId: string;
  secretsKey: SecretKeyRing;
  redis: RedisClient;
  prefix: string;
  oauth: Pick<ZaloOAuthClient, 'refresh'>;
  log: Logger;
  /** Refresh when the access token expires within this many ms. */
  refreshAheadMs: number;
  /** Pages a human (wired to Telegram admins by the app). Called after the error is logged. */
  onRefreshFailed?: (failure: ZaloRefreshFailure) => void | Promise<void>;
  /** Longer than one refresh call (10 s timeout), so the lock never expires mid-refresh. */
  lockTtlMs?: number;
  /** How long a process waits for another one's refresh before giving up. */
  waitMs?: number;
  /** Decrypted token kept in memory this long, to spare a database read per send. */
  cacheMs?: number;
  now?: () => number;
}

interface Current {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  version: number;
  failedAt: Date | null;
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Zalo tokens, encrypted in MongoDB, refreshed by exactly one process at a time (a Redis lock);
 * the new pair is stored (compare-and-set on `version`) before anyone uses it, because the old
 * refresh token is dead the moment Zalo answers.
 */
export class ZaloTokenStore implements ZaloTokenProvider {
  private cache: (Current & { loadedAt: number }) | null = null;
  private readonly now: () => number;
  private readonly lockKey: string;

  constructor(private readonly opts: ZaloTokenStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.lockKey = key(opts.prefix, 'zalo', 'token-refresh', opts.appId);
  }

  /** Stores a pair obtained by an operator (set-token) or the OAuth callback. */
  async save(pair: ZaloTokenPair, oaId?: string | null): Promise<void> {
    await ZaloToken.updateOne(
      { appId: this.opts.appId },
      {
        $set: {
          ...this.sealed(pair),
          refreshedAt: new Date(this.now()),
          failedAt: null,
          failure: null,
          ...(oaId ? { oaId } : {}),
        },
        $inc: { version: 1 },
      },
      { upsert: true },
    );
    this.cache = null;
  }

  async getAccessToken(): Promise<string> {
    const cur = await this.current();
    if (!this.dueForRefresh(cur)) return cur.accessToken;
    return this.refresh(cur.accessToken);
  }

  async renew(rejected: string): Promise<string> {
    this.cache = null;
    return this.refresh(rejected);
  }

  async health(): Promise<{ healthy: boolean; reason?: string; expiresAt?: Date }> {
    const doc = await ZaloToken.findOne({ appId: this.opts.appId }).lean();
    if (!doc)
      return {
        healthy: false,
        reason: 'not connected: run `hailong zalo connect` or `hailong zalo set-token`',
      };
    if (doc.failedAt)
      return { healthy: false, reason: 'token refresh failed: reconnect the OA', expiresAt: doc.expiresAt };
    if (doc.expiresAt.getTime() <= this.now())
      return { healthy: false, reason: 'access token expired', expiresAt: doc.expiresAt };
    return { healthy: true, expiresAt: doc.expiresAt };
  }

  private dueForRefresh(cur: Current): boolean {
    return cur.expiresAt - this.now() <= this.opts.refreshAheadMs;
  }

  private async current(): Promise<Current> {
    if (this.cache && this.now() - this.cache.loadedAt < (this.opts.cacheMs ?? 5000)) return this.cache;
    const cur = await this.load();
    this.cache = { ...cur, loadedAt: this.now() };
    return cur;
  }

  private async load(): Promise<Current> {
    const doc = await ZaloToken.findOne({ appId: this.opts.appId }).lean();
    if (!doc) throw new ZaloTokenError('Zalo is not connected: no token stored');
    const aad = this.opts.appId;
    return {
      accessToken: decryptSecret(this.opts.secretsKey, doc.accessTokenEnc, aad),
      refreshToken: decryptSecret(this.opts.secretsKey, doc.refreshTokenEnc, aad),
      expiresAt: doc.expiresAt.getTime(),
      version: doc.version,
      failedAt: doc.failedAt ?? null,
    };
  }

  private sealed(pair: ZaloTokenPair) {
    const aad = this.opts.appId;
    return {
      accessTokenEnc: encryptSecret(this.opts.secretsKey, pair.accessToken, aad),
      refreshTokenEnc: encryptSecret(this.opts.secretsKey, pair.refreshToken, aad),
      expiresAt: new Date(this.now() + pair.expiresIn * 1000),
    };
  }

  /** Refreshes unless another process already replaced `seen`; waits for a refresh in progress. */
  private async refresh(seen: string): Promise<string> {
    const lockTtl = this.opts.lockTtlMs ?? 30_000;
    const deadline = this.now() + (this.opts.waitMs ?? lockTtl + 5000);
    for (;;) {
      const lockValue = randomBytes(12).toString('hex');
      const got = await this.opts.redis.set(this.lockKey, lockValue, 'PX', lockTtl, 'NX');
      if (got === 'OK') {
        try {
          return await this.refreshLocked(seen);
        } finally {
          await this.opts.redis.eval(RELEASE, 1, this.lockKey, lockValue);
        }
      }
      await sleep(50);
      const cur = await this.load();
      if (cur.accessToken !== seen && !this.dueForRefresh(cur)) {
        this.cache = { ...cur, loadedAt: this.now() };
        return cur.accessToken;
      }
      if (this.now() > deadline)
        throw new ZaloTokenError('timed out waiting for another process to refresh the Zalo token');
    }
  }

  private async refreshLocked(seen: string): Promise<string> {
    const cur = await this.load();
    if (cur.accessToken !== seen && !this.dueForRefresh(cur)) {
      this.cache = { ...cur, loadedAt: this.now() };
      return cur.accessToken;
    }
    let pair: ZaloTokenPair;
    try {
      pair = await this.opts.oauth.refresh(cur.refreshToken);
    } catch (err) {
      await this.failed(err);
      throw err;
    }
    const res = await ZaloToken.updateOne(
      { appId: this.opts.appId, version: cur.version },
      {
        $set: { ...this.sealed(pair), refreshedAt: new Date(this.now()), failedAt: null, failure: null },
        $inc: { version: 1 },
      },
    );
    if (res.modifiedCount !== 1) {
      // Someone stored a pair without the lock (an operator's set-token): theirs wins.
      this.opts.log.error(
        { appId: this.opts.appId },
        'zalo token changed during refresh; keeping the stored pair',
      );
      const stored = await this.load();
      this.cache = { ...stored, loadedAt: this.now() };
      return stored.accessToken;
    }
    this.opts.log.info({ appId: this.opts.appId, version: cur.version + 1 }, 'zalo token refreshed');
    this.cache = null;
    return pair.accessToken;
  }

  private async failed(err: unknown): Promise<void> {
    const permanent = err instanceof ZaloApiError;
    const message = err instanceof Error ? err.message : String(err);
    if (permanent) {
      await ZaloToken.updateOne(
        { appId: this.opts.appId },
        { $set: { failedAt: new Date(this.now()), failure: message } },
      );
    }
    this.cache = null;
    this.opts.log.error(
      { appId: this.opts.appId, permanent, err: message },
      'zalo token refresh failed: admins alerted',
    );
    try {
      await this.opts.onRefreshFailed?.({ appId: this.opts.appId, error: message, permanent });
    } catch (hookErr) {
      this.opts.log.error(
        { appId: this.opts.appId, err: (hookErr as Error).message },
        'zalo refresh alert hook failed',
      );
    }
  }
}
