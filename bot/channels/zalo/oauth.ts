import { createHash, randomBytes } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import { ZaloApiError, ZaloHttpError } from './errors';

/**
 * OAuth v4 for an Official Account (docs/platform-limits.md, "Zalo: OAuth v4"): PKCE without a
 * method parameter, a form-encoded token endpoint authenticated with the app secret in a
 * `secret_key` header, and token pairs whose refresh half works exactly once.
 */
export interface ZaloTokenPair {
  accessToken: string;
  refreshToken: string;
  /** Seconds (Zalo sends a string, "90000"). */
  expiresIn: number;
}

/** 43 characters of base64url: the shortest verifier RFC 7636 allows, as the PHP SDK does. */
export function createCodeVerifier(): string {
  return randomBytes(32).toString('base64url');
}

export function codeChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function permissionUrl(oauthRoot: string, opts: { appId: string; redirectUri: string; challenge: string; state: string }): string {
  const u = new URL('/v4/oa/permission', oauthRoot);
  u.searchParams.set('app_id', opts.appId);
  u.searchParams.set('redirect_uri', opts.redirectUri);
  u.searchParams.set('code_challenge', opts.challenge);
  u.searchParams.set('state', opts.state);
  return u.toString();
}

export class ZaloOAuthClient {
  private readonly http: AxiosInstance;
  constructor(private readonly opts: { oauthRoot: string; appId: string; appSecret: string; timeoutMs?: number }) {
    this.http = axios.create({ baseURL: opts.oauthRoot, timeout: opts.timeoutMs ?? 10_000, validateStatus: () => true });
  }

  exchangeCode(code: string, verifier: string): Promise<ZaloTokenPair> {
    return this.post({ code, app_id: this.opts.appId, grant_type: 'authorization_code', code_verifier: verifier });
  }

  refresh(refreshToken: string): Promise<ZaloTokenPair> {
    return this.post({ refresh_token: refreshToken, app_id: this.opts.appId, grant_type: 'refresh_token' });
  }

  private async post(form: Record<string, string>): Promise<ZaloTokenPair> {
    const endpoint = 'oauth/access_token';
    let res;
    try {
      res = await this.http.post('/v4/oa/access_token', new URLSearchParams(form).toString(), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', secret_key: this.opts.appSecret },
      });
    } catch (err) {
      throw new ZaloHttpError(endpoint, null, (err as Error).message);
    }
    if (res.status >= 500 || typeof res.data !== 'object' || res.data === null) {
      throw new ZaloHttpError(endpoint, res.status, 'unexpected answer');
    }
    const body = res.data as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; error?: unknown; error_name?: unknown; message?: unknown; error_description?: unknown };
    if (typeof body.access_token === 'string' && typeof body.refresh_token === 'string') {
      const expiresIn = Number(body.expires_in);
      return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 90_000 };
    }
    // No refresh-token error code is documented: any refusal without a pair is permanent.
    const code = typeof body.error === 'number' ? body.error : Number(body.error ?? -1);
    const description = String(body.error_description ?? body.message ?? body.error_name ?? 'no token in answer');
    throw new ZaloApiError(Number.isFinite(code) ? code : -1, endpoint, description);
  }
}
