/**
 * Benchmark (not a test) of the whole bot in webhook mode against a Bot API sink on loopback,
 * next to a bare telegraf echo bot (no state, no queue) measured in the same run.
 *   (a) saturation: 200 concurrent citizens, each waiting for the reply before the next message.
 *       Measured twice for hailong: the bot role alone (`http,bot`: webhook, update inbox,
 *       engine, live state in Redis, job producer; its jobs wait in Redis), which is what the
 *       target compares with the echo bot, and then the same with the workers persisting
 *       everything to the database on the same two cores, reported beside it. Both bots stay up
 *       and BENCH_SATURATION_PAIRS (default 5) pairs of BENCH_SATURATION_S-second windows alternate
 *       echo, hailong, echo, ...; the ratio is the median over adjacent pairs, with min and max, so
 *       that drift in a shared machine's load falls on both sides;
 *   (b) open loop: 100 updates/s spread over 1,000 citizens with think time; p50/p99 turn latency
 *       from "webhook request sent" to "reply arrived at the Bot API", with the workers running.
 * Every bot runs in an OS process of its own, the echo bot too (bench/support/bot-role-process.ts,
 * echo-bot-process.ts): this process only sends the updates, plays the Bot API and measures, so
 * its own work is counted as nobody's turn. The bot's layout, BENCH_LAYOUT:
 *   `start` (default): what the README's `hailong start` runs, through the same function;
 *   `one`: all roles in one process (`hailong start --roles http,bot,workers`);
 *   `split`: `hailong start --roles http,bot` and `hailong start --roles workers` apart.
 * (BENCH_SPLIT=0 and BENCH_SPLIT=1, of earlier runs, name `one` and `split`.)
 * Run: npm run bench -- bot-turns   (or bash scripts/with-services.sh npx tsx bench/bot-turns.ts)
 * BENCH_WORKERS=0 leaves the workers out (the bot role alone: no "with the workers" saturation;
 * the open loop without them).
 * Each measurement follows a warm-up of BENCH_WARMUP_S seconds (default 10) under the same load
 * with other citizens, reported apart and not counted: a process that has just started compiles
 * its code paths and fills its connection pools while the first turns wait (docs/history.md,
 * "Workers' CPU priority"); a deployed bot is warm.
 * BENCH_BOT_NODE_FLAGS: Node or V8 flags for the bot's process (and the workers' child it starts
 * in the `start` layout), space-separated, e.g. `--single-threaded-gc`, to try them.
 * CPU profiles of the bot's process: BENCH_PROFILE=<file.cpuprofile> over the open loop's measured
 * part, BENCH_SAT_PROFILE=<file.cpuprofile> over the bot role's last saturation window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { parseEnv } from '../config/env';
import { clearPrefix } from '../test/support/services';
import { BotApiSink, percentile, postText } from './support/bot-api-sink';
import { BENCH_SECRET, benchBotEnv } from './support/bot-env';
import { startBotProcess } from './support/bot-role-process';
import { startEchoBotProcess } from './support/echo-bot-process';
import type { WatchedProcess } from './support/watched-process';
import {
  cpuAccountingAvailable,
  cpuBetween,
  cpuSnapshot,
  describeCpu,
  type CpuGroup,
} from './support/cpu-accounting';
import { describeLoop, type LoopReport } from './support/loop-watch';
import { describeMongoCommands, type MongoCommandReport } from './support/mongo-watch';
import { reportFigures, type BenchFigure } from './support/result';

// Where bench/load.ts and bench/bot-turns-ab.ts have taken it from.
export { startEchoBot } from './support/echo-bot-process';

/** Length of one saturation window (each side of each pair). */
const SATURATION_SECONDS = Number(process.env.BENCH_SATURATION_S ?? 6);
/** Echo/hailong window pairs in the saturation part; the ratio reported is their median. */
const SATURATION_PAIRS = Number(process.env.BENCH_SATURATION_PAIRS ?? 5);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_S ?? 30);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_S ?? 10);
/** Which parts to run: `saturation`, `open` or both (default). */
const PARTS = (process.env.BENCH_PARTS ?? 'saturation,open').split(',');
const WORKERS = process.env.BENCH_WORKERS !== '0';
type Layout = 'start' | 'one' | 'split';
const LAYOUT: Layout = ((): Layout => {
  const named =
    process.env.BENCH_LAYOUT ?? { '0': 'one', '1': 'split' }[process.env.BENCH_SPLIT ?? ''] ?? 'start';
  if (named !== 'start' && named !== 'one' && named !== 'split')
    throw new Error(`BENCH_LAYOUT: start, one or split, not "${named}"`);
  return named;
})();
const LAYOUT_NAMES: Record<Layout, string> = {
  start: "the README's `hailong start`",
  one: 'all roles in one process',
  split: '`http,bot` and `workers` in processes of their own',
};

/** The workers role in its own process (`hailong start --roles workers`), ready when it logs so. */
async function startWorkersProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const root = path.resolve(__dirname, '..');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'bin/hailong.ts'), 'start', '--roles', 'workers'],
    {
      cwd: root,
      env: { ...env, LOG_LEVEL: 'info' },
      // Logs go to stderr (lib/logger.ts).
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    // It builds the fresh database's indexes first: minutes on a machine loaded by other work.
    const limitS = Number(process.env.BENCH_START_TIMEOUT_S ?? 300);
    const timer = setTimeout(
      () => reject(new Error(`workers process did not start in ${limitS} s`)),
      limitS * 1000,
    );
    child.once('exit', (code) => reject(new Error(`workers process exited (${code})`)));
    const onData = (b: Buffer) => {
      if (/started|ready|listening/i.test(b.toString())) {
        clearTimeout(timer);
        // Read on (a full pipe would block the workers' writes), but no longer looked at.
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
  });
  child.stderr!.resume();
  return child;
}

export interface Target {
  name: string;
  url: string;
  secret: string | null;
  /** The message a citizen sends at step i of its script. */
  script: string[];
}

/**
 * A reply that has not come after this long is counted late and the citizen moves on (waiting for it
 * hung the run). Seen so far: turns whose MongoDB reads waited for good on FerretDB's exhausted
 * connection pool (docs/architecture.md); the chat's later updates stay queued behind them.
 */
const REPLY_TIMEOUT_MS = Number(process.env.BENCH_REPLY_TIMEOUT_MS ?? 10_000);

/** The p50 of the bench's other figures (percentile), over values in any order. */
export function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

export async function saturation(
  sink: BotApiSink,
  t: Target,
  citizens: number,
  seconds: number,
  base: number,
): Promise<{ turnsPerS: number; p50: number; p99: number; lost: number; lostAt: Record<string, number> }> {
  const deadline = performance.now() + seconds * 1000;
  const lat: number[] = [];
  let turns = 0;
  let lost = 0;
  /** Late replies by the message that waited for one ("step: text"). */
  const lostAt: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: citizens }, async (_, i) => {
      const chat = base + i;
      for (let step = 0; performance.now() < deadline; step++) {
        const text = t.script[step % t.script.length];
        const reply = sink.nextMessage(chat);
        const t0 = performance.now();
        await postText(t.url, t.secret, chat, text);
        const at = await Promise.race([reply, sleep(REPLY_TIMEOUT_MS).then(() => null)]);
        if (at === null) {
          lost++;
          const k = `${step}: ${text}`;
          lostAt[k] = (lostAt[k] ?? 0) + 1;
          continue;
        }
        lat.push(at - t0);
        turns++;
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { turnsPerS: turns / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), lost, lostAt };
}

async function openLoop(
  sink: BotApiSink,
  t: Target,
  citizens: number,
  ratePerS: number,
  seconds: number,
  base: number,
  watch: { process: WatchedProcess; cpuGroups?: CpuGroup[] | null; profileTo?: string },
): Promise<OpenLoopResult> {
  const lat: number[] = [];
  /** Latency of each citizen's first turn (a contact the bot has not seen) and of the later ones. */
  const first: number[] = [];
  const later: number[] = [];
  /** Of first turns: until the webhook's 200 (the update stored), the rest is the turn itself. */
  const firstAccepted: number[] = [];
  const groups = watch.cpuGroups ?? null;
  const cpu0 = groups && cpuSnapshot(groups);
  // The bot's (or the echo bot's) own process, read from inside it.
  await watch.process.watch(watch.profileTo);
  /** Per 5 s of the run (by the moment the update was sent). */
  const byWindow: number[][] = [];
  const busy = new Set<number>();
  const step = new Map<number, number>();
  const inflight: Promise<void>[] = [];
  const total = ratePerS * seconds;
  const start = performance.now();
  let sent = 0;
  let skipped = 0;
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    // A random citizen who is not waiting for a reply (think time between taps).
    let chat = -1;
    for (let tries = 0; tries < 20; tries++) {
      const c = base + Math.floor(Math.random() * citizens);
      if (!busy.has(c)) {
        chat = c;
        break;
      }
    }
    if (chat < 0) {
      skipped++;
      continue;
    }
    busy.add(chat);
    const s = step.get(chat) ?? 0;
    step.set(chat, s + 1);
    const text = t.script[s % t.script.length];
    sent++;
    inflight.push(
      (async () => {
        const reply = sink.nextMessage(chat);
        const t0 = performance.now();
        await postText(t.url, t.secret, chat, text);
        if (s === 0) firstAccepted.push(performance.now() - t0);
        const l = (await reply) - t0;
        lat.push(l);
        (s === 0 ? first : later).push(l);
        (byWindow[Math.floor((t0 - start) / 5000)] ??= []).push(l);
        busy.delete(chat);
      })(),
    );
  }
  const progress = setInterval(() => console.log(`  … ${t.name}: ${lat.length}/${sent} replies`), 5000);
  await Promise.all(inflight);
  clearInterval(progress);
  const elapsed = (performance.now() - start) / 1000;
  const inside = await watch.process.report();
  const cpu = cpu0 && groups ? cpuBetween(cpu0, cpuSnapshot(groups)) : null;
  for (const k of Object.keys(cpu ?? {})) if (cpu && cpu[k] < 0.01) delete cpu[k];
  if (skipped > 0) console.log(`  (${skipped} ticks found no idle citizen)`);
  // percentile() takes a sorted array.
  const p = (a: number[]) => {
    a.sort((x, y) => x - y);
    return { p50: percentile(a, 50), p99: percentile(a, 99) };
  };
  const all = p(lat);
  return {
    offered: ratePerS,
    achieved: sent / elapsed,
    ...all,
    max: lat.at(-1) ?? NaN,
    firstTurn: p(first),
    firstTurnAccepted: p(firstAccepted),
    laterTurns: p(later),
    p99Per5s: Array.from(byWindow, (w) => (w ? p(w).p99 : NaN)),
    loop: inside.loop,
    mongo: inside.mongo,
    cpu,
    cpuLine: cpu ? describeCpu(cpu, lat.length, elapsed, 'turn') : null,
  };
}

interface OpenLoopResult {
  offered: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
  firstTurn: { p50: number; p99: number };
  /** Of first turns: from the update sent to the webhook's 200. */
  firstTurnAccepted: { p50: number; p99: number };
  laterTurns: { p50: number; p99: number };
  p99Per5s: number[];
  /** The event loop of the bot's process (the one that applies turns) during the part. */
  loop: LoopReport;
  /** Its MongoDB commands (null for the echo bot, which has none). */
  mongo: MongoCommandReport | null;
  cpu: Record<string, number> | null;
  cpuLine: string | null;
}

function describeOpenLoop(name: string, r: OpenLoopResult): string {
  const f = (x: number) => x.toFixed(1);
  return (
    `  ${name}: p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, max ${f(r.max)} ms (achieved ${f(r.achieved)}/s); ` +
    `first turns p50 ${f(r.firstTurn.p50)} / p99 ${f(r.firstTurn.p99)} ms (webhook's 200 p99 ${f(r.firstTurnAccepted.p99)} ms), later turns p50 ${f(r.laterTurns.p50)} / p99 ${f(r.laterTurns.p99)} ms; ` +
    `p99 per 5 s: ${r.p99Per5s.map((x) => x.toFixed(0)).join(' ')}\n` +
    `    ${describeLoop(r.loop)}${r.mongo ? `\n    ${describeMongoCommands(r.mongo)}` : ''}${r.cpuLine ? `\n    ${r.cpuLine}` : ''}`
  );
}

export async function benchBotTurns(): Promise<Record<string, unknown>> {
  const sink = await BotApiSink.start();
  const echo = await startEchoBotProcess(sink.apiRoot);
  // One name for the run's database and its key prefixes.
  const stamp = Date.now();
  const mongo = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/hailong');
  mongo.pathname = `/bench_bot_${stamp}`;
  // The same settings for every process of the bot.
  const shared: NodeJS.ProcessEnv = {
    ...benchBotEnv(sink.apiRoot, mongo.toString(), `{hlbench${stamp}}`),
    PORT: '0',
    // A fresh database: production refuses to start without its indexes (lib/db/indexes.ts).
    MONGO_BUILD_INDEXES: 'true',
  };
  // The bot's process's client reports its commands (bench/support/mongo-watch.ts): whether a
  // turn read the database.
  const monitored = new URL(mongo);
  monitored.searchParams.set('monitorCommands', 'true');
  const botEnv: NodeJS.ProcessEnv = { ...shared, MONGODB_URI: monitored.toString() };
  // The bot role alone runs under a key prefix of its own, which no worker consumes: its jobs
  // wait in Redis (deleted at the end) instead of being persisted later, during another part.
  const botAloneEnv: NodeJS.ProcessEnv = { ...botEnv, REDIS_PREFIX: `{hlbench${stamp}b}` };
  console.log(
    `the bot logs at ${process.env.LOG_LEVEL ?? 'info'} to stderr; a workers process of the bench's at info`,
  );

  const echoT: Target = { name: 'telegraf echo', url: echo.url, secret: BENCH_SECRET, script: ['xin chào'] };
  // A whole survey per cycle: consent, six scale answers, skip the suggestion.
  const script = ['/start', '1', '5', '4', '5', '3', '5', '4', 'bỏ qua'];
  const botTarget = (name: string, port: number | null): Target => ({
    name,
    url: `http://127.0.0.1:${port}/webhooks/telegram`,
    secret: BENCH_SECRET,
    script,
  });

  const result: Record<string, unknown> = { layout: WORKERS ? LAYOUT : 'bot role alone' };
  // Where the CPU went during each measured part (bench/RESULTS.md, bot-turns). The workers are
  // found by command line: in the `start` layout the bot's process starts them itself.
  const pgDb = process.env.HAILONG_FERRET_PGDB ?? 'hailong_ferretdb';
  const cpuGroups = (bot: WatchedProcess | null): CpuGroup[] | null =>
    cpuAccountingAvailable()
      ? [
          { name: 'bench process (load, sink)', match: process.pid },
          { name: 'echo bot', match: echo.pid },
          ...(bot ? [{ name: 'bot', match: bot.pid }] : []),
          { name: 'workers', match: /hailong\.[jt]s start --roles workers/ },
          { name: 'FerretDB', match: /ferretdb-v1\.24\.2/ },
          { name: 'PostgreSQL', match: new RegExp(`^postgres: \\S+: \\S+ ${pgDb} `) },
          { name: 'mongod', match: /(^|\/)mongod( |$)/ },
          { name: 'Redis', match: /redis-server/ },
        ]
      : null;
  const warmSaturation = async (t: Target, base: number) => {
    if (WARMUP_SECONDS <= 0) return;
    const w = await saturation(sink, t, 200, WARMUP_SECONDS, base);
    console.log(
      `  ${t.name} warm-up (not counted): ${w.turnsPerS.toFixed(0)} turns/s (p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms)`,
    );
  };
  const measured = async (t: Target, base: number, bot: WatchedProcess | null, profileTo?: string) => {
    const groups = cpuGroups(bot);
    const before = groups && cpuSnapshot(groups);
    if (profileTo && bot) await bot.watch(profileTo);
    const t0 = performance.now();
    const r = await saturation(sink, t, 200, SATURATION_SECONDS, base);
    const seconds = (performance.now() - t0) / 1000;
    if (profileTo && bot) await bot.report();
    const cpu = before && groups ? cpuBetween(before, cpuSnapshot(groups)) : null;
    for (const k of Object.keys(cpu ?? {})) if (cpu && cpu[k] < 0.01) delete cpu[k];
    const m = {
      ...r,
      cpu,
      cpuLine: cpu
        ? `    ${describeCpu(cpu, r.turnsPerS * SATURATION_SECONDS, seconds, 'turn')}`
        : '    (no /proc: CPU not accounted)',
    };
    console.log(
      `  ${t.name}: ${m.turnsPerS.toFixed(0)} turns/s (p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms, ${m.lost} replies later than ${REPLY_TIMEOUT_MS / 1000} s${m.lost > 0 ? `: ${JSON.stringify(m.lostAt)}` : ''})`,
    );
    console.log(m.cpuLine);
    return m;
  };

  let satEcho: Awaited<ReturnType<typeof measured>> | null = null;
  if (PARTS.includes('saturation')) {
    console.log(
      `saturation: 200 concurrent citizens, ${SATURATION_PAIRS} pairs of ${SATURATION_SECONDS}s windows (echo, hailong) after ${WARMUP_SECONDS}s of warm-up each`,
    );
    // Both bots stay up and warm; the windows alternate echo, hailong, echo, hailong, ... and each
    // ratio compares adjacent windows, so drift in the shared machine's load hits both sides.
    const botAlone = await startBotProcess('http,bot', botAloneEnv);
    const aloneT = botTarget('hailong, bot role (its jobs wait in Redis)', botAlone.port);
    await warmSaturation(echoT, 5_000_000);
    await warmSaturation(aloneT, 6_000_000);
    const pairs: {
      echo: Awaited<ReturnType<typeof measured>>;
      hailong: Awaited<ReturnType<typeof measured>>;
      ratio: number;
    }[] = [];
    for (let k = 0; k < SATURATION_PAIRS; k++) {
      // Fresh citizens per window: each starts the script from its first message.
      const e = await measured(echoT, 1_000_000 + k * 1000, botAlone);
      // BENCH_SAT_PROFILE=<file.cpuprofile>: a CPU profile of the bot role's last window.
      const profileTo =
        k === SATURATION_PAIRS - 1 && process.env.BENCH_SAT_PROFILE
          ? path.resolve(process.env.BENCH_SAT_PROFILE)
          : undefined;
      const h = await measured(aloneT, 2_000_000 + k * 1000, botAlone, profileTo);
      const pairRatio = h.turnsPerS / e.turnsPerS;
      pairs.push({ echo: e, hailong: h, ratio: pairRatio });
      console.log(`  pair ${k + 1}: ratio ${pairRatio.toFixed(2)}`);
    }
    await botAlone.stop();
    const ratios = pairs.map((x) => x.ratio).sort((a, b) => a - b);
    const ratio = median(ratios);
    satEcho = pairs[pairs.length - 1].echo;
    console.log(
      `  ratio hailong bot role / echo: median ${ratio.toFixed(2)} of ${ratios.length} pairs (min ${ratios[0].toFixed(2)}, max ${ratios[ratios.length - 1].toFixed(2)}) (target >= 0.5)`,
    );
    result.saturation = {
      echo: median(pairs.map((x) => x.echo.turnsPerS)),
      hailong: median(pairs.map((x) => x.hailong.turnsPerS)),
      ratio,
      ratioMin: ratios[0],
      ratioMax: ratios[ratios.length - 1],
      pairs: pairs.map((x) => ({ echo: x.echo.turnsPerS, hailong: x.hailong.turnsPerS, ratio: x.ratio })),
    };
  }

  // The bot in the layout asked for, each process as `hailong start` runs it.
  const workersProcess = LAYOUT === 'split' && WORKERS ? await startWorkersProcess(shared) : null;
  const bot = await startBotProcess(
    !WORKERS || LAYOUT === 'split' ? 'http,bot' : LAYOUT === 'one' ? 'http,bot,workers' : 'start',
    botEnv,
  );
  const botT = botTarget('hailong', bot.port);

  if (satEcho && WORKERS) {
    // Reported beside the target: the same load while the workers persist every answer, session
    // and contact to the database, all on the same two cores.
    const withT = botTarget('hailong with the workers persisting, same machine', bot.port);
    await warmSaturation(withT, 9_000_000);
    const satWith = await measured(withT, 10_000_000, bot);
    const ratio = satWith.turnsPerS / satEcho.turnsPerS;
    console.log(`  ratio hailong with the workers / echo: ${ratio.toFixed(2)} (reported, not the target)`);
    (result.saturation as Record<string, unknown>).withWorkers = { ...satWith, ratio };
  }
  if (PARTS.includes('open')) {
    console.log(
      `open loop: 100 updates/s over 1,000 citizens, ${OPEN_SECONDS}s after ${WARMUP_SECONDS}s of warm-up; ` +
        (WORKERS ? LAYOUT_NAMES[LAYOUT] : 'the bot role alone, no workers') +
        '; every bot in a process of its own, this one only loads, answers as the Bot API and measures',
    );
    const groups = cpuGroups(bot);
    const warm = async (t: Target, p: WatchedProcess, base: number) => {
      if (WARMUP_SECONDS <= 0) return null;
      const w = await openLoop(sink, t, 1000, 100, WARMUP_SECONDS, base, { process: p });
      console.log(describeOpenLoop(`${t.name} warm-up (not counted)`, w));
      return w;
    };
    await warm(echoT, echo, 7_000_000);
    const olEcho = await openLoop(sink, echoT, 1000, 100, OPEN_SECONDS, 3_000_000, {
      process: echo,
      cpuGroups: groups,
    });
    console.log(describeOpenLoop(echoT.name, olEcho));
    const warmBot = await warm(botT, bot, 8_000_000);
    // BENCH_PROFILE=<file.cpuprofile>: a CPU profile of the bot's process over the measured part.
    const olBot = await openLoop(sink, botT, 1000, 100, OPEN_SECONDS, 4_000_000, {
      process: bot,
      cpuGroups: groups,
      ...(process.env.BENCH_PROFILE ? { profileTo: path.resolve(process.env.BENCH_PROFILE) } : {}),
    });
    console.log(`${describeOpenLoop(botT.name, olBot)} (target p99 < 50 ms)`);
    result.openLoop = { echo: olEcho, hailong: olBot, hailongWarmup: warmBot };
  }

  await bot.stop();
  if (workersProcess) {
    workersProcess.kill('SIGTERM');
    await new Promise((r) => workersProcess.once('exit', r));
  }
  await echo.stop();
  await sink.close();
  // Leave nothing behind: the run's database and its Redis keys (delayed session copies and the
  // bot-role part's waiting jobs included).
  const db = await mongoose.createConnection(mongo.toString()).asPromise();
  await db.dropDatabase();
  await db.close();
  const { REDIS_URL, REDIS_PREFIX } = parseEnv(shared);
  const redis = new Redis(REDIS_URL);
  await clearPrefix(redis, REDIS_PREFIX);
  await clearPrefix(redis, botAloneEnv.REDIS_PREFIX!);
  await redis.quit();
  return result;
}

function botTurnsFigures(r: Record<string, unknown>): BenchFigure[] {
  const out: BenchFigure[] = [];
  const sat = r.saturation as { ratio: number; withWorkers?: { ratio: number } } | undefined;
  if (sat) {
    out.push({
      figure: 'saturation, bot role / echo',
      value: sat.ratio,
      unit: '×',
      target: '≥ 0.5',
      met: sat.ratio >= 0.5,
    });
    if (sat.withWorkers)
      out.push({
        figure: 'saturation with the workers / echo',
        value: sat.withWorkers.ratio,
        unit: '×',
        target: null,
        met: null,
      });
  }
  const open = r.openLoop as { hailong: OpenLoopResult } | undefined;
  if (open) {
    const { p99, firstTurn } = open.hailong;
    out.push({ figure: 'open loop 100/s, p99', value: p99, unit: 'ms', target: '< 50', met: p99 < 50 });
    out.push({
      figure: 'open loop, first turns p99',
      value: firstTurn.p99,
      unit: 'ms',
      target: '< 50',
      met: firstTurn.p99 < 50,
    });
  }
  return out;
}

if (require.main === module) {
  benchBotTurns()
    .then((r) => {
      console.log(JSON.stringify(r));
      reportFigures('bot-turns', botTurnsFigures(r));
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
