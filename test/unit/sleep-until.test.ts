import { setImmediate as nextTurn } from 'node:timers/promises';
import { sleepUntil } from '../../lib/sleep-until';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* a synchronous tick, as a loaded worker has */
  }
}

// The broadcast rate bound needs a send never to start before its slot (limiter.ts). A bare
// setTimeout fires up to ~2 ms early here under busy ticks (bench/timer-early.ts: ~8% of timers).
test('sleepUntil never resolves before its instant, under busy event-loop ticks', async () => {
  const early: number[] = [];
  const waits: Array<Promise<void>> = [];
  for (let round = 0; round < 20; round++) {
    for (let k = 0; k < 25; k++) {
      const at = performance.now() + 0.2 + ((round * 25 + k) % 97) / 5; // 0.2–19.6 ms, fractional
      waits.push(
        sleepUntil(at).then(() => {
          const d = performance.now() - at;
          if (d < 0) early.push(d);
        }),
      );
    }
    busy((round % 5) + 0.5);
    await nextTurn();
  }
  await Promise.all(waits);
  expect(waits).toHaveLength(500);
  expect(early).toEqual([]);
});

test('sleepUntil of an instant already past resolves at once', async () => {
  const t0 = performance.now();
  await sleepUntil(t0 - 5);
  expect(performance.now() - t0).toBeLessThan(50);
});
