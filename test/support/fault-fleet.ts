import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { Unit } from '../../models/unit';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
import { logger } from '../../lib/logger';
import { parseSecretsKey } from '../../lib/secret-box';
import { FakeTelegram } from '../fakes/telegram-server';
import type { FakeZaloServer } from '../fakes/zalo-server';
import { freePort } from './app';
import { fleetEnv, startAppProcess, stopProcess, type AppProcess } from './fleet';
import { clearPrefix, testPrefix } from './services';

/**
 * The fleet most fault tests run: the fake Telegram, one `http,bot` process and one `workers`
 * process (separate OS processes, as `hailong start --roles …` deploys them) on the given
 * MongoDB and Redis, a unit and the default flow seeded. The test owns the fault. With `zalo`
 * (a started FakeZaloServer) the Zalo channel is configured too, connected as `hailong zalo
 * connect` leaves it (a token pair stored encrypted); its webhook is `zaloWebhook`.
 */
export const FLEET_SECRET = 'fault_fleet-SECRET_1';
export const FLEET_UNIT = '19867';
const FLEET_SECRETS_KEY = Buffer.alloc(32, 9).toString('base64');

export interface FaultFleet {
  fake: FakeTelegram;
  bot: AppProcess;
  workers: AppProcess;
  prefix: string;
  /** A client of the fleet's Redis (the test's own or the shared one). */
  redis: Redis;
  /** The bot process's Zalo webhook (with `zalo`), else null. */
  zaloWebhook: string | null;
  /** The fleet's variables, to start a process again after a stop (`startAppProcess(roles, env, port)`). */
  env: Record<string, string>;
  /** The bot process's HTTP port (the fake's webhook points at it). */
  port: number;
  stop(): Promise<void>;
}

export async function startFaultFleet(o: {
  label: string;
  mongoUri: string;
  redisUrl: string;
  extra?: Record<string, string>;
  zalo?: FakeZaloServer;
}): Promise<FaultFleet> {
  const fake = await FakeTelegram.start();
  // Telegram retries a failed webhook for a long time; the fake's default gives up after ~3 s.
  fake.webhookMaxAttempts = 14;
  const prefix = testPrefix(o.label);
  await mongoose.connect(o.mongoUri, { serverSelectionTimeoutMS: 5000 });
  await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
  await new FlowRepository().ensure(defaultFlow);
  await Unit.create({ code: FLEET_UNIT, name: 'Thị trấn Sịa', level: 'town' });
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  const z = o.zalo;
  if (z)
    await new ZaloTokenStore({
      appId: z.appId,
      secretsKey: parseSecretsKey(FLEET_SECRETS_KEY),
      redis,
      prefix,
      oauth: new ZaloOAuthClient({ oauthRoot: z.url, appId: z.appId, appSecret: z.appSecret }),
      log: logger,
      refreshAheadMs: 0,
    }).save(z.issuePair());
  const zaloEnv: Record<string, string> = z
    ? {
        SECRETS_KEY: FLEET_SECRETS_KEY,
        ZALO_APP_ID: z.appId,
        ZALO_APP_SECRET: z.appSecret,
        ZALO_OA_SECRET_KEY: z.oaSecretKey,
        ZALO_API_ROOT: z.url,
        ZALO_OAUTH_ROOT: z.url,
        ZALO_BUSINESS_API_ROOT: z.url,
      }
    : {};
  const env = fleetEnv({
    mongoUri: o.mongoUri,
    redisUrl: o.redisUrl,
    prefix,
    telegram: fake,
    secret: FLEET_SECRET,
    extra: { ...zaloEnv, ...o.extra },
  });
  const port = await freePort();
  const [bot, workers] = await Promise.all([
    startAppProcess('http,bot', env, port),
    startAppProcess('workers', env),
  ]);
  fake.setWebhook(`http://127.0.0.1:${port}/webhooks/telegram`, FLEET_SECRET);
  const fleet: FaultFleet = {
    fake,
    bot,
    workers,
    prefix,
    redis,
    zaloWebhook: z ? `http://127.0.0.1:${port}/webhooks/zalo` : null,
    env,
    port,
    async stop() {
      // The processes now in the fleet (a test may have replaced them after a stop).
      await Promise.all([fleet.bot, fleet.workers].map((p) => stopProcess(p.proc, 'SIGKILL')));
      await fake.close();
      if (mongoose.connection.readyState === 1) {
        await mongoose.connection.dropDatabase().catch(() => undefined);
        await mongoose.disconnect();
      }
      await clearPrefix(redis, prefix).catch(() => undefined);
      redis.disconnect();
    },
  };
  return fleet;
}
