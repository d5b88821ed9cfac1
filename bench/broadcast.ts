/**
 * Broadcast benchmark (not a test). Against the fake Telegram server on loopback, with real
 * Redis and the MongoDB-compatible server:
 *   1. baseline: the bare client sending as fast as it can (same concurrency), msg/s;
 *   2. the full send path with no effective limit (15 s window): msg/s, and the overhead per
 *      message over (1);
 *   3. 20,000 recipients at 30/s and at 1,000/s: achieved rate as a share of the limit, and the
 *      busiest 1 s window (must never exceed the limit). At 30/s the run is cut after
 *      BENCH_WINDOW_S seconds (default 30) and cancelled: the full 20,000 would take 11 minutes.
 *
 *   bash scripts/with-services.sh npx tsx bench/broadcast.ts
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { logger } from '../lib/logger';
import { createTelegramClient } from '../bot/channels/telegram/api-client';
import { Broadcast } from '../models/broadcast';
import { Contact } from '../models/contact';
import { broadcastSenders } from '../workers/broadcast/channels';
import { cancelBroadcast, createBroadcast, type ControlDeps } from '../workers/broadcast/control';
import { concurrencyFor } from '../workers/broadcast/limits';
import { BroadcastQueues } from '../workers/broadcast/queues';
import { startBroadcastWorkers } from '../workers/broadcast/start';
import { FakeTelegram } from '../test/fakes/telegram-server';
import { startWorkersChild } from './support/broadcast-workers-process';
import { FakeTelegramProcess, type CallTime } from './support/fake-telegram-process';
import { maxPerSecond } from '../test/support/rate';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../test/support/services';
import { broadcastTestEnv } from '../test/support/broadcasts';
import { reportFigures, type BenchFigure } from './support/result';

const N = Number(process.env.BENCH_RECIPIENTS ?? 20_000);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 30);
/** Which parts to run (profiling one part): baseline,unlimited,30,1000. */
const PHASES = new Set((process.env.BENCH_PHASES ?? 'baseline,unlimited,30,1000').split(','));
/**
 * `process` (default): the fake Telegram server in a process of its own, as Telegram is another
 * host; `inline`: in this process (as the earliest runs did, bench/RESULTS.md), where its replies wait
 * behind the workers' event loop.
 */
const FAKE = process.env.BENCH_FAKE === 'inline' ? 'inline' : 'process';
/**
 * Broadcast worker processes for the limited phases: 1 (default) runs them in the bench's own
 * process; N > 1 forks N (bench/support/broadcast-workers-process.ts), each with 1/N of the
 * concurrency, as a deployment of several `workers` processes would run.
 */
const PROCS = Math.max(1, Number(process.env.BENCH_PROCS ?? 1));

/** What the bench reads of the fake, wherever it runs. */
interface Fake {
  apiRoot: string;
  token: string;
  count(): Promise<number>;
  callsFrom(from: number): Promise<CallTime[]>;
  close(): Promise<void>;
}

async function startFake(): Promise<Fake> {
  if (FAKE === 'process') return FakeTelegramProcess.start();
  const f = await FakeTelegram.start();
  return {
    apiRoot: f.apiRoot,
    token: f.token,
    count: async () => f.calls.length,
    callsFrom: async (from) => f.calls.slice(from),
    close: () => f.close(),
  };
}

/** Redis commands sent by this process (workers and bench), by name: round trips per message. */
const redisCommands = new Map<string, number>();
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (
  this: Redis,
  command: Parameters<Redis['sendCommand']>[0],
  stream?: Parameters<Redis['sendCommand']>[1],
) {
  redisCommands.set(command.name, (redisCommands.get(command.name) ?? 0) + 1);
  return sendCommand.call(this, command, stream);
};
/** MongoDB operations issued by this process. */
let mongoOps = 0;
mongoose.set('debug', () => void mongoOps++);

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const rows: string[] = [`load average at start (1/5/15 min): ${load()} on ${os.cpus().length} cores`];
  const dbName = await connectTestDb('bench');
  const redis = testRedis();
  const fake = await startFake();
  rows.push(`fake Telegram server: ${FAKE === 'process' ? 'in its own process' : 'in the bench process'}`);
  // BROADCAST_RATE_MARGIN_MS from the environment, to measure another margin (the default otherwise).
  const env = broadcastTestEnv(fake, { BROADCAST_RATE_MARGIN_MS: process.env.BROADCAST_RATE_MARGIN_MS });
  for (let i = 0; i < N; i += 5000) {
    await Contact.insertMany(
      Array.from({ length: Math.min(5000, N - i) }, (_, k) => ({
        channel: 'telegram',
        channelUserId: String(10_000_000 + i + k),
        consentAt: new Date(),
      })),
      { ordered: false },
    );
  }

  // 1. Baseline: bare client, 2,000 sends, concurrency 32.
  const client = createTelegramClient({
    token: fake.token,
    apiRoot: fake.apiRoot,
    maxRetries: 0,
    maxRetryAfterS: 1,
    waitOnRateLimit: false,
    log: logger,
  });
  const CONC = 32;
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next < 2000) await client.sendMessage(20_000_000 + next++, 'baseline');
    }),
  );
  const baseline = 2000 / ((Date.now() - t0) / 1000);
  rows.push(`baseline (bare client, concurrency ${CONC}): ${baseline.toFixed(0)} msg/s`);
  const figures: BenchFigure[] = [];

  const run = async (
    label: string,
    limitPerS: number,
    concurrency: number,
    cutAfterS: number | null,
    procs = 1,
  ) => {
    const prefix = testPrefix(`bench${label}`);
    const ctx = { env, log: logger, redis, prefix };
    let workers: { queues: BroadcastQueues; close(): Promise<void> };
    if (procs === 1) {
      workers = await startBroadcastWorkers({
        ctx,
        createConnection: testRedis,
        senders: broadcastSenders(ctx),
        limits: { telegram: { limitPerS, concurrency } },
        finishIntervalMs: 250,
      });
    } else {
      const each = {
        dbName,
        prefix,
        apiRoot: fake.apiRoot,
        token: fake.token,
        limitPerS,
        concurrency: Math.ceil(concurrency / procs),
      };
      const children = await Promise.all(Array.from({ length: procs }, () => startWorkersChild(each)));
      const queues = new BroadcastQueues(redis, prefix);
      workers = {
        queues,
        close: async () => void (await Promise.all([...children.map((c) => c.close()), queues.close()])),
      };
    }
    const deps: ControlDeps = { redis, prefix, queues: workers.queues, env };
    const before = await fake.count();
    const created = await createBroadcast({ text: `bench ${label}`, target: {}, createdBy: 'bench' }, deps);
    // Measured from the first send, so the fan-out of the first page is not counted as slowness.
    const waitUntil = Date.now() + 120_000;
    while ((await fake.count()) <= before) {
      if (Date.now() > waitUntil) throw new Error('no first send in 120 s');
      await sleep(20);
    }
    const start = (await fake.callsFrom(before))[0]!.at;
    redisCommands.clear();
    mongoOps = 0;
    let fannedOutAt: number | null = null;
    for (;;) {
      const bc = await Broadcast.findById(created.id, { status: 1, fanoutDone: 1 }).lean();
      if (bc?.fanoutDone && fannedOutAt === null) fannedOutAt = Date.now();
      if (bc?.status === 'completed') break;
      if (cutAfterS !== null && Date.now() - start >= cutAfterS * 1000) {
        await cancelBroadcast(created.id, deps);
        break;
      }
      await sleep(250);
    }
    const commands = new Map(redisCommands);
    const ops = mongoOps;
    const calls = (await fake.callsFrom(before)).filter((c) => c.method === 'sendMessage' && c.at >= start);
    const end =
      cutAfterS !== null
        ? Math.min(start + cutAfterS * 1000, calls[calls.length - 1]!.at)
        : calls[calls.length - 1]!.at;
    const inWindow = calls.filter((c) => c.at <= end);
    const rate = inWindow.length / Math.max(0.001, (end - start) / 1000);
    // The same after the fan-out finished (the fan-out of 20,000 shares the process at first).
    const steady =
      fannedOutAt !== null && end - fannedOutAt > 3000
        ? inWindow.filter((c) => c.at >= fannedOutAt!).length / ((end - fannedOutAt) / 1000)
        : null;
    await workers.close();
    await clearPrefix(redis, prefix);
    const total = [...commands.values()].reduce((x, y) => x + y, 0);
    const top = [...commands.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 6)
      .map(([k, v]) => `${k} ${(v / calls.length).toFixed(2)}`)
      .join(', ');
    // Sends per second of the fake's clock from the first one: the ramp while the fan-out runs.
    const perSecond: number[] = [];
    for (const c of inWindow) {
      const k = Math.floor((c.at - start) / 1000);
      perSecond[k] = (perSecond[k] ?? 0) + 1;
    }
    return {
      perSecond: `sends per second: ${Array.from(perSecond, (x) => x ?? 0).join(' ')}; fan-out done ${fannedOutAt === null ? 'after the window' : `${((fannedOutAt - start) / 1000).toFixed(1)} s after the first send`}`,
      sends: inWindow.length,
      seconds: (end - start) / 1000,
      rate,
      steady,
      max1s: maxPerSecond(calls.map((c) => c.at)),
      perMsg: `Redis commands per message ${(total / calls.length).toFixed(2)} (${top}); MongoDB operations per message ${(ops / calls.length).toFixed(3)} (${ops} in all: bench polling, finisher, fan-out)`,
    };
  };

  // 2. Full send path, limit far above what the process can do.
  if (PHASES.has('unlimited')) {
    const unl = await run('unlimited', 100_000, CONC, 15);
    rows.push(
      `full send path, no effective limit (concurrency ${CONC}): ${unl.rate.toFixed(0)} msg/s over ${unl.sends} sends = ${((100 * unl.rate) / baseline).toFixed(0)}% of the bare client; overhead per message vs baseline: ${((1000 / unl.rate - 1000 / baseline) * CONC).toFixed(2)} ms of a concurrency slot (${(baseline / unl.rate).toFixed(2)}x baseline time)`,
    );
    rows.push(`  ${unl.perMsg}`);
    figures.push({
      figure: 'full send path / bare client',
      value: unl.rate / baseline,
      unit: '×',
      target: null,
      met: null,
    });
  }

  // 3. The two limits.
  for (const [limit, cut] of [
    [30, WINDOW_S],
    [1000, null],
  ] as const) {
    if (!PHASES.has(String(limit))) continue;
    const r = await run(`l${limit}`, limit, concurrencyFor(limit), cut, PROCS);
    rows.push(
      `${N} recipients at ${limit}/s (${PROCS > 1 ? `${PROCS} worker processes, concurrency ${Math.ceil(concurrencyFor(limit) / PROCS)} each` : `concurrency ${concurrencyFor(limit)}`}, margin ${env.BROADCAST_RATE_MARGIN_MS} ms)${cut ? ` (cut after ${cut} s)` : ''}: ${r.sends} sends in ${r.seconds.toFixed(1)} s = ${r.rate.toFixed(1)}/s = ${((100 * r.rate) / limit).toFixed(1)}% of the limit${r.steady === null ? '' : ` (after the fan-out: ${r.steady.toFixed(1)}/s = ${((100 * r.steady) / limit).toFixed(1)}%)`}; busiest 1 s window on the fake's clock ${r.max1s} (limit ${limit})`,
    );
    const share = (100 * r.rate) / limit;
    figures.push({
      figure: `${limit}/s: share of the limit (busiest second ${r.max1s})`,
      value: share,
      unit: '%',
      target: '≥ 95, never above',
      met: share >= 95 && r.max1s <= limit,
    });
    // Counted in this process: with worker processes apart, only the fan-out's share is seen here.
    if (PROCS === 1) rows.push(`  ${r.perMsg}`);
    rows.push(`  ${r.perSecond}`);
  }
  rows.push(`load average at end (1/5/15 min): ${load()}`);

  console.log(rows.join('\n'));
  reportFigures('broadcast', figures);
  await fake.close();
  await redis.quit();
  await dropTestDb();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
