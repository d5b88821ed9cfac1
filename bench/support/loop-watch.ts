import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import {
  constants,
  monitorEventLoopDelay,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/**
 * What held this process's event loop during a measured part: its delay (how late a timer fires;
 * each of a turn's awaits waits about as long for the loop to come round), the garbage collector's
 * pauses by kind, how long its main thread waited for a CPU, Redis's PING time (`redisUrl`), and,
 * when `profileTo` is given, a CPU profile of the part (open it in Chrome's DevTools or
 * speedscope), or with a name ending in `.heapprofile` a sampling heap profile. A turn's latency that the loop's delay does not explain was spent waiting outside
 * the process (Redis, the database, a CPU taken by another process).
 */
export interface LoopReport {
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
  /** GC pauses of the main thread by kind (minor, major, incremental marking, weak callbacks). */
  gc: Record<string, { count: number; totalMs: number; maxMs: number }>;
  /** Share of the part's wall clock this process's main thread spent running (event-loop utilisation). */
  utilisation: number;
  /**
   * Share of the part's wall clock the main thread was runnable but waited for a CPU held by
   * another thread or process (/proc/self/schedstat; null where there is none).
   */
  runQueueWait: number | null;
  /** Round trips of a PING on a connection of its own, every 10 ms (null: no Redis given). */
  redisPing: { p50Ms: number; p99Ms: number; maxMs: number } | null;
  /** Per 5 s of the part (as the bench's `p99 per 5 s`): the loop's largest delay and the GC's pauses. */
  per5s: Array<{ delayMaxMs: number; gcMs: number }>;
}

/** Nanoseconds the main thread has waited on a run queue so far. */
function runQueueNs(): number | null {
  try {
    return Number(fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]);
  } catch {
    return null;
  }
}

/** PINGs one after the other, 10 ms apart, on their own connection: Redis's answer time as this process sees it. */
function pingProbe(redisUrl: string): { stop(): Promise<LoopReport['redisPing']> } {
  const redis = new Redis(redisUrl, { enableAutoPipelining: false });
  const rtts: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      await redis.ping();
      rtts.push(performance.now() - t0);
      await sleep(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      await redis.quit();
      rtts.sort((a, b) => a - b);
      const at = (q: number) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))] ?? NaN;
      return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: rtts.at(-1) ?? NaN };
    },
  };
}

/** perf_hooks.constants.NODE_PERFORMANCE_GC_*. */
const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weak callbacks' };

/**
 * The main thread's minor GCs (scavenges) from now until `stop()`: how many, their total and the
 * longest, for a bench that compares what two ways of doing the same work leave to the collector.
 */
export function watchMinorGc(): { stop(): Promise<{ count: number; totalMs: number; maxMs: number }> } {
  const g = { count: 0, totalMs: 0, maxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
      if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
      g.count++;
      g.totalMs += e.duration;
      g.maxMs = Math.max(g.maxMs, e.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      // The entries of a GC that just ran are delivered on a later turn of the loop.
      await new Promise((r) => setImmediate(r));
      observer.disconnect();
      return g;
    },
  };
}

/** The sampling timer's interval: the histogram holds the interval plus the delay, so it is taken off. */
const RESOLUTION_MS = 10;
const late = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

export async function watchLoop(
  opts: { profileTo?: string; redisUrl?: string } = {},
): Promise<{ stop(): Promise<LoopReport> }> {
  const { profileTo } = opts;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const windowDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const gc: LoopReport['gc'] = {};
  const per5s: LoopReport['per5s'] = [];
  let windowGcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
      const kind = GC_KINDS[e.detail?.kind ?? 0] ?? 'other';
      const g = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      g.count++;
      g.totalMs += e.duration;
      g.maxMs = Math.max(g.maxMs, e.duration);
      windowGcMs += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const profiler = profileTo ? new Session() : null;
  // A `.heapprofile` is the sampling heap profiler's instead: what the part allocated that lived
  // past a minor GC, whether still in the heap at its end or collected by a major GC since.
  const heap = profileTo?.endsWith('.heapprofile') ?? false;
  if (profiler) {
    profiler.connect();
    if (heap)
      await profiler.post('HeapProfiler.startSampling', {
        samplingInterval: 16384,
        includeObjectsCollectedByMajorGC: true,
      });
    else {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
  }
  const ping = opts.redisUrl ? pingProbe(opts.redisUrl) : null;
  const wait0 = runQueueNs();
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  delay.enable();
  windowDelay.enable();
  const closeWindow = () => {
    per5s.push({ delayMaxMs: late(windowDelay.max), gcMs: windowGcMs });
    windowDelay.reset();
    windowGcMs = 0;
  };
  const windows = setInterval(closeWindow, 5000);
  return {
    async stop() {
      delay.disable();
      clearInterval(windows);
      closeWindow();
      windowDelay.disable();
      const elu = performance.eventLoopUtilization(elu0);
      const wait1 = runQueueNs();
      const wallNs = (performance.now() - t0) * 1e6;
      observer.disconnect();
      const redisPing = ping ? await ping.stop() : null;
      if (profiler) {
        const { profile } = heap
          ? await profiler.post('HeapProfiler.stopSampling')
          : await profiler.post('Profiler.stop');
        fs.writeFileSync(profileTo!, JSON.stringify(profile));
        profiler.disconnect();
      }
      return {
        delayP50Ms: late(delay.percentile(50)),
        delayP99Ms: late(delay.percentile(99)),
        delayMaxMs: late(delay.max),
        gc,
        utilisation: elu.utilization,
        runQueueWait: wait0 !== null && wait1 !== null ? (wait1 - wait0) / wallNs : null,
        redisPing,
        per5s,
      };
    },
  };
}

export function describeLoop(r: LoopReport): string {
  const f = (x: number) => x.toFixed(1);
  const gc = Object.entries(r.gc)
    .map(([k, g]) => `${k} ${g.count}× ${f(g.totalMs)} ms (max ${f(g.maxMs)})`)
    .join(', ');
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return (
    `event loop delay p50 ${f(r.delayP50Ms)} / p99 ${f(r.delayP99Ms)} / max ${f(r.delayMaxMs)} ms, ` +
    `main thread running ${pct(r.utilisation)}` +
    (r.runQueueWait !== null ? `, waiting for a CPU ${pct(r.runQueueWait)}` : '') +
    ` of the time; GC ${gc || 'none'}` +
    (r.redisPing
      ? `; Redis PING p50 ${f(r.redisPing.p50Ms)} / p99 ${f(r.redisPing.p99Ms)} / max ${f(r.redisPing.maxMs)} ms`
      : '') +
    `; per 5 s, loop delay max / GC ms: ${r.per5s.map((w) => `${w.delayMaxMs.toFixed(0)}/${w.gcMs.toFixed(0)}`).join(' ')}`
  );
}
