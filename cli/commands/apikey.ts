import type { Command } from 'commander';
import mongoose from 'mongoose';
import { env } from '../../config/env';
import { createApiKey, revokeApiKey } from '../../lib/api-auth';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { UserError } from '../../lib/user-error';
import { ApiKey } from '../../models/api-key';
import { requireUnits } from './unit-option';

/**
 * `hailong apikey create --name NAME [--unit CODE]... [--hmac]`: the key is printed once, on the
 * last line (scripts read it with `tail -1`); only its SHA-256 is stored.
 * `hailong apikey revoke KEY_ID`, `hailong apikey list`.
 */
export async function withDb<T>(fn: () => Promise<T>): Promise<T> {
  // The CLI entry point may already have connected; then it also disconnects.
  const own = mongoose.connection.readyState !== mongoose.ConnectionStates.connected;
  if (own) await connectMongo(env().MONGODB_URI);
  try {
    return await fn();
  } finally {
    if (own) await disconnectMongo();
  }
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerApikeyCommand(program: Command): void {
  const cmd = program
    .command('apikey')
    .description('Khoá API cho hệ thống một cửa / API keys for one-stop systems');

  cmd
    .command('create')
    .requiredOption('--name <name>', 'who uses the key (e.g. "Một cửa huyện Quảng Điền")')
    .option(
      '--unit <code>',
      'limit the key to this unit and the units below it (repeatable)',
      collect,
      [] as string[],
    )
    .option('--hmac', 'also create a signing secret for HMAC-signed requests (needs SECRETS_KEY)')
    .description('Tạo khoá API (chỉ hiện một lần) / create a key, shown once')
    .action(async (opts: { name: string; unit: string[]; hmac?: boolean }) => {
      await withDb(async () => {
        await requireUnits(opts.unit);
        const e = env();
        const created = await createApiKey({
          name: opts.name,
          unitCodes: opts.unit,
          signing: opts.hmac === true,
          ...(e.SECRETS_KEY ? { secretsKey: e.SECRETS_KEY } : {}),
        });
        console.log(`key id: ${created.keyId}`);
        console.log(`units: ${opts.unit.length > 0 ? opts.unit.join(', ') : '(all)'}`);
        if (created.signingSecret)
          console.log(
            `signing secret (X-Hailong-Key-Id ${created.keyId}, shown once): ${created.signingSecret}`,
          );
        console.log('Lưu khoá này ngay: nó chỉ hiện một lần. / Store this key now: it is shown once.');
        console.log(created.key);
      });
    });

  cmd
    .command('revoke')
    .argument('<keyId>', 'the key id printed at creation (or the 12 hex characters after "hl_")')
    .description('Thu hồi khoá / revoke a key')
    .action(async (keyId: string) => {
      await withDb(async () => {
        if (!(await revokeApiKey(keyId)))
          throw new UserError(`không có khoá đang dùng ${keyId}`, `no live key ${keyId}`);
        console.log(`revoked ${keyId}`);
      });
    });

  cmd
    .command('list')
    .description('Liệt kê khoá / list keys (never the keys themselves)')
    .action(async () => {
      await withDb(async () => {
        const keys = await ApiKey.find({}).sort({ createdAt: 1 }).lean();
        for (const k of keys) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
          console.log(
            `${k.keyId}\t${k.name}\t${k.unitCodes.join(',') || '(all)'}\t${k.signingSecretEnc ? 'hmac' : '-'}\t${state}\t${k.lastUsedAt?.toISOString() ?? 'never used'}`,
          );
        }
      });
    });
}
