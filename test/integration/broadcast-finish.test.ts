import type { Redis } from 'ioredis';
import { Broadcast } from '../../models/broadcast';
import { DeliveryStore } from '../../workers/broadcast/delivery-store';
import { ChannelLimiter } from '../../workers/broadcast/limiter';
import { finishBroadcasts } from '../../workers/broadcast/progress';
import { CONTROL_TTL_S, controlKey } from '../../workers/broadcast/queues';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * The finisher against a cancel caught half-way: its control key is set (no send starts any
 * more), its queued deliveries are gone, but its MongoDB status is still 'sending' (the cancel is
 * slow, or its process died). Nothing is left to send, and the broadcast must end cancelled.
 */
const prefix = testPrefix('bcfinish');
let redis: Redis;

beforeAll(async () => {
  await connectTestDb('bcfinish');
  redis = testRedis();
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

const sending = () =>
  Broadcast.create({
    text: 'Thông báo',
    status: 'sending',
    fanoutDone: true,
    createdBy: 'staff-a',
    startedAt: new Date(),
  });

test('a sending broadcast whose control key says cancelled finishes as cancelled, not completed', async () => {
  const cancelled = await sending();
  const done = await sending();
  await redis.set(controlKey(prefix, cancelled.id as string), 'cancelled', 'EX', CONTROL_TTL_S);
  await redis.set(controlKey(prefix, done.id as string), 'running', 'EX', CONTROL_TTL_S);
  const at = new Date('2026-11-27T01:00:00Z');

  expect(await finishBroadcasts(redis, prefix, at)).toBe(2);
  const c = (await Broadcast.findById(cancelled.id).lean())!;
  expect([c.status, c.cancelledAt?.toISOString(), c.finishedAt?.toISOString()]).toEqual([
    'cancelled',
    at.toISOString(),
    at.toISOString(),
  ]);
  expect(c.report).toMatchObject({ queued: 0, sending: 0 });
  const d = (await Broadcast.findById(done.id).lean())!;
  expect([d.status, d.cancelledAt, d.finishedAt?.toISOString()]).toEqual([
    'completed',
    null,
    at.toISOString(),
  ]);

  // Finished is finished: a second pass changes nothing.
  expect(await finishBroadcasts(redis, prefix, new Date())).toBe(0);
  expect((await Broadcast.findById(cancelled.id).lean())!.finishedAt?.toISOString()).toBe(at.toISOString());
});

test('a delivery whose job runs after the cancel is counted as cancelled, so the broadcast can finish', async () => {
  const bc = await sending();
  const id = bc.id as string;
  const store = new DeliveryStore(redis, prefix);
  const limiter = new ChannelLimiter(redis, prefix, 'telegram', { max: 30, periodMs: 1000, marginMs: 25 });
  await store.add(
    id,
    [1, 2, 3].map((i) => ({
      contactId: `c${i}`,
      channel: 'telegram' as const,
      chatId: String(700 + i),
      lang: 'vi' as const,
    })),
  );
  // One delivery is claimed before the cancel; the cancel lands; the other two jobs run after it.
  expect((await store.claim(id, 'c1', controlKey(prefix, id), limiter, 0)).kind).toBe('go');
  await redis.set(controlKey(prefix, id), 'cancelled', 'EX', CONTROL_TTL_S);
  expect((await store.claim(id, 'c2', controlKey(prefix, id), limiter, 0)).kind).toBe('cancelled');
  expect((await store.claim(id, 'c3', controlKey(prefix, id), limiter, 0)).kind).toBe('cancelled');
  await store.settle(id, 'c1', 'sent', null);
  expect(await store.counts(id)).toMatchObject({ total: 3, queued: 0, sending: 0, sent: 1, cancelled: 2 });
  expect(await finishBroadcasts(redis, prefix)).toBe(1);
  expect((await Broadcast.findById(id).lean())!.status).toBe('cancelled');
});

test('a cancel whose status write was lost (the broadcast still says fanning_out) ends cancelled once nothing is in flight', async () => {
  const bc = await Broadcast.create({
    text: 'Thông báo',
    status: 'fanning_out',
    createdBy: 'staff-a',
    startedAt: new Date(),
  });
  const id = bc.id as string;
  const store = new DeliveryStore(redis, prefix);
  await store.add(id, [{ contactId: 'c9', channel: 'telegram', chatId: '709', lang: 'vi' }]);
  await redis.set(controlKey(prefix, id), 'cancelled', 'EX', CONTROL_TTL_S);
  // A delivery still queued (its job not run yet): not finished.
  expect(await finishBroadcasts(redis, prefix)).toBe(0);
  expect(await store.cancelQueued(id)).toBe(1);
  expect(await finishBroadcasts(redis, prefix)).toBe(1);
  expect(await Broadcast.findById(id).lean()).toMatchObject({
    status: 'cancelled',
    report: { cancelled: 1, queued: 0 },
  });
});
