/**
 * Probe (not a test): how early can a Node timer fire? The broadcast rate bound
 * (workers/broadcast/limiter.ts) holds a send's slot from its scheduled start; the worker sleeps
 * until that start with setTimeout, so a timer firing early is the one way a send could begin
 * before its slot. BROADCAST_RATE_MARGIN_MS must cover the worst early firing seen here.
 *
 * Schedules timers of 1–50 ms (fractional, as the claim's waits are) while the event loop is kept
 * busy by ticks of 0–20 ms, like a loaded worker, and reports how early and how late they fired:
 * bare setTimeout, then lib/sleep-until.ts (what the delivery worker uses: never early).
 * Run: npx tsx bench/timer-early.ts   (BENCH_TIMERS=20000 by default)
 */
import { performance } from 'node:perf_hooks';
import { sleepUntil } from '../lib/sleep-until';
import { reportFigures } from './support/result';

const N = Number(process.env.BENCH_TIMERS ?? 20_000);

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* a synchronous tick, as a worker's JSON and Redis parsing make */
  }
}

type Wait = (wait: number, due: number, fire: () => void) => void;

/** How many timers fired early. */
async function measure(label: string, schedule: Wait): Promise<number> {
  const early: number[] = [];
  const late: number[] = [];
  let fired = 0;
  await new Promise<void>((done) => {
    let scheduled = 0;
    const scheduleSome = () => {
      for (let k = 0; k < 50 && scheduled < N; k++, scheduled++) {
        const wait = 1 + Math.random() * 49;
        const due = performance.now() + wait;
        schedule(wait, due, () => {
          const d = performance.now() - due;
          (d < 0 ? early : late).push(Math.abs(d));
          if (++fired === N) done();
        });
      }
      busy(Math.random() * 20);
      if (scheduled < N) setImmediate(scheduleSome);
    };
    scheduleSome();
  });
  early.sort((a, b) => a - b);
  late.sort((a, b) => a - b);
  const pct = (xs: number[], p: number) =>
    xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : 0;
  console.log(
    `${label}: fired early ${early.length} (${((100 * early.length) / N).toFixed(1)}%), by at most ${pct(early, 100).toFixed(3)} ms; ` +
      `late p50 ${pct(late, 50).toFixed(2)} ms, p99 ${pct(late, 99).toFixed(2)} ms, max ${pct(late, 100).toFixed(2)} ms`,
  );
  return early.length;
}

async function main(): Promise<void> {
  console.log(`${N} timers of 1–50 ms under 0–20 ms busy ticks (Node ${process.version})`);
  const bare = await measure('setTimeout', (wait, _due, fire) => void setTimeout(fire, wait));
  const ours = await measure('sleepUntil', (_wait, due, fire) => void sleepUntil(due).then(fire));
  reportFigures('timer-early', [
    { figure: 'setTimeout fired early', value: bare, unit: 'timers', target: null, met: null },
    { figure: 'sleepUntil fired early', value: ours, unit: 'timers', target: '0', met: ours === 0 },
  ]);
  // sleepUntil's guarantee (the broadcast limit's) is a target, not a figure: an early one fails.
  if (ours > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
