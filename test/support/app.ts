import net from 'node:net';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { parseEnv, type Env } from '../../config/env';
import { startApp, type Role, type RunningApp } from '../../app/start';
import { FlowRepository } from '../../bot/flow/repository';
import { defaultFlow } from '../../bot/flow/default-flow';
import { Unit } from '../../models/unit';
import { clearPrefix, mongoUri, redisUrl, testPrefix, uniqueName } from './services';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The test MongoDB URI with a fresh database name in its path. */
export function uriWithDb(dbName: string): string {
  const u = new URL(mongoUri());
  u.pathname = `/${dbName}`;
  return u.toString();
}

export interface TestApp {
  app: RunningApp;
  env: Env;
  baseUrl: string;
  redis: Redis;
  stop(): Promise<void>;
}

/**
 * Starts the whole process (startApp) on a free port with a fresh database and key prefix,
 * seeded with the default flow and one unit. `stop()` drains it and removes its data.
 */
export async function startTestApp(
  label: string,
  overrides: Record<string, string> = {},
  roles?: Role[],
): Promise<TestApp> {
  const port = await freePort();
  const prefix = testPrefix(label);
  const env = parseEnv({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    MONGODB_URI: uriWithDb(uniqueName(label)),
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    ...overrides,
  });
  const app = await startApp({ env, ...(roles ? { roles } : {}) });
  await new FlowRepository().ensure(defaultFlow);
  await Unit.updateOne(
    { code: '19870' },
    {
      $setOnInsert: {
        code: '19870',
        name: 'Xã Quảng Thái',
        level: 'commune',
        parentCode: '477',
        validTo: new Date('2025-06-30T16:59:59Z'),
        successorCode: 'QD-DAN-DIEN',
      },
    },
    { upsert: true },
  );
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  return {
    app,
    env,
    baseUrl: `http://127.0.0.1:${port}`,
    redis,
    async stop() {
      await app.stop().catch(() => undefined);
      // startApp's shutdown closed mongoose; reconnect briefly to drop the test database.
      const conn = await mongoose.createConnection(env.MONGODB_URI).asPromise();
      await conn.dropDatabase();
      await conn.close();
      await clearPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
