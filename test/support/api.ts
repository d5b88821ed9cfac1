import { SEED_UNITS } from '../../cli/seed-data/units';
import { Accounts } from '../../lib/auth/accounts';
import { SessionStore } from '../../lib/auth/sessions';
import { Unit } from '../../models/unit';
import type { UserRole } from '../../models/user';
import type { TestApp } from './app';

/** A password the policy accepts (long, not common, no username in it). */
export const GOOD_PASSWORD = 'Sông Hương núi Ngự 1/7/2025';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  // The answers of many routes are read in tests; their shapes are checked against the OpenAPI schemas.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

/**
 * A client of /api/v1 as the console (a cookie jar of one session cookie and the CSRF token)
 * or as a machine (a Bearer key).
 */
export class ApiClient {
  cookie: string | null = null;
  csrf: string | null = null;
  password: string | null = null;

  constructor(
    readonly baseUrl: string,
    readonly bearer: string | null = null,
  ) {}

  async login(username: string, password: string): Promise<ApiResponse> {
    const r = await this.request('POST', '/api/v1/auth/login', { body: { username, password } });
    if (r.status === 200) this.password = password;
    return r;
  }

  async request(
    method: string,
    path: string,
    opts: {
      body?: unknown;
      query?: Record<string, string>;
      csrf?: boolean;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse> {
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (this.csrf && opts.csrf !== false && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const res = await fetch(url, {
      method,
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = (pair ?? '').split('=');
      if (!name?.endsWith('hl_session')) continue;
      this.cookie = value ? `${name}=${value}` : null;
    }
    // ignoreBOM keeps a byte-order mark in the text, so a test can see that a CSV starts with one.
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
    const json = (res.headers.get('content-type') ?? '').includes('application/json');
    const body: unknown = json && text ? JSON.parse(text) : text;
    if (json && body && typeof body === 'object' && 'csrfToken' in body) this.csrf = String(body.csrfToken);
    return { status: res.status, headers: res.headers, body, text };
  }

  get(path: string, query?: Record<string, string>): Promise<ApiResponse> {
    return this.request('GET', path, query ? { query } : {});
  }

  post(path: string, body: unknown = {}): Promise<ApiResponse> {
    return this.request('POST', path, { body });
  }
}

/** The Quảng Điền units of the seed data: province 46, district 477 and its communes, the four units of 1/7/2025. */
export async function seedUnits(): Promise<void> {
  await Unit.bulkWrite(
    SEED_UNITS.map((u) => ({
      updateOne: { filter: { code: u.code }, update: { $set: { ...u } }, upsert: true },
    })),
  );
}

/** The app's account service (the same Redis and prefix as the app's sessions). */
export function accountsOf(t: TestApp): Accounts {
  return new Accounts(
    new SessionStore(t.app.ctx.redis, t.app.ctx.prefix, { idleMs: 60_000, maxMs: 3_600_000 }),
  );
}

export async function createUser(
  t: TestApp,
  username: string,
  role: UserRole,
  unitCodes: string[] = [],
  password = GOOD_PASSWORD,
): Promise<void> {
  await accountsOf(t).create({ username, password, role, unitCodes }, { actor: 'test' });
}

/** A client signed in as a new account of this role and these units. */
export async function signedIn(
  t: TestApp,
  username: string,
  role: UserRole,
  unitCodes: string[] = [],
): Promise<ApiClient> {
  await createUser(t, username, role, unitCodes);
  const client = new ApiClient(t.baseUrl);
  const r = await client.login(username, GOOD_PASSWORD);
  if (r.status !== 200) throw new Error(`login of ${username} failed: ${r.status} ${r.text}`);
  return client;
}
