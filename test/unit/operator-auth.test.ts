import type { FastifyRequest } from 'fastify';
import { parseEnv, type Env } from '../../config/env';
import type { AppContext } from '../../lib/app-context';
import { logger } from '../../lib/logger';
import type { RedisClient } from '../../lib/redis';
import { operatorAuth, tokenMatches } from '../../bot/http/operator-auth';

const TOKEN = 'a-metrics-token-of-thirty-two-chars!';

/** No request here carries a session cookie, so the session store never reaches Redis. */
function authWith(env: Partial<Env>) {
  const ctx: AppContext = {
    env: { ...parseEnv({ NODE_ENV: 'test' }), ...env },
    log: logger,
    redis: {} as RedisClient,
    prefix: '{t}',
  };
  return operatorAuth(ctx);
}
const req = (headers: Record<string, string> = {}) => ({ headers }) as unknown as FastifyRequest;

test('compares tokens whatever their length, and only equal ones match', () => {
  expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
  expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
  expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
  expect(tokenMatches('', TOKEN)).toBe(false);
});

test('in production without METRICS_TOKEN nothing but an admin session opens the metrics', async () => {
  const auth = authWith({ NODE_ENV: 'production' });
  expect(await auth.check(req(), { allowToken: true })).toMatchObject({ ok: false, status: 401 });
  // No token is configured: no bearer value can match one.
  expect(await auth.check(req({ authorization: 'Bearer anything' }), { allowToken: true })).toMatchObject({
    ok: false,
    status: 401,
  });
});

test('METRICS_OPEN=true opens them in production when no token is set; a set token wins over it', async () => {
  expect(
    await authWith({ NODE_ENV: 'production', METRICS_OPEN: true }).check(req(), { allowToken: true }),
  ).toEqual({
    ok: true,
    via: 'open',
  });
  const tokened = authWith({ NODE_ENV: 'production', METRICS_OPEN: true, METRICS_TOKEN: TOKEN });
  expect(await tokened.check(req(), { allowToken: true })).toMatchObject({ ok: false, status: 401 });
  expect(await tokened.check(req({ authorization: `Bearer ${TOKEN}` }), { allowToken: true })).toEqual({
    ok: true,
    via: 'token',
  });
});

test('outside production with no token set they are open; the dashboard (no token allowed) never is', async () => {
  const auth = authWith({ NODE_ENV: 'development' });
  expect(await auth.check(req(), { allowToken: true })).toEqual({ ok: true, via: 'open' });
  expect(await auth.check(req(), { allowToken: false })).toMatchObject({ ok: false, status: 401 });
});

test('a too short METRICS_TOKEN stops start-up with the variable named', () => {
  expect(() => parseEnv({ NODE_ENV: 'test', METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
});
