import { setTimeout as sleep } from 'node:timers/promises';
import { Contact } from '../../models/contact';
import { createBroadcast, enqueueDeliveries } from '../../workers/broadcast/control';
import { telegramBroadcastHarness, waitBroadcastStatus } from '../support/broadcasts';

/**
 * Finished delivery jobs are not kept (removeOnComplete, workers/broadcast/queues.ts): what stops
 * a message going out twice is the delivery's state, read by the claim. Adding every job again
 * once the finished ones are gone (as a repeated fan-out page or a resume would) runs them, and
 * they send nothing.
 */
jest.setTimeout(60_000);
const h = telegramBroadcastHarness('bcreadd');
const { redis, prefix } = h;

test('delivery jobs added again after the broadcast completed send nothing', async () => {
  const { env, workers } = await h.startWorkers({ limits: { telegram: { limitPerS: 50 } } });
  const fake = h.fake;
  const docs = await Contact.insertMany(
    Array.from({ length: 8 }, (_, i) => ({
      channel: 'telegram',
      channelUserId: String(7_100_000 + i),
      consentAt: new Date(),
    })),
  );
  const created = await createBroadcast(
    { text: 'Nhắc lịch', target: {}, createdBy: 'staff-a' },
    { redis, prefix, queues: workers.queues, env },
  );
  await waitBroadcastStatus(created.id, ['completed'], 30_000);
  const sends = () => fake.calls.filter((c) => c.method === 'sendMessage').length;
  expect(sends()).toBe(8);

  const queue = workers.queues.deliveryQueue('telegram');
  // The finished jobs are gone, their jobIds free again.
  expect(await queue.getCompletedCount()).toBe(0);
  const delivery = workers.workers.find((w) => w.name === 'broadcast-telegram')!;
  let ran = 0;
  delivery.on('completed', () => ran++);
  await enqueueDeliveries(
    created.id,
    docs.map((d) => ({
      contactId: d.id as string,
      channel: 'telegram' as const,
      chatId: d.channelUserId,
      lang: 'vi' as const,
    })),
    workers.queues,
  );
  for (let i = 0; ran < 8; i++) {
    if (i > 300) throw new Error(`re-added jobs not run (${ran} of 8)`);
    await sleep(50);
  }
  // They ran and found their deliveries settled.
  expect(ran).toBe(8);
  expect(sends()).toBe(8);
});
