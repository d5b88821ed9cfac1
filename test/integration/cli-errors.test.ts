import mongoose from 'mongoose';
import { runSeed } from '../../cli/commands/seed';
import { createBroadcast } from '../../workers/broadcast/control';
import { BroadcastQueues } from '../../workers/broadcast/queues';
import { parseEnv } from '../../config/env';
import { runHailong, runHailongHere, type CliRun } from '../support/cli';
import { uriWithDb } from '../support/app';
import { clearPrefix, redisUrl, testPrefix, testRedis, uniqueName } from '../support/services';

/**
 * Ordinary mistakes at the command line: one line on stderr, `Lỗi: <Vietnamese> (Error:
 * <English>)`, nothing on stdout, a non-zero exit code, never a stack trace. A few run as the
 * real command in a child process with info logs on (they would go to stderr too); the rest go
 * through the same entry (runCli) in this process, which is quicker.
 */
jest.setTimeout(120_000);
const dbName = uniqueName('clierrors');
const prefix = testPrefix('clierrors');
const redis = testRedis();
const env = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  MONGODB_URI: uriWithDb(dbName),
  REDIS_URL: redisUrl(),
  REDIS_PREFIX: prefix,
};
Object.assign(process.env, { MONGODB_URI: env.MONGODB_URI, REDIS_PREFIX: prefix });
const child = (args: string[], extra: Record<string, string | undefined> = {}) =>
  runHailong(args, { ...env, ...extra });

function expectOneLineError(r: CliRun, code: number, vi: RegExp, en: RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^Lỗi: .+ \(Error: .+\)$/);
  expect(lines[0]).toMatch(vi);
  expect(lines[0]).toMatch(en);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

let broadcastId = '';

beforeAll(async () => {
  await mongoose.connect(env.MONGODB_URI);
  await runSeed();
  const e = parseEnv({ ...process.env, ...env });
  const queues = new BroadcastQueues(redis, prefix);
  broadcastId = (
    await createBroadcast(
      { text: 'Mời Ông/Bà đánh giá', target: { unitCode: null }, createdBy: 'an', requireApproval: true },
      { redis, prefix, queues, env: e },
    )
  ).id;
  await queues.close();
  await mongoose.disconnect();
});

afterAll(async () => {
  const conn = await mongoose.createConnection(env.MONGODB_URI).asPromise();
  await conn.dropDatabase();
  await conn.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
});

test('an unknown unit is refused in one line', async () => {
  expectOneLineError(
    await child(['report', '--unit', 'NOPE', '--period', '2025']),
    1,
    /không có đơn vị mã "NOPE"/,
    /unknown unit "NOPE"/,
  );
  expectOneLineError(
    await runHailongHere(['export', 'responses', '--unit', 'NOPE']),
    2,
    /không có đơn vị mã "NOPE"/,
    /unknown unit "NOPE"/,
  );
  expectOneLineError(
    await runHailongHere(['flags', 'list', '--unit', 'NOPE', '--from', '2025-01-01', '--to', '2025-01-31']),
    1,
    /không có đơn vị/,
    /unknown unit/,
  );
  expectOneLineError(
    await runHailongHere(['broadcast', 'send', '--text', 'x', '--unit', 'NOPE']),
    1,
    /không có đơn vị/,
    /unknown unit/,
  );
});

test("approving one's own broadcast is refused in one line, and a second person can approve it", async () => {
  expectOneLineError(
    await child(['broadcast', 'approve', broadcastId, '--by', 'An ']),
    1,
    /người soạn không được tự duyệt/,
    /the author cannot approve their own broadcast/,
  );
  expectOneLineError(
    await runHailongHere(['broadcast', 'approve', 'not-an-id', '--by', 'binh']),
    2,
    /mã thông báo không hợp lệ/,
    /not a broadcast id/,
  );
  const approved = await runHailongHere(['broadcast', 'approve', broadcastId, '--by', 'binh']);
  expect(approved).toMatchObject({ code: 0, stderr: '' });
  expect(approved.stdout).toMatch(/^Đã duyệt \/ approved/);
  expectOneLineError(
    await runHailongHere(['broadcast', 'approve', broadcastId, '--by', 'chi']),
    1,
    /không chờ duyệt/,
    /not waiting for approval/,
  );
});

test('a missing or wrong setting is named in one line', async () => {
  expectOneLineError(
    await runHailongHere(['zalo', 'status']),
    2,
    /chưa đặt ZALO_APP_ID, ZALO_APP_SECRET, SECRETS_KEY/,
    /set ZALO_APP_ID, ZALO_APP_SECRET, SECRETS_KEY first/,
  );
  expectOneLineError(
    await child(['report', '--unit', '477', '--period', '2025'], { REDIS_PREFIX: 'hl' }),
    2,
    /cấu hình không hợp lệ: REDIS_PREFIX/,
    /invalid configuration: REDIS_PREFIX: expected a hash-tagged prefix/,
  );
  expectOneLineError(
    await child(['report', '--unit', '477', '--period', '2025'], {
      MONGODB_URI: 'mongodb://127.0.0.1:1/hailong',
    }),
    1,
    /không kết nối được MongoDB/,
    /cannot reach MongoDB .*ECONNREFUSED 127\.0\.0\.1:1/,
  );
});

test('a wrong command line is said in one line, with where to look', async () => {
  expectOneLineError(
    await child(['repor']),
    2,
    /không có lệnh này; xem "hailong --help"/,
    /unknown command 'repor'/,
  );
  expectOneLineError(
    await runHailongHere(['report', '--unit', '477']),
    2,
    /thiếu tuỳ chọn bắt buộc/,
    /required option '--period <period>' not specified/,
  );
  expectOneLineError(
    await runHailongHere(['report', '--unit', '477', '--period', '2025-13']),
    2,
    /kỳ không hợp lệ "2025-13"/,
    /invalid period "2025-13"/,
  );
  expectOneLineError(
    await runHailongHere(['import', 'dossiers', '/nonexistent/hoso.csv']),
    1,
    /không tìm thấy tệp: \/nonexistent\/hoso\.csv/,
    /no such file: \/nonexistent\/hoso\.csv/,
  );
  const help = await runHailongHere(['--help']);
  expect(help).toMatchObject({ code: 0, stderr: '' });
  expect(help.stdout).toContain('Usage: hailong');
});
