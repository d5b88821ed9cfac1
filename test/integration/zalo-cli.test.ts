import { Command } from 'commander';
import { logger } from '../../lib/logger';
import { ZaloToken } from '../../models/zalo-token';
import { registerZaloCommands } from '../../cli/commands/zalo';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { parseSecretsKey } from '../../lib/secret-box';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const prefix = testPrefix('zalocli');
const redis = testRedis();

beforeAll(async () => {
  // The CLI reads the process configuration once: set it before the first command.
  Object.assign(process.env, { ZALO_APP_ID: 'cli-app', ZALO_APP_SECRET: 'cli-secret', SECRETS_KEY: '44'.repeat(32), REDIS_PREFIX: prefix, PUBLIC_URL: 'https://hailong.example' });
  await connectTestDb('zalocli');
});
afterAll(async () => {
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

function program(): Command {
  const p = new Command().exitOverride();
  registerZaloCommands(p);
  return p;
}

test('set-token stores the pair encrypted under the contract option names', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  await program().parseAsync(['zalo', 'set-token', '--access-token', 'AT-cli', '--refresh-token', 'RT-cli', '--expires-in', '90000'], { from: 'user' });
  const doc = await ZaloToken.findOne({ appId: 'cli-app' }).lean();
  expect(doc).not.toBeNull();
  expect(JSON.stringify(doc)).not.toContain('AT-cli');
  const store = new ZaloTokenStore({
    appId: 'cli-app',
    secretsKey: parseSecretsKey('44'.repeat(32)),
    redis,
    prefix,
    oauth: new ZaloOAuthClient({ oauthRoot: 'http://127.0.0.1:9', appId: 'cli-app', appSecret: 'x' }),
    log: logger,
    refreshAheadMs: 0,
  });
  expect(await store.getAccessToken()).toBe('AT-cli');

  await program().parseAsync(['zalo', 'connect'], { from: 'user' });
  const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
  expect(printed).toMatch(/\/v4\/oa\/permission\?app_id=cli-app&redirect_uri=https%3A%2F%2Fhailong.example%2Foauth%2Fzalo%2Fcallback&code_challenge=[A-Za-z0-9_-]{43}&state=/);
  expect(await redis.keys(`${prefix}:zalo:pkce:*`)).toHaveLength(1);
  log.mockRestore();
});
