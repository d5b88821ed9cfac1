import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { heartbeatFresh, startHeartbeat } from '../../app/heartbeat';
import { logger } from '../../lib/logger';
import { freePort } from '../support/app';
import { connectTestDb, dropTestDb, testRedis } from '../support/services';
import { until } from '../support/until';

const run = promisify(execFile);
let dir: string;
const redis = testRedis();

beforeAll(async () => {
  await connectTestDb('heartbeat');
  dir = await mkdtemp(join(tmpdir(), 'hl-heartbeat-'));
});

afterAll(async () => {
  redis.disconnect();
  await dropTestDb();
  await rm(dir, { recursive: true, force: true });
});

/** bin/healthcheck.ts's exit code for `file`. */
async function healthcheck(file: string): Promise<number> {
  try {
    await run(process.execPath, ['--import', 'tsx', join(__dirname, '../../bin/healthcheck.ts')], {
      env: { ...process.env, HEALTH_FILE: file },
    });
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

test('a process whose Redis and MongoDB answer beats; the health check passes on a fresh beat only', async () => {
  const file = join(dir, 'alive');
  expect(await healthcheck(file)).toBe(1);
  const hb = startHeartbeat({ file, intervalMs: 200, redis, log: logger });
  try {
    await until(async () => (await heartbeatFresh(file)).ok, 'first heartbeat');
    expect(await healthcheck(file)).toBe(0);
  } finally {
    hb.stop();
  }
  // Three intervals without a beat: stale.
  expect(await heartbeatFresh(file, Date.now() + 700)).toEqual({
    ok: false,
    reason: expect.stringMatching(/last heartbeat/),
  });
  await writeFile(file, JSON.stringify({ at: Date.now() - 60_000, intervalMs: 10_000 }));
  expect(await healthcheck(file)).toBe(1);
});

test('a process that cannot reach Redis writes no heartbeat', async () => {
  const file = join(dir, 'dead');
  const dead = new Redis({
    port: await freePort(),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  const hb = startHeartbeat({ file, intervalMs: 100, redis: dead, log: logger });
  try {
    await until(() => warn.mock.calls.length >= 2, 'two skipped beats');
    // Only Redis is asserted: MongoDB's ping is given the interval (100 ms here), which a loaded
    // CI machine's FerretDB has missed.
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ redis: 'down' }),
      'heartbeat skipped: a connection does not answer',
    );
    expect(await heartbeatFresh(file)).toEqual({
      ok: false,
      reason: expect.stringMatching(/no heartbeat file/),
    });
  } finally {
    hb.stop();
    warn.mockRestore();
    dead.disconnect();
  }
});
