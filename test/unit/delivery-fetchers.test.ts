import { DELIVERY_SLOTS_PER_FETCHER, deliveryFetchers } from '../../workers/queues';

// A BullMQ worker fetches one job per round trip; a channel's concurrency is spread over several
// workers so its slots fill quickly when a broadcast starts (workers/broadcast/start.ts).
test('a channel gets one BullMQ worker per 40 slots, covering its whole concurrency', () => {
  for (const concurrency of [1, 6, 40, 41, 64, 152, 300]) {
    const n = deliveryFetchers(concurrency);
    const each = Math.ceil(concurrency / n);
    expect(each).toBeLessThanOrEqual(DELIVERY_SLOTS_PER_FETCHER);
    expect(n * each).toBeGreaterThanOrEqual(concurrency);
    expect(n * each - concurrency).toBeLessThan(n);
  }
  expect(deliveryFetchers(6)).toBe(1);
  expect(deliveryFetchers(152)).toBe(4);
});
