import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Accounts } from '../../lib/auth/accounts';
import { SessionStore } from '../../lib/auth/sessions';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import { uriWithDb } from '../support/app';
import { clearPrefix, connectTestDb, dropTestDb, redisUrl, testPrefix, testRedis } from '../support/services';

/** Two processes of the app sharing Redis: failed sign-ins counted in one lock the other too. */
let redis: Redis;
let prefix: string;
const children: ChildProcess[] = [];
let a: string;
let b: string;

function startChild(dbName: string): Promise<string> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../support/api-app-child.ts')], {
    env: {
      ...process.env,
      MONGODB_URI: uriWithDb(dbName),
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      AUTH_LOGIN_MAX_FAILS_PER_USER: '3',
      AUTH_LOGIN_MAX_FAILS_PER_IP: '8',
      AUTH_LOGIN_WINDOW_MIN: '10',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(proc);
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`app child exited early (${code})`)));
    proc.on('message', (m: { port?: number }) => {
      if (m.port) resolve(`http://127.0.0.1:${m.port}`);
    });
  });
}

beforeAll(async () => {
  const dbName = await connectTestDb('apithrottle');
  redis = testRedis();
  prefix = testPrefix('apithrottle');
  const accounts = new Accounts(new SessionStore(redis, prefix, { idleMs: 60_000, maxMs: 60_000 }));
  for (const u of ['canbo.mot', 'canbo.hai'])
    await accounts.create({ username: u, password: GOOD_PASSWORD, role: 'admin' }, { actor: 'test' });
  [a, b] = await Promise.all([startChild(dbName), startChild(dbName)]);
}, 120_000);
afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.removeAllListeners('exit');
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

const login = (base: string, username: string, password: string) =>
  new ApiClient(base).login(username, password);

test('failures of one username in two processes add up: the third locks it in both, with the wait and Retry-After', async () => {
  expect((await login(a, 'canbo.mot', 'wrong password one')).status).toBe(401);
  expect((await login(b, 'canbo.mot', 'wrong password two')).status).toBe(401);
  const third = await login(a, 'canbo.mot', 'wrong password three');
  expect(third.status).toBe(429);
  for (const base of [a, b]) {
    const r = await login(base, 'canbo.mot', GOOD_PASSWORD);
    expect(r.status).toBe(429);
    expect(r.body.message).toMatch(
      /^Ông\/Bà đã đăng nhập sai quá nhiều lần\. Vui lòng thử lại sau 10 phút\./,
    );
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(9 * 60);
  }
  // The other account is not locked by it.
  expect((await login(b, 'canbo.hai', GOOD_PASSWORD)).status).toBe(200);
});

test('failures from one address across usernames and processes lock the address', async () => {
  // Three failures above already count for 127.0.0.1; five more reach its limit of eight.
  const answers = [];
  for (let i = 0; i < 5; i++)
    answers.push((await login(i % 2 ? a : b, `khong.co.${i}`, 'anything at all')).status);
  expect(answers).toEqual([401, 401, 401, 401, 429]);
  for (const base of [a, b]) expect((await login(base, 'canbo.hai', GOOD_PASSWORD)).status).toBe(429);
});
