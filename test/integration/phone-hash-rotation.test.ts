import { randomBytes } from 'node:crypto';
import { parseEnv, type Env } from '../../config/env';
import { logger } from '../../lib/logger';
import { hashPhone, normalisePhone, phoneKeyId } from '../../lib/phone';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { parseDossierEvent } from '../../bot/survey/dossier-event';
import { ingestDossierEvent } from '../../bot/survey/dossier-ingest';
import { markUnkeyedPhoneHashes, phoneHashReport } from '../../privacy/phone-keys';
import { PhoneInviteClaims } from '../../workers/jobs/invitation-phone-claim';
import { sendInvitation, type OutreachDeps } from '../../workers/jobs/invitation-send';
import type { InvitationSender } from '../../workers/jobs/invitation-senders';
import { runHailong } from '../support/cli';
import { uriWithDb } from '../support/app';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * A change of PHONE_HASH_KEY (docs/operations.md, "Rotating PHONE_HASH_KEY"): with the old key in
 * PHONE_HASH_KEY_PREVIOUS a returning applicant's dossier still finds their contact, which moves
 * to the new key; the ZNS cooldown holds across the keys; `hailong secrets phone-hashes` counts
 * what is left under each key. Real MongoDB-compatible server and Redis.
 */
jest.setTimeout(120_000);
const OLD = 'the-old-phone-hash-key-2025';
const NEW = 'the-new-phone-hash-key-2026';
const SECRETS_KEY = randomBytes(32).toString('hex');
const redis = testRedis();
const prefix = testPrefix('phonekeys');
const now = new Date('2025-03-16T03:00:00Z');
const base = { ...process.env, NODE_ENV: 'test', INVITE_COOLDOWN_DAYS: '7' };
const envOld = parseEnv({ ...base, PHONE_HASH_KEY: OLD });
const envChanging = parseEnv({ ...base, PHONE_HASH_KEY: NEW, PHONE_HASH_KEY_PREVIOUS: OLD });
const envNew = parseEnv({ ...base, PHONE_HASH_KEY: NEW });
const zns = (e: Record<string, string>) =>
  parseEnv({
    ...base,
    ...e,
    SECRETS_KEY,
    INVITE_CHANNEL_ORDER: 'zns',
    ZALO_ZNS_TEMPLATE_ID: 'tpl-1',
    ZALO_APP_ID: '1234567890',
  });
let dbName = '';

const P = '0912 345 601';
const Q = '0912 345 602';
const hash = (phone: string, key: string) => hashPhone(normalisePhone(phone)!, key);

async function ingest(code: string, applicant: Record<string, unknown>, env: Env) {
  const parsed = parseDossierEvent({
    code,
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: '19867',
    channel: 'in_person',
    status: 'finished',
    finishedAt: '2025-03-16T09:00:00+07:00',
    applicant,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const r = await ingestDossierEvent(parsed.event, { env, now, rollups: null });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
}

const linked = async (code: string) =>
  ((await Dossier.findOne({ code }, { contactIds: 1 }).lean())?.contactIds ?? []).map(String);

beforeAll(async () => {
  dbName = await connectTestDb('phonekeys');
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test("a returning applicant's dossier finds their contact across the key change and moves it to the new key", async () => {
  await ingest('HS-K1', { phone: P, telegramChatId: 7001 }, envOld);
  const c = await Contact.findOne({ channel: 'telegram', channelUserId: '7001' }).lean();
  expect(c?.phoneHash).toBe(hash(P, OLD));
  expect(c?.phoneHashKeyId).toBe(phoneKeyId(OLD));
  // A contact stored before key ids were kept: its key is not named.
  const legacy = await Contact.create({
    channel: 'zalo',
    channelUserId: 'zu-legacy',
    phoneHash: hash(Q, OLD),
  });

  let report = await phoneHashReport([NEW, OLD]);
  expect(report.contacts).toEqual({ current: 0, previous: [1], unmarked: 1, unknownKey: 0 });
  expect(report.dossiers).toEqual({ current: 0, previous: [1], unmarked: 0, unknownKey: 0 });

  // The same applicant comes back, by phone only, while both keys are configured.
  await ingest('HS-K2', { phone: P }, envChanging);
  expect(await linked('HS-K2')).toEqual([String(c!._id)]);
  const moved = await Contact.findById(c!._id).lean();
  expect(moved?.phoneHash).toBe(hash(P, NEW));
  expect(moved?.phoneHashKeyId).toBe(phoneKeyId(NEW));
  const k2 = await Dossier.findOne({ code: 'HS-K2' }).lean();
  expect(k2?.applicantPhoneHash).toBe(hash(P, NEW));
  expect(k2?.applicantPhoneKeyId).toBe(phoneKeyId(NEW));

  // Without the old key, a contact still under it is not found (the control)...
  await ingest('HS-K3', { phone: Q }, envNew);
  expect(await linked('HS-K3')).toEqual([]);
  // ...and the moved one is, under the new key alone.
  await ingest('HS-K4', { phone: P }, envNew);
  expect(await linked('HS-K4')).toEqual([String(c!._id)]);
  expect((await Contact.findById(legacy._id).lean())?.phoneHash).toBe(hash(Q, OLD));

  report = await phoneHashReport([NEW, OLD]);
  expect(report.contacts).toEqual({ current: 1, previous: [0], unmarked: 1, unknownKey: 0 });
  expect(report.dossiers).toEqual({ current: 3, previous: [1], unmarked: 0, unknownKey: 0 });
});

test('unmarked hashes are named only while one key is configured', async () => {
  await expect(markUnkeyedPhoneHashes([NEW, OLD])).rejects.toThrow(/PHONE_HASH_KEY_PREVIOUS is set/);
  expect((await Contact.findOne({ channelUserId: 'zu-legacy' }).lean())?.phoneHashKeyId).toBeUndefined();
  // Here the legacy contact was in truth hashed under OLD: marking is sound only before a change.
  const marked = await markUnkeyedPhoneHashes([OLD]);
  expect(marked).toEqual({ contacts: 1, dossiers: 0 });
  expect((await phoneHashReport([NEW, OLD])).contacts).toEqual({
    current: 1,
    previous: [1],
    unmarked: 0,
    unknownKey: 0,
  });
});

test('hailong secrets phone-hashes prints the counts per key; hashes under no configured key fail it', async () => {
  const cli = (keys: Record<string, string | undefined>) =>
    runHailong(['secrets', 'phone-hashes'], {
      ...keys,
      NODE_ENV: 'test',
      MONGODB_URI: uriWithDb(dbName),
      REDIS_PREFIX: prefix,
    });
  const during = await cli({ PHONE_HASH_KEY: NEW, PHONE_HASH_KEY_PREVIOUS: OLD });
  expect(during.stderr).toBe('');
  expect(during.code).toBe(0);
  expect(during.stdout).toContain(
    'Liên hệ / contacts: khoá hiện tại / current key 1, khoá cũ / previous key 1: 1, chưa ghi khoá / unmarked 0, khoá khác / another key 0',
  );
  expect(during.stdout).toContain(
    'Hồ sơ / dossiers: khoá hiện tại / current key 3, khoá cũ / previous key 1: 1,',
  );
  expect(during.stdout).toContain('keep PHONE_HASH_KEY_PREVIOUS');

  const tooSoon = await cli({ PHONE_HASH_KEY: NEW, PHONE_HASH_KEY_PREVIOUS: undefined });
  expect(tooSoon.code).toBe(1);
  expect(tooSoon.stdout).toContain(
    'Liên hệ / contacts: khoá hiện tại / current key 1, chưa ghi khoá / unmarked 0, khoá khác / another key 1',
  );
});

test('the ZNS cooldown holds across the key change: a claim under the old hash stops a new dossier of the same phone', async () => {
  const R = '0912 345 603';
  const sent: string[] = [];
  const recording: InvitationSender = {
    send: (to) => {
      sent.push(to.dossierCode);
      return Promise.resolve('sent');
    },
  };
  const deps = (env: Env): OutreachDeps => ({
    env,
    senders: { zns: recording },
    log: logger,
    phoneClaims: new PhoneInviteClaims(redis, prefix),
  });
  const before = zns({ PHONE_HASH_KEY: OLD });
  await ingest('HS-Z1', { phone: R }, before);
  expect(await sendInvitation({ dossierCode: 'HS-Z1' }, deps(before), now)).toBe('sent');

  const changing = zns({ PHONE_HASH_KEY: NEW, PHONE_HASH_KEY_PREVIOUS: OLD });
  await ingest('HS-Z2', { phone: R }, changing);
  expect(await sendInvitation({ dossierCode: 'HS-Z2' }, deps(changing), now)).toBe('cooldown');
  expect((await Dossier.findOne({ code: 'HS-Z2' }).lean())?.invitation?.skipped).toBe('cooldown');

  // The control: a process without the old key sees no claim under the new hash and sends.
  const without = zns({ PHONE_HASH_KEY: NEW });
  await ingest('HS-Z3', { phone: R }, without);
  expect(await sendInvitation({ dossierCode: 'HS-Z3' }, deps(without), now)).toBe('sent');
  expect(sent).toEqual(['HS-Z1', 'HS-Z3']);
});
