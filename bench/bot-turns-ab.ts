/**
 * Benchmark (not a test): the saturation part of bench/bot-turns.ts for two checkouts at once, to
 * tell whether a change made the bot role slower. Each checkout's bot role (`http,bot`, its jobs
 * waiting in Redis, no workers) runs in a process of its own (bench/support/bot-role-process.ts),
 * with its own database and key prefix; the bare telegraf echo bot runs here beside the load and
 * the Bot API sink. After a warm-up of each, BENCH_AB_ROUNDS rounds of BENCH_SATURATION_S-second
 * windows run echo, A, B, then echo, B, A, ... (the order of A and B swaps each round, so a drift
 * in the machine's load falls on both). Reported per round and as the median over rounds: B / A
 * from adjacent windows (the figure the question needs), and each / the echo window of its round.
 *
 * Run: BENCH_AB_A=<checkout> BENCH_AB_B=<checkout> bash scripts/with-services.sh npx tsx bench/bot-turns-ab.ts
 * (B defaults to this checkout). A checkout needs its own node_modules (npm ci in it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { clearPrefix } from '../test/support/services';
import { BotApiSink } from './support/bot-api-sink';
import { BENCH_SECRET, benchBotEnv } from './support/bot-env';
import { median, saturation, startEchoBot, type Target } from './bot-turns';

const SECONDS = Number(process.env.BENCH_SATURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 6);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_S ?? 10);
const CITIZENS = 200;
const SCRIPT = ['/start', '1', '5', '4', '5', '3', '5', '4', 'bỏ qua'];

interface BotProcess {
  child: ChildProcess;
  port: number;
}

async function startBotRole(checkout: string, env: NodeJS.ProcessEnv): Promise<BotProcess> {
  const entry = path.join(__dirname, 'support/bot-role-process.ts');
  // tsx from the checkout's own node_modules, so its code compiles as it did there.
  const child = spawn(process.execPath, ['--import', 'tsx', entry, checkout], {
    cwd: checkout,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${checkout}: bot role did not start in 300 s`)),
      300_000,
    );
    child.once('exit', (code) => reject(new Error(`${checkout}: bot role exited (${code})`)));
    let seen = '';
    child.stdout!.on('data', (b: Buffer) => {
      seen += b.toString();
      const m = /BOT_ROLE_READY (\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { child, port };
}

async function stopBotRole(p: BotProcess): Promise<void> {
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  const checkoutA = process.env.BENCH_AB_A;
  if (!checkoutA) throw new Error('BENCH_AB_A: the checkout to compare against (a path) is required');
  const checkouts = {
    A: path.resolve(checkoutA),
    B: path.resolve(process.env.BENCH_AB_B ?? path.join(__dirname, '..')),
  };
  const sink = await BotApiSink.start();
  const echo = await startEchoBot(sink.apiRoot);
  const stamp = Date.now();
  const runs = (['A', 'B'] as const).map((side) => {
    const mongo = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/hailong');
    mongo.pathname = `/bench_ab_${stamp}_${side.toLowerCase()}`;
    const prefix = `{hlab${stamp}${side.toLowerCase()}}`;
    const env: NodeJS.ProcessEnv = {
      ...benchBotEnv(sink.apiRoot, mongo.toString(), prefix),
      PORT: '0',
      MONGO_BUILD_INDEXES: 'true',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    };
    return { side, checkout: checkouts[side], mongo: mongo.toString(), prefix, env };
  });
  const bots = [];
  for (const r of runs) bots.push(await startBotRole(r.checkout, r.env));
  const target = (name: string, port: number): Target => ({
    name,
    url: `http://127.0.0.1:${port}/webhooks/telegram`,
    secret: BENCH_SECRET,
    script: SCRIPT,
  });
  const echoT: Target = { name: 'echo', url: echo.url, secret: BENCH_SECRET, script: ['xin chào'] };
  const aT = target('A', bots[0].port);
  const bT = target('B', bots[1].port);
  console.log(`A = ${checkouts.A}\nB = ${checkouts.B}`);
  console.log(
    `${ROUNDS} rounds of ${SECONDS} s windows, ${CITIZENS} concurrent citizens, warm-up ${WARMUP_SECONDS} s each`,
  );
  let base = 1_000_000;
  const window = async (t: Target, s: number) => {
    const r = await saturation(sink, t, CITIZENS, s, base);
    base += 10_000;
    return r;
  };
  for (const t of [echoT, aT, bT]) {
    const w = await window(t, WARMUP_SECONDS);
    console.log(`  warm-up ${t.name}: ${w.turnsPerS.toFixed(0)} turns/s (not counted)`);
  }
  const rounds: { echo: number; a: number; b: number }[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    const e = await window(echoT, SECONDS);
    const order = k % 2 === 0 ? [aT, bT] : [bT, aT];
    const got: Record<string, number> = {};
    for (const t of order) {
      const r = await window(t, SECONDS);
      got[t.name] = r.turnsPerS;
      if (r.lost > 0) console.log(`  (${t.name}: ${r.lost} replies later than the timeout)`);
    }
    rounds.push({ echo: e.turnsPerS, a: got.A, b: got.B });
    console.log(
      `  round ${k + 1} (echo, ${order.map((t) => t.name).join(', ')}): echo ${e.turnsPerS.toFixed(0)}, A ${got.A.toFixed(0)}, B ${got.B.toFixed(0)} turns/s; B/A ${(got.B / got.A).toFixed(2)}, A/echo ${(got.A / e.turnsPerS).toFixed(2)}, B/echo ${(got.B / e.turnsPerS).toFixed(2)}`,
    );
  }
  const ba = rounds.map((r) => r.b / r.a);
  const summary = {
    ba: median(ba),
    baMin: Math.min(...ba),
    baMax: Math.max(...ba),
    aEcho: median(rounds.map((r) => r.a / r.echo)),
    bEcho: median(rounds.map((r) => r.b / r.echo)),
    rounds,
  };
  console.log(
    `B / A: median ${summary.ba.toFixed(2)} (min ${summary.baMin.toFixed(2)}, max ${summary.baMax.toFixed(2)}); A / echo ${summary.aEcho.toFixed(2)}, B / echo ${summary.bEcho.toFixed(2)}`,
  );
  console.log(JSON.stringify(summary));

  for (const b of bots) await stopBotRole(b);
  await echo.close();
  await sink.close();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  for (const r of runs) {
    const db = await mongoose.createConnection(r.mongo).asPromise();
    await db.dropDatabase();
    await db.close();
    await clearPrefix(redis, r.prefix);
  }
  await redis.quit();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
