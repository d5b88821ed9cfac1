import type { Command } from 'commander';
import mongoose from 'mongoose';
import { env } from '../../config/env';
import { logger } from '../../lib/logger';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { createProducerConnection } from '../../lib/redis';
import { UserError } from '../../lib/user-error';
import { startZaloConnect, zaloRedirectUri } from '../../bot/channels/zalo/connect';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { parseSecretsKey } from '../../lib/secret-box';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';

/**
 * `hailong zalo connect`: prints the OA permission link (OAuth v4 + PKCE); the callback route
 * stores the token pair. `hailong zalo set-token --access-token A --refresh-token R
 * --expires-in SECONDS`: stores a pair an operator already holds (contract name: keep it).
 * `hailong zalo status`: is the channel usable?
 */
async function withZalo<T>(
  fn: (tools: { store: ZaloTokenStore; redis: ReturnType<typeof createProducerConnection> }) => Promise<T>,
): Promise<T> {
  const e = env();
  const missing = (['ZALO_APP_ID', 'ZALO_APP_SECRET', 'SECRETS_KEY'] as const).filter((k) => !e[k]);
  if (missing.length > 0)
    throw new UserError(
      `chưa đặt ${missing.join(', ')} (docs/zalo.md)`,
      `set ${missing.join(', ')} first (docs/zalo.md)`,
      2,
    );
  const own = mongoose.connection.readyState !== 1;
  if (own) await connectMongo(e.MONGODB_URI);
  const redis = createProducerConnection(e);
  try {
    const oauth = new ZaloOAuthClient({
      oauthRoot: e.ZALO_OAUTH_ROOT,
      appId: e.ZALO_APP_ID!,
      appSecret: e.ZALO_APP_SECRET!,
    });
    const store = new ZaloTokenStore({
      appId: e.ZALO_APP_ID!,
      secretsKey: parseSecretsKey(e.SECRETS_KEY, e.SECRETS_KEY_PREVIOUS),
      redis,
      prefix: e.REDIS_PREFIX,
      oauth,
      log: logger,
      refreshAheadMs: e.ZALO_REFRESH_AHEAD_S * 1000,
    });
    return await fn({ store, redis });
  } finally {
    await redis.quit();
    if (own) await disconnectMongo();
  }
}

export function registerZaloCommands(program: Command): void {
  const cmd = program.command('zalo').description('Kết nối Zalo Official Account / Zalo OA connection');

  cmd
    .command('connect')
    .description(
      'In đường dẫn cấp quyền cho quản trị viên OA (hiệu lực 10 phút) / print the OA permission link (valid 10 min)',
    )
    .action(async () => {
      await withZalo(async ({ redis }) => {
        const e = env();
        const { url } = await startZaloConnect({
          redis,
          prefix: e.REDIS_PREFIX,
          oauthRoot: e.ZALO_OAUTH_ROOT,
          appId: e.ZALO_APP_ID!,
          redirectUri: zaloRedirectUri(e.PUBLIC_URL),
        });
        console.log(
          'Quản trị viên OA mở đường dẫn sau và bấm Cho phép / The OA admin opens this link and grants access:',
        );
        console.log(`Callback URL to register in the Zalo console: ${zaloRedirectUri(e.PUBLIC_URL)}`);
        console.log(url);
      });
    });

  cmd
    .command('set-token')
    .description('Lưu cặp token đã có / store a token pair you already hold')
    .requiredOption('--access-token <token>', 'OA access token')
    .requiredOption('--refresh-token <token>', 'OA refresh token (single use)')
    .requiredOption('--expires-in <seconds>', 'access token lifetime in seconds (Zalo: 90000)')
    .option('--oa-id <id>', 'the OA id, for reference')
    .action(async (opts: { accessToken: string; refreshToken: string; expiresIn: string; oaId?: string }) => {
      const expiresIn = Number(opts.expiresIn);
      if (!Number.isInteger(expiresIn) || expiresIn <= 0)
        throw new UserError(
          '--expires-in cần số giây dương',
          '--expires-in: expected a positive number of seconds',
          2,
        );
      await withZalo(async ({ store }) => {
        await store.save(
          { accessToken: opts.accessToken, refreshToken: opts.refreshToken, expiresIn },
          opts.oaId ?? null,
        );
        const h = await store.health();
        console.log(
          `Đã lưu token Zalo (mã hoá) / Zalo tokens stored (encrypted); expires ${h.expiresAt?.toISOString() ?? '?'}`,
        );
      });
    });

  cmd
    .command('status')
    .description('Trạng thái kết nối Zalo / Zalo connection status')
    .action(async () => {
      await withZalo(async ({ store }) => {
        const h = await store.health();
        console.log(
          h.healthy ? `ok: token valid until ${h.expiresAt?.toISOString()}` : `unhealthy: ${h.reason}`,
        );
        if (!h.healthy) process.exitCode = 1;
      });
    });
}
