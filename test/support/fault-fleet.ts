import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { Unit } from '../../models/unit';
import { FakeTelegram } from '../fakes/telegram-server';
import { freePort } from './app';
import { fleetEnv, startAppProcess, stopProcess, type AppProcess } from './fleet';
import { clearPrefix, testPrefix } from './services';

/**
 * The fleet most fault tests run: the fake Telegram, one `http,bot` process and one `workers`
 * process (separate OS processes, as `hailong start --roles …` deploys them) on the given
 * MongoDB and Redis, a unit and the default flow seeded. The test owns the fault.
 */
export const FLEET_SECRET = 'fault_fleet-SECRET_1';
export const FLEET_UNIT = '19867';

export interface FaultFleet {
  fake: FakeTelegram;
  bot: AppProcess;
  workers: AppProcess;
  prefix: string;
  /** A client of the fleet's Redis (the test's own or the shared one). */
  redis: Redis;
  stop(): Promise<void>;
}

export async function startFaultFleet(o: {
  label: string;
  mongoUri: string;
  redisUrl: string;
  extra?: Record<string, string>;
}): Promise<FaultFleet> {
  const fake = await FakeTelegram.start();
  // Telegram retries a failed webhook for a long time; the fake's default gives up after ~3 s.
  fake.webhookMaxAttempts = 14;
  const prefix = testPrefix(o.label);
  await mongoose.connect(o.mongoUri, { serverSelectionTimeoutMS: 5000 });
  await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
  await new FlowRepository().ensure(defaultFlow);
  await Unit.create({ code: FLEET_UNIT, name: 'Thị trấn Sịa', level: 'town' });
  const env = fleetEnv({
    mongoUri: o.mongoUri,
    redisUrl: o.redisUrl,
    prefix,
    telegram: fake,
    secret: FLEET_SECRET,
    ...(o.extra ? { extra: o.extra } : {}),
  });
  const port = await freePort();
  const [bot, workers] = await Promise.all([
    startAppProcess('http,bot', env, port),
    startAppProcess('workers', env),
  ]);
  fake.setWebhook(`http://127.0.0.1:${port}/webhooks/telegram`, FLEET_SECRET);
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  return {
    fake,
    bot,
    workers,
    prefix,
    redis,
    async stop() {
      await Promise.all([bot, workers].map((p) => stopProcess(p.proc, 'SIGKILL')));
      await fake.close();
      if (mongoose.connection.readyState === 1) {
        await mongoose.connection.dropDatabase().catch(() => undefined);
        await mongoose.disconnect();
      }
      await clearPrefix(redis, prefix).catch(() => undefined);
      redis.disconnect();
    },
  };
}
