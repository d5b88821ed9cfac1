import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { AppContext } from '../../lib/app-context';
import { apiPlugin } from '../../bot/http/api/plugin';
import { defineRoute, type ApiRoute } from '../../bot/http/api/route';
import { API_ROUTES } from '../../bot/http/api/routes';
import { createHttpServer } from '../../bot/http/server';
import { parseEnv } from '../../config/env';
import { createApiKey } from '../../lib/api-auth';
import { logger } from '../../lib/logger';
import { ApiClient, GOOD_PASSWORD, seedUnits } from '../support/api';
import { Accounts } from '../../lib/auth/accounts';
import { SessionStore } from '../../lib/auth/sessions';
import { clearPrefix, connectTestDb, dropTestDb, redisUrl, testPrefix, testRedis } from '../support/services';

/**
 * The framework itself, on routes made for the test: what it checks before a handler runs, what
 * it refuses after, and the one error shape.
 */
let redis: Redis;
let ctx: AppContext;
let server: FastifyInstance;
let base: string;
const calls: string[] = [];

const thing = z.object({ unit: z.string(), n: z.number() });
const testRoutes: ApiRoute[] = [
  ...API_ROUTES.filter((r) => r.id === 'auth.login'),
  defineRoute({
    id: 'things.byUnit',
    method: 'GET',
    path: '/things',
    summary: 'a unit-scoped read',
    tag: 'test',
    auth: 'any',
    permission: 'indices:read',
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query: z.object({ unit: z.string(), n: z.coerce.number().int().min(1) }),
    response: thing,
    handler: async ({ query, unit }) => {
      calls.push(`byUnit:${unit}`);
      return { unit: unit!, n: query.n };
    },
  }),
  defineRoute({
    id: 'things.forgetful',
    method: 'GET',
    path: '/forgetful',
    summary: 'a list route that forgets its scope',
    tag: 'test',
    auth: 'any',
    permission: 'indices:read',
    scope: { kind: 'list' },
    response: z.object({ all: z.boolean() }),
    handler: async () => ({ all: true }),
  }),
  defineRoute({
    id: 'things.badResponse',
    method: 'GET',
    path: '/bad-response',
    summary: 'answers what its schema does not allow',
    tag: 'test',
    auth: 'any',
    permission: 'indices:read',
    scope: { kind: 'global', why: 'test' },
    response: thing,
    handler: async () => ({ unit: 42 }) as unknown as z.output<typeof thing>,
  }),
  defineRoute({
    id: 'things.write',
    method: 'POST',
    path: '/things',
    summary: 'a write open to keys and officials',
    tag: 'test',
    auth: 'any',
    permission: 'indices:read',
    scope: { kind: 'unit', in: 'body', field: 'unit' },
    body: z.object({ unit: z.string(), n: z.number().int() }),
    status: 201,
    response: thing,
    handler: async ({ body }) => {
      calls.push(`write:${body.unit}`);
      return body;
    },
  }),
];

beforeAll(async () => {
  await connectTestDb('apiframework');
  await seedUnits();
  redis = testRedis();
  const prefix = testPrefix('apiframework');
  ctx = {
    env: parseEnv({ NODE_ENV: 'test', REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, LOG_LEVEL: 'silent' }),
    log: logger,
    redis,
    prefix,
  };
  server = createHttpServer({ bodyLimit: 4096 });
  await server.register(apiPlugin({ ctx, routes: testRoutes }));
  base = await server.listen({ port: 0, host: '127.0.0.1' });
  const accounts = new Accounts(new SessionStore(redis, prefix, { idleMs: 60_000, maxMs: 60_000 }));
  await accounts.create(
    { username: 'canbo.dandien', password: GOOD_PASSWORD, role: 'unit', unitCodes: ['QD-DAN-DIEN'] },
    { actor: 'test' },
  );
});
afterAll(async () => {
  await server.close();
  await clearPrefix(redis, ctx.prefix);
  await redis.quit();
  await dropTestDb();
});
beforeEach(() => void calls.splice(0));

async function official(): Promise<ApiClient> {
  const c = new ApiClient(base);
  expect((await c.login('canbo.dandien', GOOD_PASSWORD)).status).toBe(200);
  return c;
}

test('a unit outside the caller’s scope answers 404 before the handler runs; a unit merged into its own is inside', async () => {
  const c = await official();
  const out = await c.get('/api/v1/things', { unit: '19867', n: '1' });
  expect(out.status).toBe(404);
  expect(out.body).toEqual({ error: 'not_found', message: 'Không tìm thấy. / Not found.' });
  const absorbed = await c.get('/api/v1/things', { unit: '19870', n: '2' });
  expect(absorbed.status).toBe(200);
  expect(absorbed.body).toEqual({ unit: '19870', n: 2 });
  expect(calls).toEqual(['byUnit:19870']);
});

test('422 names each offending field with its place; a stranger gets 401 before any validation', async () => {
  const c = await official();
  const r = await c.get('/api/v1/things', { n: '0' });
  expect(r.status).toBe(422);
  expect(r.body.error).toBe('invalid_request');
  expect(r.body.details).toEqual([
    { path: 'unit', in: 'query', message: expect.any(String) },
    { path: 'n', in: 'query', message: expect.any(String) },
  ]);
  const stranger = await new ApiClient(base).get('/api/v1/things', { n: '0' });
  expect(stranger.status).toBe(401);
  expect(stranger.headers.get('www-authenticate')).toBe('Bearer');
});

test('a handler that answers without consulting its scope fails with 500, not with data', async () => {
  const c = await official();
  const r = await c.get('/api/v1/forgetful');
  expect(r.status).toBe(500);
  expect(r.body).toEqual({ error: 'internal', message: 'Lỗi hệ thống. / Internal error.' });
});

test('a response that does not match its schema is refused (500), never sent', async () => {
  const c = await official();
  const r = await c.get('/api/v1/bad-response');
  expect(r.status).toBe(500);
  expect(r.text).not.toContain('42');
});

test('writes: the cookie needs the CSRF token, a Bearer key does not; the body’s unit is scoped too', async () => {
  const c = await official();
  const noToken = await c.request('POST', '/api/v1/things', { body: { unit: '19870', n: 1 }, csrf: false });
  expect(noToken.status).toBe(403);
  expect(noToken.body.error).toBe('csrf_failed');
  expect((await c.post('/api/v1/things', { unit: '19870', n: 1 })).status).toBe(201);
  expect((await c.post('/api/v1/things', { unit: '19867', n: 1 })).status).toBe(404);

  const key = await createApiKey({ name: 'Một cửa Đan Điền', unitCodes: ['QD-DAN-DIEN'] });
  const machine = new ApiClient(base, key.key);
  expect((await machine.post('/api/v1/things', { unit: '19876', n: 3 })).status).toBe(201);
  expect((await machine.post('/api/v1/things', { unit: '19867', n: 3 })).status).toBe(404);
  expect(calls).toEqual(['write:19870', 'write:19876']);
});

test('malformed JSON, a wrong content type and a body over the limit get the same error shape', async () => {
  const c = await official();
  const headers = { cookie: c.cookie!, 'x-csrf-token': c.csrf! };
  const post = (body: string, type: string) =>
    fetch(`${base}/api/v1/things`, { method: 'POST', headers: { ...headers, 'content-type': type }, body });
  const malformed = await post('{"unit":', 'application/json');
  expect(malformed.status).toBe(400);
  expect(await malformed.json()).toMatchObject({ error: 'bad_request' });
  const form = await post('unit=19870&n=1', 'application/x-www-form-urlencoded');
  expect(form.status).toBe(415);
  expect(await form.json()).toMatchObject({ error: 'unsupported_media_type' });
  const big = await post(JSON.stringify({ unit: '19870', n: 1, pad: 'x'.repeat(5000) }), 'application/json');
  expect(big.status).toBe(413);
  expect(await big.json()).toMatchObject({ error: 'body_too_large' });
  expect(calls).toEqual([]);
});

test('a table with a route lacking a scope rule stops the server from starting', async () => {
  const broken = {
    ...testRoutes[1]!,
    id: 'things.noScope',
    path: '/no-scope',
    scope: undefined,
  } as unknown as ApiRoute;
  const s = createHttpServer({ bodyLimit: 4096 });
  await expect(s.register(apiPlugin({ ctx, routes: [broken] }))).rejects.toThrow(
    'route things.noScope (GET /no-scope): no scope rule',
  );
  await s.close();
});
