import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis as IORedis, type Redis } from 'ioredis';
import type { AppContext } from '../../lib/app-context';
import { parseEnv } from '../../config/env';
import { healthzRoute } from '../../bot/http/routes/healthz';
import { dossierRoutes } from '../../bot/http/routes/dossiers';
import { reportRoutes } from '../../bot/http/routes/reports';
import { surveyPageRoutes } from '../../bot/http/routes/survey-pages';
import { rateLimitsOf, type RateLimits } from '../../bot/http/rate-limit';
import { createHttpServer } from '../../bot/http/server';
import { createApiKey } from '../../lib/api-auth';
import { logger } from '../../lib/logger';
import { Unit } from '../../models/unit';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * Two HTTP servers built as app/start.ts builds them, each with its own Redis connection and the
 * same key prefix: two processes of one deployment.
 */
const env = parseEnv({ ...process.env, NODE_ENV: 'test' });
const LIMITS: RateLimits = { webPerAddress: 5, apiPerAddress: 12, dossiersPerKey: 4, reportsPerKey: 3 };
const prefix = testPrefix('ratelimit');
const servers: Array<{ app: FastifyInstance; redis: Redis; prefix: string }> = [];
let seq = 0;

async function server(limits: RateLimits, p = prefix): Promise<string> {
  const redis = testRedis();
  const ctx: AppContext = { env, log: logger, redis, prefix: p };
  const app = createHttpServer({
    bodyLimit: env.HTTP_BODY_LIMIT,
    rateLimits: { redis, prefix: p, limits, hashKey: env.PHONE_HASH_KEY },
  });
  await app.register(healthzRoute({ redis, log: logger }));
  await app.register(dossierRoutes({ ctx }));
  await app.register(reportRoutes({ ctx }));
  await app.register(surveyPageRoutes({ env }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  servers.push({ app, redis, prefix: p });
  return url;
}

let a: string;
let b: string;

beforeAll(async () => {
  await connectTestDb('ratelimit');
  await Unit.create({ code: 'U1', name: 'Xã Một', level: 'commune' });
  a = await server(LIMITS);
  b = await server(LIMITS);
});

afterAll(async () => {
  for (const s of servers) await s.app.close();
  for (const s of servers) {
    await clearPrefix(s.redis, s.prefix);
    s.redis.disconnect();
  }
  await dropTestDb();
});

/** The test client is on loopback, a trusted proxy: X-Forwarded-For is the client address. */
function get(base: string, path: string, from: string, headers: Record<string, string> = {}) {
  return fetch(base + path, { headers: { 'x-forwarded-for': from, ...headers } });
}

function postDossier(base: string, key: string, from: string) {
  seq++;
  return fetch(`${base}/api/v1/dossiers`, {
    method: 'POST',
    headers: { 'x-forwarded-for': from, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      code: `RL-${seq}-${randomBytes(2).toString('hex')}`,
      procedureCode: 'P1',
      unitCode: 'U1',
      channel: 'in_person',
      status: 'received',
    }),
  });
}

async function expectRefused(r: Response): Promise<void> {
  expect(r.status).toBe(429);
  const retryAfter = Number(r.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  const body = (await r.json()) as { error: string; message: string };
  expect(body.error).toBe('rate_limited');
  expect(body.message).toContain(`thử lại sau ${retryAfter} giây`);
  expect(body.message).toContain(`retry in ${retryAfter} s`);
}

test('a burst on the survey pages gets 429 with Retry-After, counted across both processes, per address', async () => {
  const qr = `/s/${'x'.repeat(32)}/qr.png`;
  const statuses: number[] = [];
  for (const base of [a, b, a, b, a]) statuses.push((await get(base, qr, '203.0.113.7')).status);
  // Unknown token: 404, but counted (guessing tokens is what the budget is for).
  expect(statuses).toEqual([404, 404, 404, 404, 404]);
  await expectRefused(await get(b, qr, '203.0.113.7'));
  await expectRefused(await get(a, `/s/${'y'.repeat(32)}/qr.svg`, '203.0.113.7'));
  // Another address, the API and routes outside the budgets are not affected.
  expect((await get(a, qr, '203.0.113.8')).status).toBe(404);
  expect((await get(a, '/api/v1/reports/cases?unit=U1&period=2025', '203.0.113.7')).status).toBe(401);
  for (let i = 0; i < 8; i++) expect((await get(b, '/healthz', '203.0.113.7')).status).toBe(200);
  // Counted under the prefix, by a keyed hash of the address: the address itself is not stored.
  const keys = await servers[0]!.redis.keys(`${prefix}:rl:*`);
  expect(keys.filter((k) => k.startsWith(`${prefix}:rl:web:addr:`))).toHaveLength(2);
  expect(keys.join(' ')).not.toContain('203.0.113');
});

test("a citizen's browser over the survey budget gets a page in Vietnamese saying when to come back, not JSON", async () => {
  // Any route under /s/ (this server has the QR pages; the web chat's page is counted the same way).
  const page = `/s/${'z'.repeat(32)}/qr.svg`;
  const html = { accept: 'text/html,application/xhtml+xml' };
  for (let i = 0; i < LIMITS.webPerAddress; i++) await get(a, page, '203.0.113.20', html);
  const res = await get(b, page, '203.0.113.20', html);
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  const body = await res.text();
  expect(body).toContain('<html lang="vi">');
  expect(body).toContain(`Xin Ông/Bà vui lòng thử lại sau khoảng ${res.headers.get('retry-after')} giây`);
});

test('a limiter whose Redis is down lets requests through instead of failing them', async () => {
  const dead = new IORedis('redis://127.0.0.1:1', {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  dead.on('error', () => undefined);
  const app = createHttpServer({
    bodyLimit: 1024,
    rateLimits: { redis: dead, prefix, limits: LIMITS, hashKey: env.PHONE_HASH_KEY },
  });
  await app.register(surveyPageRoutes({ env }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    for (let i = 0; i < LIMITS.webPerAddress + 2; i++)
      expect((await get(url, `/s/${'w'.repeat(32)}/qr.png`, '203.0.113.50')).status).toBe(404);
  } finally {
    await app.close();
    dead.disconnect();
  }
});

test("a key over its budget gets 429 while another key from the same address goes on; a key's budget is not spent by requests that fail authentication", async () => {
  const one = await createApiKey({ name: 'one-stop 1' });
  const two = await createApiKey({ name: 'one-stop 2' });
  const from = '198.51.100.20';
  // Someone naming key one's id with a wrong secret: refused, counted against their address only.
  for (let i = 0; i < 5; i++) {
    const forged = await postDossier(a, `hl_${one.keyId}_${'A'.repeat(43)}`, '192.0.2.66');
    expect(forged.status).toBe(401);
  }
  const statuses: number[] = [];
  for (const base of [a, b, a, b]) statuses.push((await postDossier(base, one.key, from)).status);
  expect(statuses).toEqual([201, 201, 201, 201]);
  await expectRefused(await postDossier(b, one.key, from));
  expect((await postDossier(a, two.key, from)).status).toBe(201);
  // Reports have their own budget per key.
  for (let i = 0; i < LIMITS.reportsPerKey; i++)
    expect(
      (
        await get(b, '/api/v1/reports/cases?unit=U1&period=2025', from, {
          authorization: `Bearer ${one.key}`,
        })
      ).status,
    ).toBe(200);
  await expectRefused(
    await get(a, '/api/v1/reports/cases?unit=U1&period=2025', from, { authorization: `Bearer ${one.key}` }),
  );
});

test('the address budget of the API holds across keys and processes, refused requests included', async () => {
  const from = '198.51.100.30';
  const keys = await Promise.all([1, 2, 3, 4].map((i) => createApiKey({ name: `k${i}` })));
  const statuses: number[] = [];
  // 12 requests: 3 per key (within each key's 4), alternating processes, and 1 with no key at all.
  for (let i = 0; i < 11; i++)
    statuses.push((await postDossier(i % 2 ? a : b, keys[i % 4]!.key, from)).status);
  statuses.push((await get(a, '/api/v1/reports/cases?unit=U1&period=2025', from)).status);
  expect(statuses).toEqual([...Array<number>(11).fill(201), 401]);
  await expectRefused(await postDossier(b, keys[3]!.key, from));
  expect((await postDossier(b, keys[3]!.key, '198.51.100.31')).status).toBe(201);
});

test("the default budgets refuse a burst of hundreds on the survey pages; a key's budget holds a one-stop burst of a thousand", async () => {
  const defaults = rateLimitsOf(env);
  expect(defaults.dossiersPerKey).toBeGreaterThanOrEqual(1000);
  expect(defaults.apiPerAddress).toBeGreaterThanOrEqual(defaults.dossiersPerKey);
  const c = await server(defaults, testPrefix('ratelimitdef'));
  const qr = `/s/${'z'.repeat(32)}/qr.svg`;
  let refused = 0;
  for (let i = 0; i < 400; i++) if ((await get(c, qr, '203.0.113.99')).status === 429) refused++;
  expect(refused).toBe(400 - defaults.webPerAddress);
});
