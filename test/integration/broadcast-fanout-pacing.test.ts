import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { parseEnv } from '../../config/env';
import { Broadcast } from '../../models/broadcast';
import { Contact } from '../../models/contact';
import { DeliveryStore } from '../../workers/broadcast/delivery-store';
import { runFanout, type FanoutDeps } from '../../workers/broadcast/fanout';
import { BroadcastQueues, CONTROL_TTL_S, controlKey } from '../../workers/broadcast/queues';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * The fan-out keeps each channel's delivery queue only its lead ahead of the sends: it reads the
 * next page of recipients once the jobs waiting fall below the lead, and stops when paused.
 * No delivery workers run here: draining the queue stands in for the sends.
 */
jest.setTimeout(120_000);
const prefix = testPrefix('bcpace');
let redis: Redis;
let queues: BroadcastQueues;
let deps: FanoutDeps;

beforeAll(async () => {
  await connectTestDb('bcpace');
  redis = testRedis();
  queues = new BroadcastQueues(redis, prefix);
  const env = parseEnv({ NODE_ENV: 'test', QUIET_HOURS_START: '00:00', QUIET_HOURS_END: '00:00' });
  deps = { redis, prefix, queues, env, log: { info: () => undefined }, lead: { telegram: 2000 } };
  await Contact.insertMany(
    Array.from({ length: 4500 }, (_, i) => ({
      channel: 'telegram',
      channelUserId: String(6_000_000 + i),
      consentAt: new Date(),
      tags: ['pace'],
    })),
  );
});

afterAll(async () => {
  await queues.close();
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

const scheduled = () =>
  Broadcast.create({
    text: 'Lịch tiếp dân',
    status: 'scheduled',
    target: { channels: ['telegram'], tags: ['pace'] },
    ignoreQuietHours: true,
    createdBy: 'staff-a',
  });
const waiting = () => queues.deliveryQueue('telegram').getWaitingCount();

/** Waits until `read` returns `expected`, then checks it still does after the fan-out's next looks. */
async function holds<T>(read: () => Promise<T>, expected: T): Promise<void> {
  for (let i = 0; JSON.stringify(await read()) !== JSON.stringify(expected); i++) {
    if (i > 150) expect(await read()).toEqual(expected);
    await sleep(200);
  }
  await sleep(800);
  expect(await read()).toEqual(expected);
}

test('reads the next page only when fewer than the lead wait; reopens its cursor after a long wait', async () => {
  const bc = await scheduled();
  const id = bc.id as string;
  await redis.set(controlKey(prefix, id), 'running', 'EX', CONTROL_TTL_S);
  let done = false;
  // A short cursor wait: the fan-out closes its cursor and reads on from the saved position.
  const run = runFanout(id, { ...deps, cursorIdleMaxMs: 300 }).then(() => void (done = true));
  const fanned = async () => ({
    waiting: await waiting(),
    fannedOut: (await Broadcast.findById(id).lean())?.fannedOut,
  });

  await holds(fanned, { waiting: 2000, fannedOut: 2000 });
  expect(done).toBe(false);
  // Its deliveries go out meanwhile: staff see it sending, not yet all queued.
  expect(await Broadcast.findById(id, { status: 1, fanoutDone: 1, _id: 0 }).lean()).toEqual({
    status: 'sending',
    fanoutDone: false,
  });
  // The sends took them all: pages again until the lead waits.
  await queues.deliveryQueue('telegram').drain();
  await holds(fanned, { waiting: 2000, fannedOut: 4000 });
  await queues.deliveryQueue('telegram').drain();
  await holds(fanned, { waiting: 500, fannedOut: 4500 });
  await run;
  const after = (await Broadcast.findById(id).lean())!;
  expect([after.status, after.fanoutDone, after.fannedOut]).toEqual(['sending', true, 4500]);
  // Every recipient once, whatever the reopened cursors.
  expect((await new DeliveryStore(redis, prefix).counts(id)).total).toBe(4500);
  await queues.deliveryQueue('telegram').drain();
});

test('a pause while it waits ends the fan-out; it has queued no more than the lead', async () => {
  const bc = await scheduled();
  const id = bc.id as string;
  await redis.set(controlKey(prefix, id), 'running', 'EX', CONTROL_TTL_S);
  await queues.deliveryQueue('telegram').drain();
  const run = runFanout(id, deps);
  await holds(waiting, 2000);
  await redis.set(controlKey(prefix, id), 'paused', 'EX', CONTROL_TTL_S);
  await run;
  const after = (await Broadcast.findById(id).lean())!;
  expect([after.status, after.fanoutDone, after.fannedOut]).toEqual(['sending', false, 2000]);
});

test('a fan-out job run again on a sending broadcast (its worker died) reads on from the saved cursor', async () => {
  const contacts = await Contact.find({ tags: 'pace' }, { _id: 1 }).sort({ _id: 1 }).lean();
  const bc = await Broadcast.create({
    text: 'Lịch tiếp dân',
    status: 'sending',
    startedAt: new Date(),
    fanoutCursor: contacts[3999]!._id,
    target: { channels: ['telegram'], tags: ['pace'] },
    ignoreQuietHours: true,
    createdBy: 'staff-a',
  });
  const id = bc.id as string;
  await redis.set(controlKey(prefix, id), 'running', 'EX', CONTROL_TTL_S);
  await queues.deliveryQueue('telegram').drain();
  await runFanout(id, deps);
  const after = (await Broadcast.findById(id).lean())!;
  expect([after.status, after.fanoutDone, after.fannedOut]).toEqual(['sending', true, 500]);
  await queues.deliveryQueue('telegram').drain();
});
