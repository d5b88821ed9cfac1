import mongoose, { Types } from 'mongoose';
import { hashPhone, normalisePhone } from '../../lib/phone';
import { AuditLog } from '../../models/audit-log';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Session } from '../../models/session';
import { runHailong, runHailongHere } from '../support/cli';
import { uriWithDb } from '../support/app';
import { clearPrefix, redisUrl, testPrefix, testRedis, uniqueName } from '../support/services';

/** `npx hailong erase` and `hailong access`: a request on paper, served at the command line. */
jest.setTimeout(120_000);
const dbName = uniqueName('privacycli');
const prefix = testPrefix('privacycli');
const redis = testRedis();
const env = { NODE_ENV: 'test', MONGODB_URI: uriWithDb(dbName), REDIS_URL: redisUrl(), REDIS_PREFIX: prefix };
Object.assign(process.env, { MONGODB_URI: env.MONGODB_URI, REDIS_PREFIX: prefix });
const phoneHash = hashPhone(normalisePhone('0912000111')!, 'test-only-phone-hash-key');

beforeAll(async () => {
  await mongoose.connect(env.MONGODB_URI);
  const contactId = new Types.ObjectId();
  await Contact.create({
    _id: contactId,
    channel: 'zalo',
    channelUserId: 'zu-7001',
    consentAt: new Date(),
    phoneHash,
  });
  await Session.create({
    contactId,
    channel: 'zalo',
    responseId: 'resp-cli-1',
    flowKey: 'default',
    flowVersion: 2,
    status: 'completed',
    state: {},
    startedAt: new Date(),
  });
  await Dossier.create({
    code: 'CLI-1',
    procedureCode: 'P1',
    unitCode: 'U1',
    channel: 'online',
    status: 'finished',
    applicantPhoneHash: phoneHash,
    contactIds: [contactId],
  });
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
});

test('hailong access shows what is held; hailong erase (the real command) removes it and prints the counts', async () => {
  const shown = await runHailongHere(['access', '--channel', 'zalo', '--user', 'zu-7001']);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain('Tài khoản Zalo');
  expect(shown.stdout).toContain('CLI-1');

  const run = await runHailong(['erase', '--channel', 'zalo', '--user', 'zu-7001', '--by', 'can-bo-an'], env);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  expect(run.stdout).toMatch(/^Đã xóa \/ erased/);
  expect(run.stdout).toMatch(/\s1 {2}tài khoản liên lạc/);
  expect(run.stdout).toMatch(/\s1 {2}lượt khảo sát/);
  expect(run.stdout).toMatch(/\s1 {2}hồ sơ đã gỡ/);
  expect(await Contact.countDocuments({ channelUserId: 'zu-7001' })).toBe(0);
  expect(await Dossier.findOne({ code: 'CLI-1' }).lean()).toMatchObject({
    applicantPhoneHash: null,
    contactIds: [],
  });
  expect(await AuditLog.findOne({ action: 'privacy.erased' }).lean()).toMatchObject({ actor: 'can-bo-an' });

  const again = await runHailongHere(['erase', '--phone', '0912 000 111', '--json']);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({ contacts: 0, sessions: 0, dossiers: 0 });
});

test('a request without a subject, with both kinds, or with a bad phone is refused in one line with exit code 2', async () => {
  for (const args of [
    ['erase'],
    ['erase', '--phone', '0912000111', '--channel', 'zalo', '--user', 'x'],
    ['erase', '--phone', 'abc'],
    ['access', '--channel', 'telegram'],
  ]) {
    const r = await runHailongHere(args);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Lỗi: .+ \(Error: .+\)/);
  }
});
