/**
 * What a Bot API call's abort signals cost the garbage collector. Each call needs a signal that
 * its timeout and the process's long-lived stop signal abort (bot/channels/telegram/api-client.ts).
 * Baseline, in the same run: the platform's own AbortSignal.any([stop, AbortSignal.timeout(10 s)]),
 * which the client used until 2026-12-04; measured: lib/linked-signal.ts, released when the call
 * settles. Each call adds and removes an abort listener, as node-fetch does, and waits a tick with
 * 200 bytes of its own garbage; 100 calls run at a time.
 *
 * Figures: minor GC time (the main thread's scavenge pauses) and time per call of linkedSignal as
 * ratios to the baseline's (target ≤ 0.5 for the GC time), and the longest scavenge of each.
 * Run: npx tsx bench/call-signals.ts   (BENCH_CALLS=200000); no services needed.
 */
import os from 'node:os';
import { setImmediate as tick } from 'node:timers/promises';
import { linkedSignal } from '../lib/linked-signal';
import { watchMinorGc } from './support/loop-watch';
import { reportFigures } from './support/result';

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const TIMEOUT_MS = 10_000;
const stop = new AbortController().signal;

type Make = () => { signal: AbortSignal; release(): void };

const variants: Record<string, Make> = {
  'AbortSignal.any + AbortSignal.timeout': () => ({
    signal: AbortSignal.any([stop, AbortSignal.timeout(TIMEOUT_MS)]),
    release: () => undefined,
  }),
  linkedSignal: () => linkedSignal([stop], TIMEOUT_MS),
};

async function call(make: Make): Promise<number> {
  const { signal, release } = make();
  const onAbort = () => undefined;
  signal.addEventListener('abort', onAbort);
  const own = { text: 'x'.repeat(200), n: Math.random() };
  await tick();
  signal.removeEventListener('abort', onAbort);
  release();
  return own.n;
}

async function measure(
  name: string,
): Promise<{ usPerCall: number; gcMs: number; gcMaxMs: number; count: number }> {
  const make = variants[name]!;
  const gcWatch = watchMinorGc();
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i += 100) await Promise.all(Array.from({ length: 100 }, () => call(make)));
  const ms = performance.now() - t0;
  const { count, totalMs: gcMs, maxMs: gcMaxMs } = await gcWatch.stop();
  const r = { usPerCall: (ms * 1000) / CALLS, gcMs, gcMaxMs, count };
  console.log(
    `  ${name}: ${r.usPerCall.toFixed(2)} µs a call; minor GCs ${count}, ${gcMs.toFixed(0)} ms in all, the longest ${gcMaxMs.toFixed(1)} ms; heap used ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
  );
  return r;
}

async function main(): Promise<void> {
  console.log(`call-signals: ${CALLS} calls each, 100 at a time; load ${os.loadavg()[0].toFixed(2)}`);
  // Each in a fresh state: the baseline leaves its signals alive for TIMEOUT_MS, so it runs last.
  const ours = await measure('linkedSignal');
  const base = await measure('AbortSignal.any + AbortSignal.timeout');
  const gc = ours.gcMs / base.gcMs;
  const time = ours.usPerCall / base.usPerCall;
  console.log(
    `  linkedSignal / baseline: minor GC time ${gc.toFixed(2)} (target ≤ 0.5), time a call ${time.toFixed(2)}`,
  );
  reportFigures('call-signals', [
    {
      figure: 'minor GC time, linkedSignal / AbortSignal.any',
      value: gc,
      unit: '×',
      target: '≤ 0.5',
      met: gc <= 0.5,
    },
    {
      figure: 'time a call, linkedSignal / AbortSignal.any',
      value: time,
      unit: '×',
      target: null,
      met: null,
    },
    { figure: 'longest minor GC, linkedSignal', value: ours.gcMaxMs, unit: 'ms', target: null, met: null },
  ]);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
