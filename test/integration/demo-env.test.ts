import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mongoose from 'mongoose';
import { runSeed } from '../../cli/commands/seed';
import { Response } from '../../models/response';
import { runHailong } from '../support/cli';
import { uriWithDb } from '../support/app';
import { clearPrefix, redisUrl, testPrefix, testRedis, uniqueName } from '../support/services';

/**
 * `npm run demo` writes the settings a second terminal needs (scripts/demo-env.sh) and `hailong`
 * reads them from ./.env (cli/env-file.ts): the demo's printed report command, run in another
 * shell that has none of the demo's variables, shows the demo's responses.
 */
jest.setTimeout(120_000);
const run = promisify(execFile);
const script = path.join(__dirname, '../../scripts/demo-env.sh');
const dbName = uniqueName('demoenv');
const prefix = testPrefix('demoenv');
const redis = testRedis();
// A second terminal: none of the demo's variables (with-services.sh exported some into this process).
const bareShell = {
  MONGODB_URI: undefined,
  REDIS_URL: undefined,
  REDIS_PREFIX: undefined,
  NODE_ENV: undefined,
  LOG_LEVEL: undefined,
};

beforeAll(async () => {
  await mongoose.connect(uriWithDb(dbName));
  await runSeed({
    demo: { rollups: { redis, prefix }, now: new Date('2025-10-15T05:00:00Z'), demoCount: 40 },
  });
});

afterAll(async () => {
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
  await clearPrefix(redis, prefix);
  redis.disconnect();
});

async function writeDemoEnv(dir: string): Promise<string> {
  const demo = {
    MONGODB_URI: uriWithDb(dbName),
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    PORT: '3000',
    PUBLIC_URL: 'http://localhost:3000',
    LOG_LEVEL: 'warn',
    PHONE_HASH_KEY: 'demo-phone-hash-key',
  };
  const { stdout } = await run('bash', [script, 'write', dir], { env: { ...process.env, ...demo } });
  return stdout.trim();
}

test("the demo's report command works in a second terminal that has only the .env file", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hl-demo-'));
  const file = await writeDemoEnv(dir);
  expect(file).toBe(path.join(dir, '.env'));
  expect(readFileSync(file, 'utf8')).toContain(`REDIS_PREFIX="${prefix}"`);

  const expected = await Response.countDocuments({
    responseId: /^demo-/,
    day: { $gte: '2025-01-01', $lte: '2025-12-31' },
  });
  expect(expected).toBeGreaterThan(20);
  const r = await runHailong(['report', '--unit', '46', '--period', '2025', '--format', 'json'], bareShell, {
    cwd: dir,
  });
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect((JSON.parse(r.stdout) as { responses: number }).responses).toBe(expected);

  // A variable set in the shell wins over the file.
  const other = await runHailong(
    ['report', '--unit', '46', '--period', '2025'],
    { ...bareShell, MONGODB_URI: 'mongodb://127.0.0.1:1/hailong' },
    { cwd: dir },
  );
  expect(other.code).toBe(1);
  expect(other.stderr).toMatch(/^Lỗi: không kết nối được MongoDB.*127\.0\.0\.1:1/);

  await run('bash', [script, 'remove', dir]);
  expect(existsSync(file)).toBe(false);
});

test('a .env of your own is left alone: the demo writes .env.demo beside it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hl-demo-'));
  writeFileSync(path.join(dir, '.env'), 'PORT=4000\n');
  const file = await writeDemoEnv(dir);
  expect(file).toBe(path.join(dir, '.env.demo'));
  expect(readFileSync(path.join(dir, '.env'), 'utf8')).toBe('PORT=4000\n');
  await run('bash', [script, 'remove', dir]);
  expect(existsSync(file)).toBe(false);
  expect(readFileSync(path.join(dir, '.env'), 'utf8')).toBe('PORT=4000\n');
});
