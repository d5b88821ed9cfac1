import { randomBytes } from 'node:crypto';
import { key, type RedisClient } from '../../../lib/redis';
import { codeChallenge, createCodeVerifier, permissionUrl } from './oauth';

/**
 * Step one of connecting the OA (OAuth v4 + PKCE): a verifier kept in Redis for the code's
 * lifetime (10 min), keyed by a random `state` that the callback must bring back.
 */
const PKCE_TTL_S = 600;

export function zaloRedirectUri(publicUrl: string): string {
  return new URL('/oauth/zalo/callback', publicUrl).toString();
}

export async function startZaloConnect(opts: {
  redis: RedisClient;
  prefix: string;
  oauthRoot: string;
  appId: string;
  redirectUri: string;
}): Promise<{ url: string; state: string }> {
  const verifier = createCodeVerifier();
  const state = randomBytes(16).toString('base64url');
  await opts.redis.set(key(opts.prefix, 'zalo', 'pkce', state), verifier, 'EX', PKCE_TTL_S);
  return {
    url: permissionUrl(opts.oauthRoot, {
      appId: opts.appId,
      redirectUri: opts.redirectUri,
      challenge: codeChallenge(verifier),
      state,
    }),
    state,
  };
}

/** The verifier for `state`, usable once. */
export async function takeZaloVerifier(
  redis: RedisClient,
  prefix: string,
  state: string,
): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(state)) return null;
  return redis.getdel(key(prefix, 'zalo', 'pkce', state));
}
