import { key, type RedisClient } from '../../lib/redis';

/**
 * The per-citizen cooldown for invitations that have no contact record to claim (Zalo ZNS goes
 * by phone): one Redis key per phone hash, `<prefix>:inv:phone:<hash>` = the dossier code, that
 * lives for INVITE_COOLDOWN_DAYS. SET NX makes the claim atomic across workers (a MongoDB
 * conditional update is not, on FerretDB). Only the keyed hash is in the key, never the number.
 */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export class PhoneInviteClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(phoneHash: string): string {
    return key(this.prefix, 'inv', 'phone', phoneHash);
  }

  /** True when another dossier of this phone claimed an invitation within the cooldown. */
  async heldByOther(phoneHash: string, dossierCode: string): Promise<boolean> {
    const holder = await this.redis.get(this.key(phoneHash));
    return holder !== null && holder !== dossierCode;
  }

  /** Claims the phone for this dossier (a retry of the same dossier keeps its claim). */
  async claim(phoneHash: string, dossierCode: string, ttlSeconds: number): Promise<boolean> {
    if (ttlSeconds <= 0) return true;
    const set = await this.redis.set(this.key(phoneHash), dossierCode, 'EX', Math.ceil(ttlSeconds), 'NX');
    if (set === 'OK') return true;
    return (await this.redis.get(this.key(phoneHash))) === dossierCode;
  }

  /**
   * Claims every hash of one phone (its hash under each key of a key change), or none: a hash
   * held by another dossier gives back what this call took. Two dossiers racing may both give
   * up (no invitation this time); they never both win.
   */
  async claimEvery(
    phoneHashes: readonly string[],
    dossierCode: string,
    ttlSeconds: number,
  ): Promise<boolean> {
    const taken: string[] = [];
    for (const h of phoneHashes) {
      if (!(await this.claim(h, dossierCode, ttlSeconds))) {
        await this.releaseEvery(taken, dossierCode);
        return false;
      }
      taken.push(h);
    }
    return true;
  }

  async releaseEvery(phoneHashes: readonly string[], dossierCode: string): Promise<void> {
    for (const h of phoneHashes) await this.release(h, dossierCode);
  }

  /** Erasure (privacy/erase.ts): the hash leaves the live state too. Returns keys deleted. */
  async forget(phoneHash: string): Promise<number> {
    return this.redis.del(this.key(phoneHash));
  }

  /** Gives the claim back (nothing was sent), only if this dossier holds it. */
  async release(phoneHash: string, dossierCode: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(phoneHash), dossierCode);
  }
}
