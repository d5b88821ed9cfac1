import type { FastifyReply, FastifyRequest } from 'fastify';

/** The answer of one in-process API call. */
export interface ApiAnswer<T = unknown> {
  status: number;
  /** Parsed JSON (the API's error shape on a refusal), or null for a non-JSON answer. */
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
  raw: Buffer;
}

/** The API said 401: no session, or it ended. The page handler sends the person to sign in. */
export class SessionEnded extends Error {
  constructor() {
    super('session ended');
    this.name = 'SessionEnded';
  }
}

/**
 * The console's only way to data: a request to /api/v1 made in-process (fastify's inject: the
 * same routes, hooks, permission and scope checks as a request from outside), carrying the
 * caller's own cookie, address and CSRF token. So a page can never do what the person's role
 * could not do by API, and the console holds no model or query of its own.
 */
export class ConsoleApi {
  constructor(
    private readonly req: FastifyRequest,
    /** The session's CSRF token, sent on state-changing calls (the API checks it). */
    private readonly csrf: string | null = null,
  ) {}

  async call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: { query?: Record<string, string | undefined>; body?: unknown; csrf?: string | null } = {},
  ): Promise<ApiAnswer<T>> {
    const url = new URL(`/api/v1${path}`, 'http://console.invalid');
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const headers: Record<string, string> = { 'user-agent': 'hailong-console' };
    if (this.req.headers.cookie) headers.cookie = this.req.headers.cookie;
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.req.server.inject({
      method,
      url: url.pathname + url.search,
      headers,
      // The caller's own address: sign-in throttling and audit lines see the person, not us.
      remoteAddress: this.req.ip,
      ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
    });
    const type = String(res.headers['content-type'] ?? '');
    const body = (type.includes('application/json') && res.body ? JSON.parse(res.body) : null) as T;
    return { status: res.statusCode, body, headers: res.headers, raw: res.rawPayload };
  }

  /** A read that must succeed: 401 becomes SessionEnded, any other refusal an ApiRefused. */
  async get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const r = await this.call<T>('GET', path, { query });
    if (r.status === 401) throw new SessionEnded();
    if (r.status >= 400) throw new ApiRefused(r.status, r.body as ApiErrorBody);
    return r.body;
  }
}

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: Array<{ path: string; in: string; message: string }>;
}

/** The API refused a read the page needed (403, 404, 422): shown to the person as the API worded it. */
export class ApiRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody | null,
  ) {
    super(body?.message ?? `API answered ${status}`);
    this.name = 'ApiRefused';
  }
}

/** Passes the API's Set-Cookie (sign-in, sign-out, new session after a password change) to the browser. */
export function forwardCookies(answer: ApiAnswer, reply: FastifyReply): void {
  const c = answer.headers['set-cookie'];
  if (typeof c === 'string' || Array.isArray(c)) void reply.header('set-cookie', c);
}

/** The API words its messages "Vietnamese / English": the half in the person's language. */
export function apiText(message: string | null | undefined, lang: 'vi' | 'en'): string {
  if (!message) return '';
  const i = message.indexOf(' / ');
  if (i < 0) return message;
  return lang === 'vi' ? message.slice(0, i) : message.slice(i + 3);
}

/** The API's 422 details by field (`newPassword` → its message), for errors next to their field. */
export function fieldErrors(body: ApiErrorBody | null, lang: 'vi' | 'en'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of body?.details ?? []) out[d.path] ??= apiText(d.message, lang);
  return out;
}
