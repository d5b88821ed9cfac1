import axios, { type AxiosInstance } from 'axios';
import { countPlatformCall } from '../../../lib/metrics';
import { ZaloApiError, ZaloHttpError } from './errors';
import type { ZaloRateLimiter } from './rate-limiter';
import type { ZaloTokenProvider } from './token-store';

/**
 * A small typed client for the OA Open API v3 and the business (ZBS/ZNS) template API, on axios.
 * Every request: takes a slot of the shared rate limiter, sends the bare `access_token` header,
 * reads `error` from an HTTP 200 body, refreshes and retries once on an expired token, and
 * pauses all Zalo traffic on -32.
 */

export type ZaloButton =
  | { title: string; type: 'oa.query.hide' | 'oa.query.show'; payload: string }
  | { title: string; type: 'oa.open.url'; payload: { url: string } }
  | { title: string; type: 'oa.open.phone'; payload: { phone_code: string } };

export type ZaloMessage =
  | { text: string }
  | { text: string; attachment: { type: 'template'; payload: { buttons: ZaloButton[] } } }
  | {
      text?: string;
      attachment: {
        type: 'template';
        payload: {
          template_type: 'media';
          elements: Array<{ media_type: 'image'; url?: string; attachment_id?: string }>;
        };
      };
    };

export interface ZaloSent {
  messageId: string;
}

export interface ZaloUserDetail {
  userId: string;
  displayName: string | null;
  isFollower: boolean;
  /** "DD/MM/YYYY" as Zalo sends it. */
  lastInteractionDate: string | null;
  sharedPhone: string | null;
}

export interface ZaloQuota {
  /** Epoch ms of the user's last interaction, null when Zalo does not say. */
  lastInteraction: number | null;
  csRemain: number | null;
}

export interface ZaloClientOptions {
  apiRoot: string;
  businessApiRoot: string;
  tokens: ZaloTokenProvider;
  limiter: Pick<ZaloRateLimiter, 'acquire' | 'pause'>;
  timeoutMs?: number;
  /** How long everybody stops after a -32 (no per-second limit is documented; the window is a minute). */
  rateLimitBackoffMs?: number;
}

interface Req {
  endpoint: string;
  method: 'GET' | 'POST';
  root: 'api' | 'business';
  path: string;
  data?: unknown;
  params?: Record<string, string>;
}

export class ZaloClient {
  private readonly api: AxiosInstance;
  private readonly business: AxiosInstance;

  constructor(private readonly opts: ZaloClientOptions) {
    const common = { timeout: opts.timeoutMs ?? 10_000, validateStatus: () => true };
    this.api = axios.create({ ...common, baseURL: opts.apiRoot });
    this.business = axios.create({ ...common, baseURL: opts.businessApiRoot });
  }

  async sendCs(userId: string, message: ZaloMessage): Promise<ZaloSent> {
    const data = await this.request<{ message_id?: unknown }>({
      endpoint: 'message/cs',
      method: 'POST',
      root: 'api',
      path: '/v3.0/oa/message/cs',
      data: { recipient: { user_id: userId }, message },
    });
    return { messageId: String(data?.message_id ?? '') };
  }

  sendText(userId: string, text: string): Promise<ZaloSent> {
    return this.sendCs(userId, { text });
  }

  sendImage(
    userId: string,
    image: { url?: string; attachmentId?: string },
    text?: string,
  ): Promise<ZaloSent> {
    const element = {
      media_type: 'image' as const,
      ...(image.url ? { url: image.url } : {}),
      ...(image.attachmentId ? { attachment_id: image.attachmentId } : {}),
    };
    return this.sendCs(userId, {
      ...(text ? { text } : {}),
      attachment: { type: 'template', payload: { template_type: 'media', elements: [element] } },
    });
  }

  async sendTemplateByUid(
    userId: string,
    templateId: string,
    templateData: Record<string, string>,
  ): Promise<ZaloSent> {
    const data = await this.request<{ message_id?: unknown }>({
      endpoint: 'message/template',
      method: 'POST',
      root: 'api',
      path: '/v3.0/oa/message/template',
      data: { user_id: userId, template_id: templateId, template_data: templateData },
    });
    return { messageId: String(data?.message_id ?? '') };
  }

  /** ZBS/ZNS by phone ("84…"); `development` mode reaches only app/OA admins. */
  async sendTemplateByPhone(
    phone: string,
    templateId: string,
    templateData: Record<string, string>,
    opts: { trackingId?: string; mode?: 'production' | 'development' } = {},
  ): Promise<ZaloSent> {
    const data = await this.request<{ msg_id?: unknown }>({
      endpoint: 'business/message/template',
      method: 'POST',
      root: 'business',
      path: '/message/template',
      data: {
        phone,
        template_id: templateId,
        template_data: templateData,
        ...(opts.trackingId ? { tracking_id: opts.trackingId.slice(0, 48) } : {}),
        ...(opts.mode === 'development' ? { mode: 'development' } : {}),
      },
    });
    return { messageId: String(data?.msg_id ?? '') };
  }

  async getUserDetail(userId: string): Promise<ZaloUserDetail> {
    const d = await this.request<Record<string, unknown>>({
      endpoint: 'user/detail',
      method: 'GET',
      root: 'api',
      path: '/v3.0/oa/user/detail',
      params: { data: JSON.stringify({ user_id: userId }) },
    });
    const shared = (d?.shared_info ?? null) as { phone?: unknown } | null;
    return {
      userId,
      displayName: typeof d?.display_name === 'string' ? d.display_name : null,
      isFollower: d?.user_is_follower === true,
      lastInteractionDate:
        typeof d?.user_last_interaction_date === 'string' ? d.user_last_interaction_date : null,
      sharedPhone: shared && typeof shared.phone === 'string' ? shared.phone : null,
    };
  }

  /** One page of followers (count ≤ 50); period TODAY|YESTERDAY|L7D|L30D|YYYY_MM_DD:YYYY_MM_DD. */
  async getFollowers(
    opts: { offset?: number; count?: number; lastInteractionPeriod?: string } = {},
  ): Promise<{ total: number; userIds: string[] }> {
    const query = {
      offset: opts.offset ?? 0,
      count: Math.min(opts.count ?? 50, 50),
      is_follower: true,
      ...(opts.lastInteractionPeriod ? { last_interaction_period: opts.lastInteractionPeriod } : {}),
    };
    const d = await this.request<{ total?: unknown; users?: Array<{ user_id?: unknown }> }>({
      endpoint: 'user/getlist',
      method: 'GET',
      root: 'api',
      path: '/v3.0/oa/user/getlist',
      params: { data: JSON.stringify(query) },
    });
    return {
      total: Number(d?.total ?? 0),
      userIds: (d?.users ?? []).map((u) => String(u.user_id ?? '')).filter((s) => s.length > 0),
    };
  }

  /** Pre-flight before a proactive send: when did this user last interact with the OA? */
  async getQuota(userId: string): Promise<ZaloQuota> {
    const d = await this.request<{ last_interaction?: unknown; cs_reply?: { remain?: unknown } }>({
      endpoint: 'quota/message',
      method: 'POST',
      root: 'api',
      path: '/v3.0/oa/quota/message',
      data: { user_id: userId },
    });
    const last = Number(d?.last_interaction);
    const remain = Number(d?.cs_reply?.remain);
    return {
      lastInteraction: Number.isFinite(last) && last > 0 ? last : null,
      csRemain: Number.isFinite(remain) ? remain : null,
    };
  }

  private async request<T>(req: Req): Promise<T | undefined> {
    let token = await this.opts.tokens.getAccessToken();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(req, token);
      } catch (err) {
        if (err instanceof ZaloApiError && err.reason === 'token_expired' && attempt === 0) {
          token = await this.opts.tokens.renew(token);
          continue;
        }
        if (err instanceof ZaloApiError && err.reason === 'rate_limited') {
          await this.opts.limiter.pause(this.opts.rateLimitBackoffMs ?? 60_000);
        }
        throw err;
      }
    }
  }

  /** One call, counted (lib/metrics.ts): every request of this client goes through here. */
  private async once<T>(req: Req, token: string): Promise<T | undefined> {
    await this.opts.limiter.acquire();
    try {
      const data = await this.call<T>(req, token);
      countPlatformCall('zalo', req.endpoint, null);
      return data;
    } catch (err) {
      const code =
        err instanceof ZaloApiError
          ? err.code
          : err instanceof ZaloHttpError
            ? (err.status ?? 'network')
            : 'network';
      countPlatformCall('zalo', req.endpoint, { code });
      throw err;
    }
  }

  private async call<T>(req: Req, token: string): Promise<T | undefined> {
    const http = req.root === 'api' ? this.api : this.business;
    let res;
    try {
      res = await http.request({
        method: req.method,
        url: req.path,
        headers: {
          access_token: token,
          ...(req.method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        ...(req.data !== undefined ? { data: req.data } : {}),
        ...(req.params ? { params: req.params } : {}),
      });
    } catch (err) {
      throw new ZaloHttpError(req.endpoint, null, (err as Error).message);
    }
    if (res.status === 429) throw new ZaloApiError(-32, req.endpoint, 'HTTP 429');
    if (res.status >= 400 || typeof res.data !== 'object' || res.data === null) {
      throw new ZaloHttpError(req.endpoint, res.status, 'unexpected answer');
    }
    const body = res.data as { error?: unknown; message?: unknown; data?: T };
    const code = Number(body.error ?? 0);
    if (code !== 0)
      throw new ZaloApiError(Number.isFinite(code) ? code : -1, req.endpoint, String(body.message ?? ''));
    return body.data;
  }
}
