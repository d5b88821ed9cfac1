import { DeliveryStore, type HeldSlot } from '../../workers/broadcast/delivery-store';
import { ChannelLimiter } from '../../workers/broadcast/limiter';
import { maxShareOfLimit, rateWindow } from '../../workers/broadcast/limits';
import { controlKey } from '../../workers/broadcast/queues';
import { clearPrefix, testPrefix, testRedis } from '../support/services';

/**
 * The claim script's rate slots on the real Redis, without timers: a slot is held from before the
 * call until a window past its reply; when all are held by calls in flight nobody may start, and
 * once one call ended the next start is scheduled exactly a window after that reply.
 */
const redis = testRedis();
const prefix = testPrefix('bclimiter');
const B = 'b1';

afterAll(async () => {
  await clearPrefix(redis, prefix);
  await redis.quit();
});

test('limit 3: three calls start, the fourth waits for a reply, then starts a window after it', async () => {
  const store = new DeliveryStore(redis, prefix);
  const limiter = new ChannelLimiter(redis, prefix, 'telegram', { max: 3, periodMs: 1000, marginMs: 25 });
  await store.add(
    B,
    ['c1', 'c2', 'c3', 'c4'].map((c) => ({
      contactId: c,
      channel: 'telegram' as const,
      chatId: c,
      lang: 'vi' as const,
    })),
  );
  const ctl = controlKey(prefix, B);

  const slots: HeldSlot[] = [];
  for (const c of ['c1', 'c2', 'c3']) {
    const r = await store.claim(B, c, ctl, limiter, 0);
    if (r.kind !== 'go') throw new Error(`${c}: ${r.kind}`);
    // GCRA spacing: (1000 + 25) / 3 ms apart.
    expect(r.waitMs).toBeLessThanOrEqual(2 * limiter.intervalMs + 1);
    slots.push({ logKey: limiter.logKey, member: r.slot, repliedAt: null });
  }
  // All three calls in flight: the fourth may not start, and stays queued.
  const blocked = await store.claim(B, 'c4', ctl, limiter, 0);
  expect(blocked.kind).toBe('wait');
  expect((await store.counts(B)).sending).toBe(3);

  // c1's call got its reply: c4 starts one window (1 s + margin) after that reply, not before.
  slots[0]!.repliedAt = performance.now();
  await store.settle(B, 'c1', 'sent', null, slots[0]!);
  const next = await store.claim(B, 'c4', ctl, limiter, 0);
  // The wait counts from the reply, so it is short by the time settle and claim took (on a loaded
  // machine, a few hundred ms): bound it by that time as measured here, plus 2 ms of clock rounding.
  const sinceReply = performance.now() - slots[0]!.repliedAt;
  if (next.kind !== 'go') throw new Error(`c4: ${next.kind}`);
  expect(next.waitMs).toBeGreaterThanOrEqual(limiter.windowMs - sinceReply - 2);
  expect(next.waitMs).toBeLessThanOrEqual(limiter.windowMs);

  // A claim that never called the platform gives its slot back.
  await store.settle(B, 'c2', 'skipped', 'unsubscribed', slots[1]!);
  expect(await redis.zcard(limiter.logKey)).toBe(3);
  const counts = await store.counts(B);
  expect(counts).toMatchObject({ sent: 1, skipped: 1, sending: 2 });
});

test('Zalo counts per minute; the bound costs the call time', () => {
  expect(rateWindow('zalo', 2)).toEqual({ max: 120, periodMs: 60_000 });
  expect(rateWindow('telegram', 25)).toEqual({ max: 25, periodMs: 1000 });
  expect(maxShareOfLimit(25, 10)).toBeCloseTo(0.9662, 3);
  expect(maxShareOfLimit(25, 110)).toBeCloseTo(0.881, 3);
});
