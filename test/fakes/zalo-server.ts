import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  invalidBusinessTemplateField,
  invalidCsField,
  invalidGetlistField,
  invalidQuotaField,
  invalidTemplateField,
  invalidUserDetailField,
  zaloPhone,
} from './zalo-requests';

/**
 * A fake Zalo platform on 127.0.0.1, built from docs/platform-limits.md: the OA send endpoints
 * (cs, template), the business template-by-phone endpoint, user detail/getlist, quota, OAuth v4
 * (PKCE checked, refresh tokens rotated and single-use), any error code on demand (HTTP 200 +
 * `error`), and signed webhooks with Zalo's retries (`num_retry`), echoing `oa_send_*`.
 * Request bodies are validated as documented (./zalo-requests.ts: -201 `<field> is invalid!`);
 * an optional per-app rate limit answers -32 beyond it, with Zalo's X-RateLimit-* headers.
 */
export type FakeEndpoint =
  'cs' | 'template' | 'business_template' | 'quota' | 'user_detail' | 'getlist' | 'access_token';

export interface FakeSent {
  endpoint: 'cs' | 'template' | 'business_template';
  body: Record<string, unknown>;
  messageId: string;
  /** When the fake accepted it (its own clock, ms): rate checks. */
  at: number;
}

export interface FakeZaloOptions {
  appId?: string;
  appSecret?: string;
  oaSecretKey?: string;
  oaId?: string;
  accessTtlS?: number;
  /** Zalo's retry schedule is 30 s, 5 m, 15 m, 30 m, 1 h; tests scale it down. */
  retryDelaysMs?: number[];
  /** Delay of the token endpoint, to widen refresh races. */
  tokenDelayMs?: number;
  /**
   * Zalo's per-app limit (4000/min, docs/platform-limits.md) scaled down: a sliding window over every API
   * request (not OAuth); a request finding `max` admitted ones within the last `windowMs` gets -32.
   */
  rateLimit?: { max: number; windowMs: number };
}

/**
 * What failNext injects: a Zalo error code (HTTP 200 + `error`), a raw HTTP answer (5xx, not
 * JSON), or a timeout (the request held `hangMs`, then its connection closed without an answer).
 */
export type FakeFailure = number | { http: number; body: string } | { hangMs: number };

const PATHS: Record<string, FakeEndpoint> = {
  'POST /v3.0/oa/message/cs': 'cs',
  'POST /v3.0/oa/message/template': 'template',
  'POST /message/template': 'business_template',
  'POST /v3.0/oa/quota/message': 'quota',
  'GET /v3.0/oa/user/detail': 'user_detail',
  'GET /v3.0/oa/user/getlist': 'getlist',
  'POST /v4/oa/access_token': 'access_token',
};

export class FakeZaloServer {
  readonly appId: string;
  readonly appSecret: string;
  readonly oaSecretKey: string;
  readonly oaId: string;
  url = '';
  readonly sent: FakeSent[] = [];
  refreshCalls = 0;
  /** Webhook URL for `oa_send_*` echoes of every successful CS send. */
  echoUrl: string | null = null;
  /** user id → last interaction (epoch ms) for the quota pre-flight. */
  readonly lastInteraction = new Map<string, number>();
  /** Phones that have no Zalo account (-118). */
  readonly phonesWithoutZalo = new Set<string>();
  readonly followers: string[] = [];
  readonly webhookLog: Array<{ status: number; numRetry: number }> = [];
  /** Arrival time (fake's clock, ms) of every API request (not OAuth), -32 answers included. */
  readonly requestTimes: number[] = [];
  /** API requests answered -32 by the fake's own rate limit. */
  rateLimited = 0;
  /** Every error code the fake answered (HTTP 200 + `error`), in order: which refusal a retry followed. */
  readonly errorsAnswered: Array<{ endpoint: FakeEndpoint; code: number }> = [];
  /** Requests refused with -201, with the field named: a test can expect none. */
  readonly invalid: Array<{ endpoint: FakeEndpoint; field: string }> = [];
  /** user id → what they shared through Zalo's form (user_submit_info), for user/detail. */
  readonly sharedInfo = new Map<string, { name: string; phone: string }>();

  private server: http.Server | null = null;
  private readonly failures = new Map<FakeEndpoint, FakeFailure[]>();
  /** Admission times inside the rate-limit window (a -32 answer uses no slot). */
  private readonly admitted: number[] = [];
  private readonly access = new Map<string, { expired: boolean; refresh: string }>();
  private readonly refresh = new Set<string>();
  private readonly codes = new Map<string, { challenge: string; used: boolean }>();
  private seq = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly opts: FakeZaloOptions = {}) {
    this.appId = opts.appId ?? '360846524940903967';
    this.appSecret = opts.appSecret ?? 'fake-app-secret';
    this.oaSecretKey = opts.oaSecretKey ?? 'fake-oa-secret-key';
    this.oaId = opts.oaId ?? '388613280878808645';
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      // A bug of the fake is printed and answered 500, instead of hanging the request until its timeout.
      this.route(req, res).catch((err: Error) => {
        console.error('fake Zalo server failed', err);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake zalo: ${err.message}`);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A valid token pair, as if an operator had just connected the OA. */
  issuePair(): { accessToken: string; refreshToken: string; expiresIn: number } {
    const accessToken = `AT-${randomBytes(9).toString('hex')}`;
    const refreshToken = `RT-${randomBytes(9).toString('hex')}`;
    this.access.set(accessToken, { expired: false, refresh: refreshToken });
    this.refresh.add(refreshToken);
    return { accessToken, refreshToken, expiresIn: this.opts.accessTtlS ?? 90_000 };
  }

  isValidAccess(token: string): boolean {
    const a = this.access.get(token);
    return a !== undefined && !a.expired;
  }

  /** Every current access token now answers -220 (expired). */
  expireAccessTokens(): void {
    for (const a of this.access.values()) a.expired = true;
  }

  /**
   * The next `times` calls of `endpoint` answer HTTP 200 with `error: code`, or with the raw
   * HTTP status and body given (`{ http: 502, body: 'Bad Gateway' }`).
   */
  /** For `ms` from now, calls of `endpoints` (default every API endpoint, not OAuth) answer `failures` in turn. */
  failFor(ms: number, failures: FakeFailure[], endpoints?: FakeEndpoint[]): void {
    if (failures.length === 0) throw new Error('failFor: no failure');
    this.outage = {
      until: Date.now() + ms,
      failures,
      endpoints: endpoints ? new Set(endpoints) : null,
      n: 0,
    };
  }

  /** The outage in force (failFor). */
  outage: { until: number; failures: FakeFailure[]; endpoints: Set<FakeEndpoint> | null; n: number } | null =
    null;

  failNext(endpoint: FakeEndpoint, failure: FakeFailure, times = 1): void {
    const list = this.failures.get(endpoint) ?? [];
    for (let i = 0; i < times; i++) list.push(failure);
    this.failures.set(endpoint, list);
  }

  csTo(userId: string): Array<Record<string, unknown>> {
    return this.sent
      .filter((s) => s.endpoint === 'cs' && (s.body.recipient as { user_id?: string }).user_id === userId)
      .map((s) => s.body.message as Record<string, unknown>);
  }

  // --- webhooks -------------------------------------------------------------------------------

  /** Body, timestamp and headers of a signed webhook, as Zalo would send it. */
  sign(
    event: Record<string, unknown>,
    opts: { timestamp?: number; secret?: string } = {},
  ): { body: string; headers: Record<string, string> } {
    const timestamp = String(opts.timestamp ?? Date.now());
    const body = JSON.stringify({ app_id: this.appId, ...event, timestamp });
    const mac = createHash('sha256')
      .update(this.appId + body + timestamp + (opts.secret ?? this.oaSecretKey))
      .digest('hex');
    return { body, headers: { 'content-type': 'application/json', 'x-zevent-signature': `mac=${mac}` } };
  }

  /**
   * Delivers a signed event; unless it gets a 200 within 2 s, retries on the (scaled) schedule
   * with `num_retry`. Resolves with every status seen (0 = no answer in time).
   */
  async deliver(
    url: string,
    event: Record<string, unknown>,
    opts: { timestamp?: number } = {},
  ): Promise<number[]> {
    const signed = this.sign(event, opts);
    const delays = this.opts.retryDelaysMs ?? [30_000, 300_000, 900_000, 1_800_000, 3_600_000];
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, delays[attempt - 1]));
      const status = await this.post(url, signed.body, {
        ...signed.headers,
        ...(attempt > 0 ? { num_retry: String(attempt) } : {}),
      });
      statuses.push(status);
      this.webhookLog.push({ status, numRetry: attempt });
      if (status === 200) break;
    }
    return statuses;
  }

  /** Sends the exact same signed request again (what a retry or a replay looks like). */
  async post(url: string, body: string, headers: Record<string, string>): Promise<number> {
    try {
      const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  textEvent(userId: string, text: string, msgId?: string): Record<string, unknown> {
    return {
      event_name: 'user_send_text',
      sender: { id: userId },
      user_id_by_app: `app-${userId}`,
      recipient: { id: this.oaId },
      message: { text, msg_id: msgId ?? `msg${++this.seq}${randomBytes(6).toString('hex')}` },
    };
  }

  followEvent(userId: string, name: 'follow' | 'unfollow' = 'follow'): Record<string, unknown> {
    return {
      event_name: name,
      oa_id: this.oaId,
      follower: { id: userId },
      user_id_by_app: `app-${userId}`,
      source: 'testing',
    };
  }

  /**
   * The user filled in the OA's request-info form (`info{name,phone:"84…"}`). From
   * now on user/detail returns it as `shared_info`, as Zalo does.
   */
  submitInfoEvent(userId: string, info: { name: string; phone: string }): Record<string, unknown> {
    const shared = { name: info.name, phone: zaloPhone(info.phone) };
    this.sharedInfo.set(userId, shared);
    return {
      event_name: 'user_submit_info',
      sender: { id: userId },
      user_id_by_app: `app-${userId}`,
      recipient: { id: this.oaId },
      info: shared,
    };
  }

  /**
   * A rating-template answer (`user_feedback`). Field names as our parser reads them
   * (bot/channels/zalo/inbound.ts): `message.msg_id` is the template message's id,
   * `tracking_id` the one given to a by-phone send; their names beyond the event are UNCONFIRMED.
   */
  feedbackEvent(
    userId: string,
    f: { msgId?: string; trackingId?: string; rate: number; note?: string },
  ): Record<string, unknown> {
    return {
      event_name: 'user_feedback',
      sender: { id: userId },
      user_id_by_app: `app-${userId}`,
      recipient: { id: this.oaId },
      message: {
        ...(f.msgId !== undefined ? { msg_id: f.msgId } : {}),
        ...(f.trackingId !== undefined ? { tracking_id: f.trackingId } : {}),
        rate: f.rate,
        ...(f.note !== undefined ? { note: f.note } : {}),
      },
    };
  }

  // --- HTTP -----------------------------------------------------------------------------------

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://fake');
    let limitHeaders: Record<string, string> = {};
    const endpoint: FakeEndpoint | undefined = PATHS[`${req.method} ${u.pathname}`];
    const send = (
      status: number,
      body: unknown,
      headers: Record<string, string> = { 'content-type': 'application/json' },
    ) => {
      const code = (body as { error?: unknown } | null)?.error;
      if (endpoint && typeof code === 'number' && code !== 0) this.errorsAnswered.push({ endpoint, code });
      res.writeHead(status, { ...headers, ...limitHeaders });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method === 'GET' && u.pathname === '/v4/oa/permission') return this.permission(u, send);
    if (!endpoint) return send(404, { error: 404, message: 'not found' });
    const at = Date.now();
    if (endpoint !== 'access_token') {
      this.requestTimes.push(at);
      const limit = this.opts.rateLimit;
      if (limit) {
        const admitted = this.admit(at, limit);
        limitHeaders = {
          'X-RateLimit-Limit': String(limit.max),
          'X-RateLimit-Remain': String(limit.max - this.admitted.length),
        };
        if (!admitted) {
          this.rateLimited++;
          return send(200, { error: -32, message: 'Your application reached limit call api' });
        }
      }
    }
    const o = this.outage;
    const inOutage =
      o !== null &&
      Date.now() < o.until &&
      endpoint !== 'access_token' &&
      (o.endpoints === null || o.endpoints.has(endpoint));
    const failure = inOutage ? o.failures[o.n++ % o.failures.length] : this.failures.get(endpoint)?.shift();
    if (typeof failure === 'number') return send(200, { error: failure, message: `fake error ${failure}` });
    if (failure && 'hangMs' in failure) {
      await new Promise((r) => setTimeout(r, failure.hangMs).unref());
      return void req.socket.destroy();
    }
    if (failure) return send(failure.http, failure.body, { 'content-type': 'text/html' });
    if (endpoint === 'access_token') return this.token(req, raw, send);

    // The business (ZNS) API names a bad or expired token -124; the OA API -216/-220.
    const token = String(req.headers.access_token ?? '');
    const a = this.access.get(token);
    if (endpoint === 'business_template' && (!a || a.expired))
      return send(200, { error: -124, message: 'Access token is invalid' });
    if (!a) return send(200, { error: -216, message: 'Access token is invalid' });
    if (a.expired) return send(200, { error: -220, message: 'access_token is expired or removed' });

    const invalid = (field: string) => {
      this.invalid.push({ endpoint, field });
      send(200, { error: -201, message: `${field} is invalid!` });
    };
    const body = parseObject(raw || '{}');
    if (!body) return invalid('body');
    const query = parseObject(u.searchParams.get('data') ?? '{}');
    if (!query) return invalid('data');
    switch (endpoint) {
      case 'cs': {
        const field = invalidCsField(body);
        if (field) return invalid(field);
        const userId = (body.recipient as { user_id: string }).user_id;
        const messageId = `mid${++this.seq}`;
        this.sent.push({ endpoint, body, messageId, at });
        if (this.echoUrl)
          this.track(
            this.deliver(this.echoUrl, this.echo(userId, body.message as Record<string, unknown>, messageId)),
          );
        return send(200, {
          error: 0,
          message: 'Success',
          data: { message_id: messageId, user_id: userId, sent_time: String(Date.now()) },
        });
      }
      case 'template': {
        const field = invalidTemplateField(body);
        if (field) return invalid(field);
        const messageId = `mid${++this.seq}`;
        this.sent.push({ endpoint, body, messageId, at });
        return send(200, {
          error: 0,
          message: 'Success',
          data: { message_id: messageId, user_id: body.user_id, sent_time: String(Date.now()) },
        });
      }
      case 'business_template': {
        const phone = String(body.phone ?? '');
        if (!/^84\d{9,10}$/.test(phone))
          return send(200, { error: -108, message: 'Phone number is invalid' });
        const field = invalidBusinessTemplateField(body);
        if (field) return invalid(field);
        if (this.phonesWithoutZalo.has(phone))
          return send(200, { error: -118, message: 'Zalo account is not existed' });
        const messageId = `zns${++this.seq}`;
        this.sent.push({ endpoint, body, messageId, at });
        return send(200, {
          error: 0,
          message: 'Success',
          data: {
            msg_id: messageId,
            sent_time: String(Date.now()),
            quota: { dailyQuota: '500', remainingQuota: '499' },
          },
        });
      }
      case 'quota': {
        const field = invalidQuotaField(body);
        if (field) return invalid(field);
        const last = this.lastInteraction.get(String(body.user_id));
        return send(200, {
          error: 0,
          message: 'Success',
          data: { last_interaction: last ?? 0, cs_reply: { remain: '8', total: '8' } },
        });
      }
      case 'user_detail': {
        const field = invalidUserDetailField(query);
        if (field) return invalid(field);
        const id = String(query.user_id);
        const shared = this.sharedInfo.get(id) ?? null;
        return send(200, {
          error: 0,
          message: 'Success',
          data: {
            user_id: id,
            display_name: 'Người dùng',
            user_is_follower: this.followers.includes(id),
            user_last_interaction_date: '01/01/2026',
            shared_info: shared,
          },
        });
      }
      case 'getlist': {
        const field = invalidGetlistField(query);
        if (field) return invalid(field);
        const offset = query.offset as number;
        const users = this.followers
          .slice(offset, offset + (query.count as number))
          .map((user_id) => ({ user_id }));
        return send(200, {
          error: 0,
          message: 'Success',
          data: { total: this.followers.length, count: users.length, offset, users },
        });
      }
    }
  }

  /** Sliding window: true (and counted) when fewer than `max` were admitted in the last `windowMs`. */
  private admit(at: number, limit: { max: number; windowMs: number }): boolean {
    let old = 0;
    while (old < this.admitted.length && this.admitted[old]! <= at - limit.windowMs) old++;
    this.admitted.splice(0, old);
    if (this.admitted.length >= limit.max) return false;
    this.admitted.push(at);
    return true;
  }

  /** The `oa_send_*` event Zalo sends back for a CS message we sent. */
  private echo(userId: string, message: Record<string, unknown>, messageId: string): Record<string, unknown> {
    const payload = (message.attachment as { payload?: { template_type?: string } } | undefined)?.payload;
    return {
      event_name: payload?.template_type === 'media' ? 'oa_send_image' : 'oa_send_text',
      sender: { id: this.oaId },
      recipient: { id: userId },
      message: { text: typeof message.text === 'string' ? message.text : '', msg_id: messageId },
    };
  }

  private permission(u: URL, send: (s: number, b: unknown, h?: Record<string, string>) => void): void {
    const redirect = u.searchParams.get('redirect_uri');
    const challenge = u.searchParams.get('code_challenge');
    if (u.searchParams.get('app_id') !== this.appId || !redirect || !challenge)
      return send(400, { error: -14003, message: 'invalid request' });
    const code = `CODE-${randomBytes(9).toString('hex')}`;
    this.codes.set(code, { challenge, used: false });
    const to = new URL(redirect);
    to.searchParams.set('code', code);
    to.searchParams.set('oa_id', this.oaId);
    to.searchParams.set('state', u.searchParams.get('state') ?? '');
    send(302, '', { location: to.toString() });
  }

  private async token(
    req: http.IncomingMessage,
    raw: string,
    send: (s: number, b: unknown) => void,
  ): Promise<void> {
    if (this.opts.tokenDelayMs) await new Promise((r) => setTimeout(r, this.opts.tokenDelayMs));
    if (req.headers.secret_key !== this.appSecret)
      return send(200, { error: -14002, error_name: 'Invalid secret key' });
    const form = new URLSearchParams(raw);
    if (form.get('app_id') !== this.appId) return send(200, { error: -14001, error_name: 'Invalid app id' });
    if (form.get('grant_type') === 'authorization_code') {
      const c = this.codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      if (!c || c.used) return send(200, { error: -14019, error_name: 'Invalid authorization code' });
      c.used = true;
      if (createHash('sha256').update(verifier).digest('base64url') !== c.challenge)
        return send(200, { error: -14016, error_name: 'Invalid code verifier' });
      const p = this.issuePair();
      return send(200, {
        access_token: p.accessToken,
        refresh_token: p.refreshToken,
        expires_in: String(p.expiresIn),
      });
    }
    if (form.get('grant_type') === 'refresh_token') {
      this.refreshCalls++;
      const rt = form.get('refresh_token') ?? '';
      if (!this.refresh.has(rt)) return send(200, { error: -14014, error_name: 'Invalid refresh token' });
      // Single use: the old refresh token and the access token issued with it die now.
      this.refresh.delete(rt);
      for (const [at, a] of this.access) if (a.refresh === rt) this.access.delete(at);
      const p = this.issuePair();
      return send(200, {
        access_token: p.accessToken,
        refresh_token: p.refreshToken,
        expires_in: String(p.expiresIn),
      });
    }
    send(200, { error: -14000, error_name: 'Invalid grant type' });
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

/** A JSON object, or null for anything else (malformed, an array, a scalar). */
function parseObject(raw: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
