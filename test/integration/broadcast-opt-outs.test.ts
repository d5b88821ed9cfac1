import { setTimeout as sleep } from 'node:timers/promises';
import { markZaloContact } from '../../bot/channels/zalo/contacts';
import { Contact } from '../../models/contact';
import { createBroadcast } from '../../workers/broadcast/control';
import { DeliveryStore } from '../../workers/broadcast/delivery-store';
import { ChannelLimiter } from '../../workers/broadcast/limiter';
import { optOutKey, recordOptOut } from '../../workers/broadcast/opt-outs';
import { broadcastProgress } from '../../workers/broadcast/progress';
import { controlKey } from '../../workers/broadcast/queues';
import type { BroadcastWorkers } from '../../workers/broadcast/start';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestBroadcastWorkers, waitBroadcastStatus } from '../support/broadcasts';
import { ingestHarness, waitForIdle, waitForJob } from '../support/ingest';

/**
 * Someone who opts out while a broadcast is going out gets nothing more from it: the opt-out
 * log (workers/broadcast/opt-outs.ts) is written by the paths that unsubscribe a contact and
 * read by the claim script.
 */
jest.setTimeout(120_000);
const { prefix, redis, producer } = ingestHarness('bcoptout', { workers: true });
let fake: FakeTelegram;
let workers: BroadcastWorkers | undefined;

beforeAll(async () => {
  fake = await FakeTelegram.start();
});

afterAll(async () => {
  await workers?.close();
  await fake.close();
});

const stopJob = async (
  c: { _id: { toString(): string }; channelUserId: string },
  unsubscribedAt: string | null,
) => {
  const id = await producer.add('contact.update', {
    contactId: c._id.toString(),
    channel: 'telegram',
    userId: c.channelUserId,
    set: { unsubscribedAt },
  });
  await waitForJob(producer.getQueue('ingest'), id);
};

test('the claim skips a recipient who opted out since the broadcast began, without taking a slot', async () => {
  const store = new DeliveryStore(redis, prefix);
  const limiter = new ChannelLimiter(redis, prefix, 'telegram', { max: 5, periodMs: 1000, marginMs: 25 });
  const b = 'b-claim';
  await store.add(
    b,
    ['o1', 'o2', 'o3'].map((c) => ({
      contactId: c,
      channel: 'telegram' as const,
      chatId: c,
      lang: 'vi' as const,
    })),
  );
  const began = Date.now();
  await recordOptOut(redis, prefix, 'o1', new Date(began + 10));
  // Opted out before the instant the broadcast counts from (and not since): still sent.
  await recordOptOut(redis, prefix, 'o2', new Date(began - 10));

  expect((await store.claim(b, 'o1', controlKey(prefix, b), limiter, began)).kind).toBe('skipped');
  expect((await store.claim(b, 'o2', controlKey(prefix, b), limiter, began)).kind).toBe('go');
  // Already settled: a repeated job does not count it twice.
  expect((await store.claim(b, 'o1', controlKey(prefix, b), limiter, began)).kind).toBe('settled');
  expect(await redis.zcard(limiter.logKey)).toBe(1);

  // A delivery left 'sending' by a dead worker, opted out meanwhile: skipped, no longer sending.
  expect((await store.claim(b, 'o3', controlKey(prefix, b), limiter, began)).kind).toBe('go');
  await recordOptOut(redis, prefix, 'o3', new Date(began + 20));
  expect((await store.claim(b, 'o3', controlKey(prefix, b), limiter, began)).kind).toBe('skipped');
  const counts = await store.counts(b);
  expect(counts).toMatchObject({ total: 3, sending: 1, skipped: 2, queued: 0 });
  expect(counts.reasons.skipped).toEqual({ unsubscribed: 2 });
});

test('a /stop during a broadcast: nothing more is sent to that contact; /start again clears the opt-out', async () => {
  const started = await startTestBroadcastWorkers(fake, redis, prefix, {
    createConnection: () => redis.duplicate(),
    limits: { telegram: { limitPerS: 10 } },
  });
  workers = started.workers;
  const { env } = started;
  const docs = await Contact.insertMany(
    Array.from({ length: 50 }, (_, i) => ({
      channel: 'telegram',
      channelUserId: String(5_100_000 + i),
      consentAt: new Date(),
      tags: ['optout'],
    })),
  );
  const created = await createBroadcast(
    { text: 'Lịch tiếp dân', target: { tags: ['optout'] }, createdBy: 'staff-a' },
    { redis, prefix, queues: workers.queues, env },
  );
  const sends = () => fake.calls.filter((c) => c.method === 'sendMessage');
  for (let i = 0; sends().length === 0; i++) {
    if (i > 1000) throw new Error('no send');
    await sleep(20);
  }
  // The last two by id go out last (the fan-out reads in id order; 10/s): they send /stop now,
  // through the conversation's contact.update job.
  const stopped = docs.slice(-2);
  for (const c of stopped) await stopJob(c, new Date().toISOString());
  expect(sends().length).toBeLessThan(40);
  expect(await redis.zscore(optOutKey(prefix), stopped[0]!._id.toString())).not.toBeNull();

  await waitBroadcastStatus(created.id, ['completed'], 60_000);
  const sentTo = new Set(sends().map((c) => String(c.params.chat_id)));
  expect(sentTo.size).toBe(48);
  for (const c of stopped) expect(sentTo.has(c.channelUserId)).toBe(false);
  const progress = await broadcastProgress(created.id, redis, prefix);
  expect(progress).toMatchObject({
    counts: { sent: 48, skipped: 2, queued: 0, sending: 0 },
    unsubscribedDuring: 2,
  });

  // Subscribing again removes the entry: a later broadcast reaches them.
  await stopJob(stopped[0]!, null);
  expect(await redis.zscore(optOutKey(prefix), stopped[0]!._id.toString())).toBeNull();
  expect(await redis.zscore(optOutKey(prefix), stopped[1]!._id.toString())).not.toBeNull();
});

test('a Zalo unfollow or a blocked user is in the opt-out log under the contact id', async () => {
  const at = new Date('2026-11-27T03:00:00Z');
  await markZaloContact({ redis, prefix }, 'zalo-optout-1', 'unsubscribed', at);
  await markZaloContact({ redis, prefix }, 'zalo-optout-2', 'blocked', at);
  // Through the one contact writer: the ingest workers apply the changes.
  await waitForIdle(producer.getQueue('ingest'), 20_000);
  const [one, two] = await Promise.all(
    ['zalo-optout-1', 'zalo-optout-2'].map((u) =>
      Contact.findOne({ channel: 'zalo', channelUserId: u }).lean(),
    ),
  );
  expect(one?.unsubscribedAt?.toISOString()).toBe(at.toISOString());
  expect(two?.blockedAt?.toISOString()).toBe(at.toISOString());
  for (const c of [one!, two!])
    expect(Number(await redis.zscore(optOutKey(prefix), c._id.toString()))).toBe(at.getTime());
});
