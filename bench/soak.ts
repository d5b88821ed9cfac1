/**
 * Soak benchmark (issue 21, "Load and soak"): BENCH_SOAK_RATE updates/s (default 100) for
 * BENCH_SOAK_S seconds (default 1,800: 30 minutes) over 1,000 citizens of BENCH_SOAK_UNITS
 * communes who answer surveys again and again, through two bot processes and two worker
 * processes (as bench/load.ts). Every BENCH_SOAK_SAMPLE_S (default 10) it samples each process's
 * resident memory and V8 heap in use, each queue's backlog (waiting, prioritized, active) and
 * delayed jobs apart, and Redis's used memory; at the end it reports the growth per process (the
 * last fifth of the run against the fifth after the first: the warm-up is left out) and checks
 * that no queue and not Redis grew without bound (the last fifth no higher than the bound
 * below), and that every update was answered. Exits 1 when a check fails.
 * Run (full length): bash scripts/with-services.sh npx tsx bench/soak.ts
 * Short (npm run bench): BENCH_SOAK_S=150 BENCH_SOAK_SAMPLE_S=5
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { postText } from './support/bot-api-sink';
import { Unit } from '../models/unit';
import {
  heapUsedMiB,
  loadAverage,
  pct,
  prepareBenchFleet,
  queueDepths,
  rssMiB,
  surveyScript,
  type BenchFleet,
} from './support/fleet';
import { reportFigures } from './support/result';

const SECONDS = Number(process.env.BENCH_SOAK_S ?? 1800);
const RATE = Number(process.env.BENCH_SOAK_RATE ?? 100);
const SAMPLE_S = Number(process.env.BENCH_SOAK_SAMPLE_S ?? 10);
const CITIZENS = 1000;
/**
 * The communes the citizens belong to, spread evenly. The indices are recomputed per unit-day
 * from its raw answers (workers/aggregation/rollups/recompute.ts), so a worker's memory and CPU
 * per recompute follow the size of the busiest unit-day. At 100 updates/s one commune would
 * gather about 20,000 responses in 30 minutes, some forty times what the busiest one-stop centre
 * receives in a day, and the soak would measure that growing day instead of the processes.
 * BENCH_SOAK_UNITS=1 shows it (bench/RESULTS.md, "soak").
 */
const UNITS = Number(process.env.BENCH_SOAK_UNITS ?? 100);
/** A queue (or Redis) is bounded when its last fifth stays under max(floor, 2 × the second fifth's peak). */
const QUEUE_FLOOR = 500;
/**
 * The ingest queue's delayed jobs are bounded by design, not by what the early fifth happened to hold: a session
 * holds at most one delayed copy of itself (session.sync's `later` job, SESSION_SYNC_LATER_MS
 * ahead), so there are at most as many as updates in that window; and a backlog early in the run
 * holds fewer (a copy that came due waits in the backlog, and a turn's add under its id is ignored
 * meanwhile). That is their floor.
 */
const INGEST_DELAYED_FLOOR = Math.ceil((RATE * Number(process.env.SESSION_SYNC_LATER_MS ?? 20_000)) / 1000);
const REDIS_FLOOR_MIB = 64;

interface Sample {
  t: number;
  rss: Record<string, number | null>;
  /** Each app process's V8 heap in use in MiB (its /metrics). */
  heap: Record<string, number | null>;
  /** Per queue and kind ("ingest backlog", "ingest delayed"): see queueDepths. */
  queues: Record<string, number>;
  redisMiB: number;
}

const median = (xs: number[]) =>
  pct(
    [...xs].sort((a, b) => a - b),
    50,
  );

async function main(): Promise<number> {
  console.log(
    `soak: ${RATE} updates/s for ${SECONDS} s, load average at start ${loadAverage()} (other work shares this machine)`,
  );
  const fleet = await prepareBenchFleet('soak');
  try {
    await Unit.insertMany(
      unitCodes().map((code, i) => ({ code, name: `Xã Thử Nghiệm ${i + 1}`, level: 'commune' })),
    );
    await fleet.start();
    return await soak(fleet);
  } finally {
    await fleet.close();
  }
}

async function soak(fleet: BenchFleet): Promise<number> {
  const { sink, procs, names, urls, redis, prefix } = fleet;
  const scripts = unitCodes().map(surveyScript);

  const samples: Sample[] = [];
  const t0 = Date.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rss: Record<string, number | null> = { bench: rssMiB(process.pid) };
      procs.forEach((p, i) => (rss[names[i]!] = rssMiB(p.proc.pid!)));
      const heaps = await Promise.all(procs.map(heapUsedMiB));
      const heap = Object.fromEntries(names.map((name, i) => [name, heaps[i]!]));
      const { states, redisMiB } = await queueDepths(redis, prefix);
      // Apart: a backlog that grows is work falling behind; delayed jobs (a session's later copy,
      // reminders) are scheduled, bounded by the conversations in progress.
      const queues: Record<string, number> = {};
      for (const [q, n] of Object.entries(states)) {
        queues[`${q} backlog`] = n.backlog;
        queues[`${q} delayed`] = n.delayed;
      }
      samples.push({ t: (Date.now() - t0) / 1000, rss, heap, queues, redisMiB });
      await sleep(SAMPLE_S * 1000);
    }
  })();

  // Open loop: RATE updates/s, each to an idle citizen's next step (a citizen waits for its reply).
  const busy = new Set<number>();
  const step = new Map<number, number>();
  const lat: number[] = [];
  let sent = 0;
  let skipped = 0;
  let late = 0;
  let postFailed = 0;
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  for (let n = 0; n < RATE * SECONDS; n++) {
    const wait = start + (n * 1000) / RATE - performance.now();
    if (wait > 1) await sleep(wait);
    let chat = -1;
    for (let tries = 0; tries < 20 && chat < 0; tries++) {
      const c = 40_000_000 + Math.floor(Math.random() * CITIZENS);
      if (!busy.has(c)) chat = c;
    }
    if (chat < 0) {
      skipped++;
      continue;
    }
    busy.add(chat);
    const s = step.get(chat) ?? 0;
    step.set(chat, s + 1);
    sent++;
    const p = (async () => {
      const reply = sink.nextMessage(chat);
      const at = performance.now();
      const script = scripts[chat % scripts.length]!;
      try {
        await postText(urls[n % urls.length]!, fleet.secret, chat, script[s % script.length]!);
        const r = await Promise.race([reply, sleep(30_000).then(() => null)]);
        if (r === null) late++;
        else lat.push(r - at);
      } catch {
        // The webhook refused the connection: counted, and the citizen goes on.
        postFailed++;
      } finally {
        busy.delete(chat);
      }
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  // Samples cover the load, not the wait for the last replies.
  sampling = false;
  await sampler;
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;

  lat.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `sent ${sent} updates in ${f(elapsed)} s (${f(sent / elapsed)}/s achieved, ${skipped} ticks without an idle citizen), ` +
      `turn p50 ${f(pct(lat, 50))} ms, p99 ${f(pct(lat, 99))} ms, ${late} replies later than 30 s, ${postFailed} updates the webhook did not take`,
  );
  // The second fifth (after the warm-up) against the last fifth.
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const early = samples.slice(fifth, 2 * fifth);
  const end = samples.slice(-fifth);
  const growing: string[] = [];
  const report: Record<string, { growthMiB: number; growthMiBPerHour: number } & Record<string, number>> = {};
  for (const name of ['bench', ...names]) {
    const a = median(early.map((s) => s.rss[name] ?? NaN));
    const b = median(end.map((s) => s.rss[name] ?? NaN));
    const hours = (end[0]!.t - early[0]!.t) / 3600;
    const perHour = hours > 0 ? (b - a) / hours : NaN;
    report[name] = { earlyMiB: a, endMiB: b, growthMiB: b - a, growthMiBPerHour: perHour };
    let heapLine = '';
    if (name !== 'bench') {
      // The lowest in each fifth: heap in use between collections holds garbage too, and its
      // trough is nearest to what survives one.
      const ha = Math.min(...early.flatMap((s) => s.heap[name] ?? []));
      const hb = Math.min(...end.flatMap((s) => s.heap[name] ?? []));
      const heapPerHour = hours > 0 ? (hb - ha) / hours : NaN;
      Object.assign(report[name], { heapEarlyMiB: ha, heapEndMiB: hb, heapGrowthMiBPerHour: heapPerHour });
      heapLine = `; V8 heap in use, lowest ${f(ha)} → ${f(hb)} MiB (${f(heapPerHour)} MiB/h)`;
    }
    console.log(
      `  memory ${name}: resident ${f(a)} → ${f(b)} MiB (${b - a >= 0 ? '+' : ''}${f(b - a)} MiB, ${f(perHour)} MiB/h)${heapLine}`,
    );
  }
  for (const q of Object.keys(samples[0]?.queues ?? {})) {
    const peakEarly = Math.max(...early.map((s) => s.queues[q]!));
    const peakEnd = Math.max(...end.map((s) => s.queues[q]!));
    const bound = Math.max(q === 'ingest delayed' ? INGEST_DELAYED_FLOOR : QUEUE_FLOOR, 2 * peakEarly);
    const ok = peakEnd <= bound;
    if (!ok) growing.push(q);
    console.log(
      `  queue ${q}: peak ${peakEarly} early, ${peakEnd} at the end (bound ${bound}) ${ok ? 'ok' : 'GROWING'}`,
    );
  }
  const redisEarly = Math.max(...early.map((s) => s.redisMiB));
  const redisEnd = Math.max(...end.map((s) => s.redisMiB));
  const redisBound = Math.max(REDIS_FLOOR_MIB, 2 * redisEarly);
  const redisOk = redisEnd <= redisBound;
  const fastest = Object.entries(report).sort((x, y) => y[1].growthMiBPerHour - x[1].growthMiBPerHour)[0]!;
  const fastestHeap = Object.entries(report)
    .filter(([, r]) => r.heapGrowthMiBPerHour !== undefined)
    .sort((x, y) => y[1].heapGrowthMiBPerHour! - x[1].heapGrowthMiBPerHour!)[0]!;
  reportFigures('soak', [
    { figure: 'updates/s achieved', value: sent / elapsed, unit: '/s', target: `${RATE}`, met: null },
    { figure: 'turn p99', value: pct(lat, 99), unit: 'ms', target: null, met: null },
    {
      figure: 'updates unanswered (webhook refused, or no reply in 30 s)',
      value: late + postFailed,
      unit: 'updates',
      target: '0',
      met: late + postFailed === 0,
    },
    {
      figure: `memory growth, fastest process (${fastest[0]})`,
      value: fastest[1].growthMiBPerHour,
      unit: 'MiB/h',
      target: null,
      met: null,
    },
    {
      figure: `V8 heap growth, fastest process (${fastestHeap[0]})`,
      value: fastestHeap[1].heapGrowthMiBPerHour!,
      unit: 'MiB/h',
      target: null,
      met: null,
    },
    {
      figure: `queues growing${growing.length > 0 ? ` (${growing.join(', ')})` : ''}`,
      value: growing.length,
      unit: 'queues',
      target: '0',
      met: growing.length === 0,
    },
    {
      figure: 'Redis used memory, end',
      value: redisEnd,
      unit: 'MiB',
      target: `≤ ${f(redisBound)}`,
      met: redisOk,
    },
  ]);
  console.log(
    `  Redis used memory: ${f(redisEarly)} MiB early, ${f(redisEnd)} MiB at the end (bound ${f(redisBound)}) ${redisOk ? 'ok' : 'GROWING'}`,
  );
  console.log(`load average at end: ${loadAverage()}`);

  console.log(
    JSON.stringify({
      seconds: SECONDS,
      rate: RATE,
      achieved: sent / elapsed,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      late,
      postFailed,
      memory: report,
      samples: samples.length,
    }),
  );
  return growing.length > 0 || !redisOk || late + postFailed > 0 ? 1 : 0;
}

/** The communes of the citizens (see UNITS): citizen c belongs to the (c mod UNITS)th. */
function unitCodes(): string[] {
  return Array.from({ length: UNITS }, (_, i) => String(30_001 + i));
}

main()
  .then((code) => process.exit(code))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
