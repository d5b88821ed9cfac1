import mongoose from 'mongoose';
import { runCli } from '../../cli/program';
import { authenticate, sha256Hex } from '../../lib/api-auth';
import { ApiKey } from '../../models/api-key';
import { Unit } from '../../models/unit';
import { clearPrefix, mongoUri, testPrefix, testRedis, uniqueName } from '../support/services';

// The command connects and disconnects itself, like the real CLI: point it at a fresh database.
const dbName = uniqueName('apikeycli');
const uri = new URL(mongoUri());
uri.pathname = `/${dbName}`;
process.env.MONGODB_URI = uri.toString();

const redis = testRedis();
const prefix = testPrefix('apikeycli');

/** The lines printed (stdout and stderr, in order) and the exit code, through the CLI's one entry. */
async function runWithCode(...args: string[]): Promise<{ lines: string[]; code: number }> {
  const lines: string[] = [];
  const log = jest
    .spyOn(console, 'log')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = jest
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const stderr = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((c: string | Uint8Array) => (lines.push(Buffer.from(c).toString().trimEnd()), true));
  try {
    const code = await runCli(args, { from: 'user' });
    return { lines, code };
  } finally {
    log.mockRestore();
    err.mockRestore();
    stderr.mockRestore();
    process.exitCode = 0;
  }
}

async function run(...args: string[]): Promise<string[]> {
  const r = await runWithCode(...args);
  expect(r.code).toBe(0);
  return r.lines;
}

async function inDb<T>(fn: () => Promise<T>): Promise<T> {
  await mongoose.connect(uri.toString());
  try {
    return await fn();
  } finally {
    await mongoose.disconnect();
  }
}

afterAll(async () => {
  await inDb(() => mongoose.connection.dropDatabase());
  await clearPrefix(redis, prefix);
  redis.disconnect();
  process.exitCode = 0;
});

test('create prints the key once, on its last line, and stores only its hash', async () => {
  const out = await run('apikey', 'create', '--name', 'Một cửa tỉnh');
  const key = out[out.length - 1];
  expect(key).toMatch(/^hl_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/);
  await inDb(async () => {
    const stored = await ApiKey.findOne({ name: 'Một cửa tỉnh' }).lean();
    expect(stored?.keyHash).toBe(sha256Hex(key));
    expect(JSON.stringify(stored)).not.toContain(key.slice(16));
    const auth = await authenticate({ authorization: `Bearer ${key}` }, undefined, { redis, prefix });
    expect(auth.ok && auth.key.unitCodes).toEqual([]);
  });
});

test('a key scoped to a unit records it; an unknown unit is refused; revoke stops the key', async () => {
  await inDb(() => Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' }));
  const refused = await runWithCode('apikey', 'create', '--name', 'x', '--unit', 'nope', '--unit', '19867');
  expect(refused).toEqual({
    lines: [
      'Lỗi: không có đơn vị mã "nope" (các đơn vị do "hailong seed" tạo hoặc đã nhập) (Error: unknown unit "nope")',
    ],
    code: 1,
  });
  await inDb(async () => expect(await ApiKey.countDocuments({ name: 'x' })).toBe(0));

  const out = await run('apikey', 'create', '--name', 'Thị trấn Sịa', '--unit', '19867');
  const key = out[out.length - 1];
  const keyId = key.slice(3, 15);
  await inDb(async () => expect((await ApiKey.findOne({ keyId }).lean())?.unitCodes).toEqual(['19867']));

  const list = await run('apikey', 'list');
  expect(list.join('\n')).toContain(`${keyId}\tThị trấn Sịa\t19867`);
  expect(list.join('\n')).not.toContain(key);

  expect(await run('apikey', 'revoke', keyId)).toEqual([`revoked ${keyId}`]);
  await inDb(async () => {
    const auth = await authenticate({ authorization: `Bearer ${key}` }, undefined, { redis, prefix });
    expect(auth).toEqual({ ok: false, reason: 'key revoked' });
  });
});
