import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { ZaloToken } from '../../models/zalo-token';
import type { InboundEvent, TurnReply } from '../../bot/channels/channel';
import { createHttpServer } from '../../bot/http/server';
import { ZaloInboundQueue } from '../../bot/channels/zalo/inbound-queue';
import { startZaloInboundWorker } from '../../bot/channels/zalo/inbound-worker';
import type { RunningWorkers } from '../../workers/runner';
import type { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { FakeZaloServer } from '../fakes/zalo-server';
import { connectedZaloClient, testZaloWebhookRoute } from '../support/zalo';
import { startContactWriter } from '../support/contact-writer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';
import { until as waitUntil } from '../support/until';

/** Counts turns; answers each with one text so sends are visible on the fake. */
class CountingConversation {
  readonly seen: InboundEvent[] = [];
  async handle(e: InboundEvent): Promise<TurnReply> {
    this.seen.push(e);
    return { messages: [{ kind: 'text', text: `nhận ${this.seen.length}` }], lang: 'vi' };
  }
}

let fake: FakeZaloServer;
let prefix: string;
let redis: Redis;
let workerConn: Redis;
let app: FastifyInstance;
let url: string;
let queue: ZaloInboundQueue;
let worker: RunningWorkers;
let limiter: ZaloRateLimiter;
let conversation: CountingConversation;
let failAdds = 0;
let writer: Awaited<ReturnType<typeof startContactWriter>>;
/** Every job payload the route queued, as stored. */
const queued: string[] = [];

beforeAll(async () => {
  await connectTestDb('zalowebhook');
  prefix = testPrefix('zalowebhook');
  redis = testRedis();
  workerConn = testRedis();
  fake = await new FakeZaloServer({ retryDelaysMs: [50, 100, 200] }).start();
  const connected = await connectedZaloClient(fake, redis, prefix, { secretsKey: '22'.repeat(32) });
  limiter = connected.limiter;
  const client = connected.client;
  queue = new ZaloInboundQueue(redis, prefix);
  // A queue whose add can be made to fail, to see Zalo's retry deliver the event later.
  const flaky = {
    add: (...args: Parameters<ZaloInboundQueue['add']>) => {
      if (failAdds-- > 0) return Promise.reject(new Error('redis down'));
      queued.push(JSON.stringify(args[1]));
      return queue.add(...args);
    },
  } as unknown as ZaloInboundQueue;
  app = createHttpServer({ bodyLimit: 65536 });
  await app.register(testZaloWebhookRoute(fake, redis, prefix, flaky));
  url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/webhooks/zalo`;
  conversation = new CountingConversation();
  worker = await startZaloInboundWorker({
    ctx: { env: parseEnv({ NODE_ENV: 'test' }), log: logger, redis, prefix },
    producer: queue.producer,
    // Closed with the worker.
    createConnection: () => workerConn,
    deps: { conversation, client, redis, prefix, log: logger, phoneHashKey: 'k' },
  });
  fake.echoUrl = url;
  writer = await startContactWriter(redis, prefix);
});

afterAll(async () => {
  await writer.close();
  await worker.close();
  await limiter.close();
  await queue.close();
  await app.close();
  await fake.close();
  await ZaloToken.deleteMany({});
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

async function nothingStored(): Promise<void> {
  expect(await queue.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed')).toEqual({
    waiting: 0,
    active: 0,
    completed: 0,
    failed: 0,
    delayed: 0,
  });
  expect(await redis.keys(`${prefix}:zalo:done:*`)).toEqual([]);
}

test('a forged, missing or replayed signature is refused with 401 and nothing stored', async () => {
  const event = fake.textEvent('u-forged', '5');
  const forged = fake.sign(event, { secret: 'not-the-oa-secret' });
  expect(await fake.post(url, forged.body, forged.headers)).toBe(401);

  const signed = fake.sign(event);
  const { 'x-zevent-signature': _sig, ...unsigned } = signed.headers;
  expect(await fake.post(url, signed.body, unsigned)).toBe(401);

  // The body changed after signing (same header): refused.
  expect(await fake.post(url, signed.body.replace('"5"', '"1"'), signed.headers)).toBe(401);

  // A correctly signed request captured three hours ago and replayed now.
  const old = fake.sign(fake.textEvent('u-forged', '5'), { timestamp: Date.now() - 3 * 3600_000 });
  expect(await fake.post(url, old.body, old.headers)).toBe(401);
  const future = fake.sign(fake.textEvent('u-forged', '5'), { timestamp: Date.now() + 3600_000 });
  expect(await fake.post(url, future.body, future.headers)).toBe(401);

  await nothingStored();
  expect(conversation.seen).toHaveLength(0);
  expect(await Contact.countDocuments({ channelUserId: 'u-forged' })).toBe(0);
});

test('a duplicate webhook (same msg_id, Zalo retry) is processed once', async () => {
  const signed = fake.sign(fake.textEvent('u-dup', 'xin chào', 'dupmsg1'));
  expect(await fake.post(url, signed.body, signed.headers)).toBe(200);
  expect(await fake.post(url, signed.body, { ...signed.headers, num_retry: '1' })).toBe(200);
  await until(() => fake.csTo('u-dup').length >= 1, 'the reply');
  // Once processed, a later retry is dropped at the door.
  expect(await fake.post(url, signed.body, { ...signed.headers, num_retry: '2' })).toBe(200);
  await until(async () => (await queue.queue.getJobCounts('completed')).completed >= 1, 'the job');
  await new Promise((r) => setTimeout(r, 200));
  expect(conversation.seen.filter((e) => e.userId === 'u-dup')).toHaveLength(1);
  expect(fake.csTo('u-dup')).toHaveLength(1);
  // Once its replies were saved, the finished job no longer holds what the citizen typed.
  expect(await redisText()).not.toContain('xin chào');
});

test('an event refused at first is delivered by Zalo retry (num_retry) and answered once', async () => {
  failAdds = 1;
  const statuses = await fake.deliver(url, fake.textEvent('u-retry', 'chào'));
  expect(statuses).toEqual([500, 200]);
  await until(() => fake.csTo('u-retry').length === 1, 'the reply');
  expect(conversation.seen.filter((e) => e.userId === 'u-retry')).toHaveLength(1);
});

test('our own oa_send_* echoes are acknowledged and ignored', async () => {
  const before = conversation.seen.length;
  const statuses = await fake.deliver(url, {
    event_name: 'oa_send_text',
    sender: { id: fake.oaId },
    recipient: { id: 'u-echo' },
    message: { text: 'x', msg_id: 'echo1' },
  });
  expect(statuses).toEqual([200]);
  expect(conversation.seen.length).toBe(before);
});

/** Every string and hash value under the test prefix (BullMQ keeps a job's data in a hash). */
/** Every wait in this file gives up after 5 s. */
const until = (cond: () => boolean | Promise<boolean>, what: string) => waitUntil(cond, what, 5_000);

async function redisText(): Promise<string> {
  const parts: string[] = [];
  for (const k of await redis.keys(`${prefix}*`)) {
    const type = await redis.type(k);
    if (type === 'string') parts.push((await redis.get(k)) ?? '');
    if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(k)));
  }
  return parts.join('\n');
}

test('unfollow unsubscribes the contact; submitted phone is stored only as a hash', async () => {
  await fake.deliver(url, fake.followEvent('u-f', 'unfollow'));
  await until(
    async () => Boolean((await Contact.findOne({ channelUserId: 'u-f' }).lean())?.unsubscribedAt),
    'unsubscribe',
  );
  await fake.deliver(url, fake.submitInfoEvent('u-f', { name: 'Nguyễn Thị Hoa', phone: '84912345678' }));
  // Sharing details through Zalo's form is writing to the OA: it is answered, once.
  await until(() => fake.csTo('u-f').length === 1, 'the acknowledgement');
  expect(fake.csTo('u-f')).toEqual([{ text: 'Cảm ơn Ông/Bà đã chia sẻ thông tin.' }]);
  const c = await Contact.findOne({ channelUserId: 'u-f' }).lean();
  expect(c?.phoneHash).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.stringify(c)).not.toContain('912345678');
  // Nor does the job keep the shared phone or name in Redis (dropped before the answer is sent).
  expect(await redisText()).not.toMatch(/912345678|Nguyễn Thị Hoa/);
  // The route hashed the phone before queueing: it was never in Redis at all.
  expect(queued.some((q) => q.includes('user_submit_info') && q.includes('phone_hash'))).toBe(true);
  expect(queued.join('\n')).not.toMatch(/912345678|Nguyễn Thị Hoa/);
  await fake.deliver(url, fake.followEvent('u-f', 'follow'));
  await until(
    async () => (await Contact.findOne({ channelUserId: 'u-f' }).lean())?.unsubscribedAt === null,
    're-follow',
  );
  await until(() => fake.csTo('u-f').length === 2, 'the greeting');
  expect(fake.csTo('u-f')[1]!.text).toMatch(/^Xin chào!/);
});

test('a citizen who chose English is thanked in English for sharing their details', async () => {
  await Contact.create({ channel: 'zalo', channelUserId: 'u-en', lang: 'en' });
  await fake.deliver(url, fake.submitInfoEvent('u-en', { name: 'Tran Van B', phone: '0987654321' }));
  await until(() => fake.csTo('u-en').length === 1, 'the acknowledgement');
  expect(fake.csTo('u-en')).toEqual([{ text: 'Thank you for sharing your details.' }]);
  await writer.settled();
  expect((await Contact.findOne({ channelUserId: 'u-en' }).lean())?.phoneHash).toMatch(/^[0-9a-f]{64}$/);
});

test('malformed JSON, an oversized body or an unknown event get a clear answer and change nothing', async () => {
  const counts = () => queue.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  // The previous test's job may still be finishing: start from a settled queue.
  await until(async () => {
    const c = await counts();
    return c.waiting + c.active + c.delayed === 0;
  }, 'the queue to settle');
  const before = { counts: await counts(), queued: queued.length, seen: conversation.seen.length };
  const post = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(url, { method: 'POST', body, headers });
    return { status: res.status, json: (await res.json()) as { error?: string; ignored?: string } };
  };
  // Cut-off JSON is refused by the server's parser, before any signature check.
  const broken = '{"event_name":"user_send_text","sender":{"id":"u-bad"},"timestamp":"1';
  const { headers } = fake.sign({});
  expect(await post(broken, headers)).toMatchObject({ status: 400, json: { error: 'bad_request' } });
  const huge = fake.sign(fake.textEvent('u-bad', 'x'.repeat(70_000)));
  expect(await post(huge.body, huge.headers)).toMatchObject({
    status: 413,
    json: { error: 'body_too_large' },
  });
  const unknown = fake.sign({
    event_name: 'add_user_to_tag',
    sender: { id: 'u-bad' },
    message: { msg_id: 'tagged1' },
  });
  expect(await post(unknown.body, unknown.headers)).toMatchObject({
    status: 200,
    json: { ignored: 'unhandled add_user_to_tag' },
  });
  expect(await counts()).toEqual(before.counts);
  expect(queued.length).toBe(before.queued);
  expect(conversation.seen.length).toBe(before.seen);
  expect(await Contact.countDocuments({ channelUserId: 'u-bad' })).toBe(0);
});
