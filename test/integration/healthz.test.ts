import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { createHttpServer } from '../../bot/http/server';
import { healthzRoute } from '../../bot/http/routes/healthz';
import { freePort } from '../support/app';
import { testLog } from '../support/ingest';
import { connectTestDb, dropTestDb, testRedis } from '../support/services';

let redis: Redis;
let deadRedis: Redis;

beforeAll(async () => {
  await connectTestDb('healthz');
  redis = testRedis();
  // Nothing listens on this port: every command fails.
  deadRedis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Fails at once and stays closed (no reconnect timers left behind).
  await deadRedis.connect().catch(() => undefined);
});

const open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close()));
});

afterAll(async () => {
  await redis.quit();
  deadRedis.disconnect();
  await dropTestDb();
});

/** A real listening server (light-my-request's inject cannot load under jest). */
async function server(
  r: Redis,
): Promise<FastifyInstance & { get(): Promise<{ status: number; body: unknown }> }> {
  const app = createHttpServer({ bodyLimit: 1024 });
  await app.register(healthzRoute({ redis: r, log: testLog, timeoutMs: 2000 }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  open.push(app);
  return Object.assign(app, {
    async get() {
      const res = await fetch(`${url}/healthz`);
      return { status: res.status, body: await res.json() };
    },
  });
}

test('200 when Redis and MongoDB both answer', async () => {
  const app = await server(redis);
  const res = await app.get();
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ status: 'ok', redis: 'ok', mongodb: 'ok' });
});

test('503 naming Redis when Redis does not answer', async () => {
  const app = await server(deadRedis);
  const res = await app.get();
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ status: 'unavailable', redis: 'down', mongodb: 'ok' });
});

test('503 naming MongoDB when it is not connected, 200 again once it is', async () => {
  const app = await server(redis);
  const dbName = mongoose.connection.name;
  await mongoose.disconnect();
  try {
    const res = await app.get();
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', redis: 'ok', mongodb: 'down' });
  } finally {
    await mongoose.connect(process.env.MONGODB_URI!, { dbName });
  }
  expect((await app.get()).status).toBe(200);
});
