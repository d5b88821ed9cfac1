import type { Command } from 'commander';
import { env } from '../../config/env';
import { DeadLetterStore } from '../../bot/channels/telegram/dead-letters';
import { createProducerConnection, type RedisClient } from '../../lib/redis';
import { phoneHashKeys } from '../../lib/phone';
import { markUnkeyedPhoneHashes, phoneHashReport, type PhoneHashCounts } from '../../privacy/phone-keys';
import { parseSecretsKey, resealSecret, sealedWithOlderKey, type SecretKeyRing } from '../../lib/secret-box';
import { UserError } from '../../lib/user-error';
import { ApiKey } from '../../models/api-key';
import { Dossier } from '../../models/dossier';
import { ZaloToken } from '../../models/zalo-token';
import { withMongo } from './report';

/** Per store: re-sealed under the newest key, already under it, opened by no key of the ring. */
export interface StoreRotation {
  resealed: number;
  current: number;
  unreadable: number;
}
export type RotationReport = Record<
  'zaloTokens' | 'apiKeys' | 'dossierPhones' | 'telegramDeadLetters',
  StoreRotation
>;

const empty = (): StoreRotation => ({ resealed: 0, current: 0, unreadable: 0 });

/** One sealed value: re-sealed, or counted as current or unreadable; the new value or null. */
function reseal(ring: SecretKeyRing, sealed: string, aad: string, into: StoreRotation): string | null {
  if (!sealedWithOlderKey(ring, sealed)) {
    into.current++;
    return null;
  }
  try {
    const next = resealSecret(ring, sealed, aad);
    into.resealed++;
    return next;
  } catch {
    into.unreadable++;
    return null;
  }
}

/**
 * Re-seals every stored secret under the ring's newest key: the Zalo OA tokens, the API keys'
 * signing secrets, the phone numbers kept for a ZNS invitation, and the texts of Telegram dead
 * letters. Each write is conditional on the value it read, so a token refreshed meanwhile (already
 * sealed under the newest key by a process that has the new ring) is not overwritten. Running it
 * again changes nothing. The old key may leave SECRETS_KEY_PREVIOUS once every count of
 * `resealed` and `unreadable` is 0 in a run (docs/operations.md).
 */
export async function rotateStoredSecrets(
  ring: SecretKeyRing,
  redis: RedisClient | null,
  telegram: { prefix: string; botId: string } | null,
): Promise<RotationReport> {
  const report: RotationReport = {
    zaloTokens: empty(),
    apiKeys: empty(),
    dossierPhones: empty(),
    telegramDeadLetters: empty(),
  };
  for (const t of await ZaloToken.find({}).lean()) {
    const access = reseal(ring, t.accessTokenEnc, t.appId, report.zaloTokens);
    const refresh = reseal(ring, t.refreshTokenEnc, t.appId, report.zaloTokens);
    if (access === null && refresh === null) continue;
    await ZaloToken.updateOne(
      { _id: t._id, accessTokenEnc: t.accessTokenEnc, refreshTokenEnc: t.refreshTokenEnc },
      { $set: { accessTokenEnc: access ?? t.accessTokenEnc, refreshTokenEnc: refresh ?? t.refreshTokenEnc } },
    );
  }
  for (const k of await ApiKey.find({ signingSecretEnc: { $type: 'string' } }).lean()) {
    const next = reseal(ring, k.signingSecretEnc!, `apikey:${k.keyId}`, report.apiKeys);
    if (next)
      await ApiKey.updateOne(
        { _id: k._id, signingSecretEnc: k.signingSecretEnc },
        { $set: { signingSecretEnc: next } },
      );
  }
  const dossiers = await Dossier.find(
    { 'invitation.phoneSealed': { $exists: true } },
    { code: 1, 'invitation.phoneSealed': 1 },
  ).lean<Array<{ _id: unknown; code: string; invitation?: { phoneSealed?: string } }>>();
  for (const d of dossiers) {
    const sealed = d.invitation?.phoneSealed;
    if (!sealed) continue;
    const next = reseal(ring, sealed, `dossier-phone:${d.code}`, report.dossierPhones);
    if (next)
      await Dossier.updateOne(
        { _id: d._id, 'invitation.phoneSealed': sealed },
        { $set: { 'invitation.phoneSealed': next } },
      );
  }
  if (redis && telegram) {
    const store = new DeadLetterStore(redis, (...parts) =>
      [telegram.prefix, 'tg', telegram.botId, ...parts].join(':'),
    );
    const r = await store.reseal(ring, telegram.botId);
    report.telegramDeadLetters.resealed = r.resealed;
    report.telegramDeadLetters.unreadable = r.unreadable;
  }
  return report;
}

const LABELS: Record<keyof RotationReport, string> = {
  zaloTokens: 'Token Zalo OA / Zalo OA tokens',
  apiKeys: 'Khoá ký API / API signing secrets',
  dossierPhones: 'Số điện thoại chờ gửi ZNS / phones kept for ZNS',
  telegramDeadLetters: 'Thư lỗi Telegram / Telegram dead letters',
};

/** `hailong secrets rotate`: re-seals what older keys sealed (docs/operations.md, "Rotating SECRETS_KEY"). */
export function registerSecretsCommands(program: Command): void {
  const cmd = program.command('secrets').description('Khoá bí mật / secrets at rest');
  cmd
    .command('rotate')
    .description(
      'Mã hoá lại bằng SECRETS_KEY mới mọi giá trị đã mã hoá bằng khoá trong SECRETS_KEY_PREVIOUS / ' +
        're-seal under SECRETS_KEY what SECRETS_KEY_PREVIOUS keys sealed',
    )
    .action(async () => {
      const e = env();
      if (!e.SECRETS_KEY)
        throw new UserError(
          'Chưa đặt SECRETS_KEY: không có gì để mã hoá lại.',
          'SECRETS_KEY is not set: nothing to re-seal.',
          2,
        );
      const ring = parseSecretsKey(e.SECRETS_KEY, e.SECRETS_KEY_PREVIOUS);
      const botId = e.TELEGRAM_BOT_TOKEN?.split(':')[0] ?? null;
      const redis = botId ? createProducerConnection(e) : null;
      try {
        const report = await withMongo(() =>
          rotateStoredSecrets(ring, redis, botId ? { prefix: e.REDIS_PREFIX, botId } : null),
        );
        let left = 0;
        for (const [store, r] of Object.entries(report) as Array<[keyof RotationReport, StoreRotation]>) {
          console.log(
            `${LABELS[store]}: mã hoá lại / re-sealed ${r.resealed}, đã dùng khoá mới / already current ${r.current}, ` +
              `không mở được / unreadable ${r.unreadable}`,
          );
          left += r.resealed + r.unreadable;
        }
        console.log(
          left === 0
            ? 'Mọi giá trị đã dùng khoá mới: có thể bỏ khoá cũ khỏi SECRETS_KEY_PREVIOUS. / Everything is under the new key: the old key may leave SECRETS_KEY_PREVIOUS.'
            : 'Chạy lại lệnh sau khi mọi tiến trình đã dùng khoá mới; chỉ bỏ khoá cũ khi mọi số trên bằng 0. / Run it again once every process has the new ring; drop the old key only when every count above is 0.',
        );
        if (report.zaloTokens.unreadable + report.apiKeys.unreadable + report.dossierPhones.unreadable > 0)
          process.exitCode = 1;
      } finally {
        if (redis) await redis.quit();
      }
    });
  cmd
    .command('phone-hashes')
    .description(
      'Đếm mã băm số điện thoại theo khoá (PHONE_HASH_KEY, PHONE_HASH_KEY_PREVIOUS) / ' +
        'count the stored phone hashes per key during a change of PHONE_HASH_KEY',
    )
    .option(
      '--mark-current',
      'ghi khoá hiện tại cho mã băm chưa ghi khoá (trước lần đổi khoá đầu tiên) / ' +
        'name the current key on unmarked hashes (once, before the first change of the key)',
    )
    .action(async (opts: { markCurrent?: boolean }) => {
      const e = env();
      const keys = phoneHashKeys(e.PHONE_HASH_KEY, e.PHONE_HASH_KEY_PREVIOUS);
      await withMongo(async () => {
        if (opts.markCurrent) {
          const marked = await markUnkeyedPhoneHashes(keys);
          console.log(
            `Đã ghi khoá / marked: liên hệ / contacts ${marked.contacts}, hồ sơ / dossiers ${marked.dossiers}`,
          );
        }
        const report = await phoneHashReport(keys);
        const line = (label: string, c: PhoneHashCounts) =>
          `${label}: khoá hiện tại / current key ${c.current}, ` +
          c.previous.map((n, i) => `khoá cũ / previous key ${i + 1}: ${n}, `).join('') +
          `chưa ghi khoá / unmarked ${c.unmarked}, khoá khác / another key ${c.unknownKey}`;
        console.log(line('Liên hệ / contacts', report.contacts));
        console.log(line('Hồ sơ / dossiers', report.dossiers));
        const left = [report.contacts, report.dossiers].reduce(
          (n, c) => n + c.previous.reduce((a, b) => a + b, 0) + c.unmarked + c.unknownKey,
          0,
        );
        console.log(
          left === 0
            ? 'Mọi mã băm đã dùng khoá hiện tại: có thể bỏ PHONE_HASH_KEY_PREVIOUS. / Every hash is under the current key: PHONE_HASH_KEY_PREVIOUS may go.'
            : 'Còn mã băm theo khoá khác: giữ PHONE_HASH_KEY_PREVIOUS (docs/operations.md). / Hashes under other keys remain: keep PHONE_HASH_KEY_PREVIOUS (docs/operations.md).',
        );
        // Under no key of the ring: a request by phone finds them no more (a key left too soon).
        if (report.contacts.unknownKey + report.dossiers.unknownKey > 0) process.exitCode = 1;
      });
    });
}
