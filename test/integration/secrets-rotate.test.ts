import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import type { Update } from 'telegraf/types';
import {
  DeadLetterStore,
  deadLetterOf,
  updateFromDeadLetter,
} from '../../bot/channels/telegram/dead-letters';
import { decryptSecret, encryptSecret, parseSecretsKey, secretKeyId } from '../../lib/secret-box';
import { ApiKey } from '../../models/api-key';
import { Dossier } from '../../models/dossier';
import { ZaloToken } from '../../models/zalo-token';
import { runHailongHere } from '../support/cli';
import { uriWithDb } from '../support/app';
import { clearPrefix, testPrefix, testRedis, uniqueName } from '../support/services';

/**
 * `hailong secrets rotate` (issue 22): with SECRETS_KEY the new key and SECRETS_KEY_PREVIOUS the
 * old one, every stored secret is re-sealed under the new key, and a second run finds nothing.
 */
jest.setTimeout(120_000);
const OLD = randomBytes(32).toString('hex');
const NEW = randomBytes(32).toString('base64');
const oldRing = parseSecretsKey(OLD);
const newOnly = parseSecretsKey(NEW);
const prefix = testPrefix('secretsrotate');
const redis = testRedis();
const BOT = '777002';
const dbUri = uriWithDb(uniqueName('secretsrotate'));
Object.assign(process.env, {
  MONGODB_URI: dbUri,
  REDIS_PREFIX: prefix,
  SECRETS_KEY: NEW,
  SECRETS_KEY_PREVIOUS: OLD,
  TELEGRAM_BOT_TOKEN: `${BOT}:TEST-token-abcdefghijklmnopqrstuv`,
});
const letters = new DeadLetterStore(redis, (...parts) => [prefix, 'tg', BOT, ...parts].join(':'));

beforeAll(async () => {
  await mongoose.connect(dbUri);
  await ZaloToken.create({
    appId: 'app-1',
    accessTokenEnc: encryptSecret(oldRing, 'AT-1', 'app-1'),
    refreshTokenEnc: encryptSecret(oldRing, 'RT-1', 'app-1'),
    expiresAt: new Date(Date.now() + 3_600_000),
    version: 1,
  });
  await ApiKey.create({
    keyId: 'k1',
    name: 'một cửa',
    keyHash: 'x'.repeat(64),
    signingSecretEnc: encryptSecret(oldRing, 'signing-1', 'apikey:k1'),
    createdBy: 'test',
  });
  await Dossier.create({
    code: 'HS-ZNS-1',
    procedureCode: 'P1',
    unitCode: '19870',
    channel: 'online',
    status: 'finished',
    invitation: { phoneSealed: encryptSecret(oldRing, '84912000111', 'dossier-phone:HS-ZNS-1') },
  });
  const update = {
    update_id: 41,
    message: { message_id: 1, date: 0, chat: { id: 5001, type: 'private' }, text: 'Góp ý' },
  };
  const letter = deadLetterOf(
    update as unknown as Update,
    '5001',
    { error: 'down', attempts: 3, firstFailedAt: Date.now() },
    { botId: BOT, key: oldRing },
    Date.now(),
  );
  await redis.set(letters.letterKey(41), JSON.stringify(letter), 'EX', 3600);
  await redis.zadd(letters.indexKey, Date.now(), '41');
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
});

test('re-seals every stored secret under the new key; a second run finds nothing to do', async () => {
  const run = await runHailongHere(['secrets', 'rotate']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/Zalo OA tokens: mã hoá lại \/ re-sealed 2,/);
  expect(run.stdout).toMatch(/API signing secrets: mã hoá lại \/ re-sealed 1,/);
  expect(run.stdout).toMatch(/phones kept for ZNS: mã hoá lại \/ re-sealed 1,/);
  expect(run.stdout).toMatch(/Telegram dead letters: mã hoá lại \/ re-sealed 1,/);

  // The new key alone now opens everything: the old one can leave SECRETS_KEY_PREVIOUS.
  const t = (await ZaloToken.findOne({ appId: 'app-1' }).lean())!;
  expect(t.accessTokenEnc.startsWith(`v2.${secretKeyId(Buffer.from(NEW, 'base64'))}.`)).toBe(true);
  expect(decryptSecret(newOnly, t.accessTokenEnc, 'app-1')).toBe('AT-1');
  expect(decryptSecret(newOnly, t.refreshTokenEnc, 'app-1')).toBe('RT-1');
  const k = (await ApiKey.findOne({ keyId: 'k1' }).lean())!;
  expect(decryptSecret(newOnly, k.signingSecretEnc!, 'apikey:k1')).toBe('signing-1');
  const d = (await Dossier.findOne({ code: 'HS-ZNS-1' }).lean())!;
  expect(decryptSecret(newOnly, d.invitation!.phoneSealed!, 'dossier-phone:HS-ZNS-1')).toBe('84912000111');
  const letter = (await letters.get(41))!;
  const replay = updateFromDeadLetter(letter, { botId: BOT, key: newOnly }) as unknown as {
    message: { text?: string };
  };
  expect(replay.message.text).toBe('Góp ý');
  expect(await redis.ttl(letters.letterKey(41))).toBeGreaterThan(3000);

  const again = await runHailongHere(['secrets', 'rotate']);
  expect(again.code).toBe(0);
  expect(again.stdout).not.toMatch(/re-sealed [1-9]/);
  expect(again.stdout).toContain('the old key may leave SECRETS_KEY_PREVIOUS');
});
