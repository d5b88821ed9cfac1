import type { Redis } from 'ioredis';
import { Broadcast } from '../../models/broadcast';
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

const sending = () => Broadcast.create({ text: 'Thông báo', status: 'sending', fanoutDone: true, createdBy: 'staff-a', startedAt: new Date() });

test('a sending broadcast whose control key says cancelled finishes as cancelled, not completed', async () => {
  const cancelled = await sending();
  const done = await sending();
  await redis.set(controlKey(prefix, cancelled.id as string), 'cancelled', 'EX', CONTROL_TTL_S);
  await redis.set(controlKey(prefix, done.id as string), 'running', 'EX', CONTROL_TTL_S);
  const at = new Date('2026-11-27T01:00:00Z');

  expect(await finishBroadcasts(redis, prefix, at)).toBe(2);
  const c = (await Broadcast.findById(cancelled.id).lean())!;
  expect([c.status, c.cancelledAt?.toISOString(), c.finishedAt?.toISOString()]).toEqual(['cancelled', at.toISOString(), at.toISOString()]);
  expect(c.report).toMatchObject({ queued: 0, sending: 0 });
  const d = (await Broadcast.findById(done.id).lean())!;
  expect([d.status, d.cancelledAt, d.finishedAt?.toISOString()]).toEqual(['completed', null, at.toISOString()]);

  // Finished is finished: a second pass changes nothing.
  expect(await finishBroadcasts(redis, prefix, new Date())).toBe(0);
  expect((await Broadcast.findById(cancelled.id).lean())!.finishedAt?.toISOString()).toBe(at.toISOString());
});
