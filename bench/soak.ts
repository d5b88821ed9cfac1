/**
 * Soak benchmark (issue 21, "Load and soak"): BENCH_SOAK_RATE updates/s (default 100) for
 * BENCH_SOAK_S seconds (default 1,800: 30 minutes) over 1,000 citizens who answer surveys again
 * and again, through two bot processes and two worker processes (as bench/load.ts). Every
 * BENCH_SOAK_SAMPLE_S (default 10) it samples each process's resident memory, each queue's
 * depth (waiting, delayed, active) and Redis's used memory; at the end it reports the growth per
 * process (the last fifth of the run against the fifth after the first: the warm-up is left
 * out) and checks that no queue and not Redis grew without bound (the last fifth no higher
 * than the bound below). Exits 1 when a check fails.
 * Run (full length): bash scripts/with-services.sh npx tsx bench/soak.ts
 * Short (npm run bench): BENCH_SOAK_S=180
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { defaultFlow } from '../bot/flow/default-flow';
import { FlowRepository } from '../bot/flow/repository';
import { Unit } from '../models/unit';
import { freePort } from '../test/support/app';
import { clearPrefix } from '../test/support/services';
import { BotApiSink, postText } from './support/bot-api-sink';
import {
  loadAverage,
  pct,
  queueDepths,
  rssMiB,
  startRoleProcess,
  stopRoleProcess,
  surveyScript,
  type RoleProcess,
} from './support/fleet';

const TOKEN = '123456:BENCH-token-abcdefghijklmnopqrstuv';
const SECRET = 'bench_secret';
const UNIT = '19867';
const SECONDS = Number(process.env.BENCH_SOAK_S ?? 1800);
const RATE = Number(process.env.BENCH_SOAK_RATE ?? 100);
const SAMPLE_S = Number(process.env.BENCH_SOAK_SAMPLE_S ?? 10);
const CITIZENS = 1000;
/** A queue (or Redis) is bounded when its last fifth stays under max(floor, 2 × the second fifth's peak). */
const QUEUE_FLOOR = 500;
const REDIS_FLOOR_MIB = 64;

interface Sample {
  t: number;
  rss: Record<string, number | null>;
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
  const sink = await BotApiSink.start();
  const stamp = Date.now();
  const mongo = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/hailong');
  mongo.pathname = `/bench_soak_${stamp}`;
  const prefix = `{hlsoak${stamp}}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    PHONE_HASH_KEY: 'bench-only-phone-hash-key',
    MONGODB_URI: mongo.toString(),
    REDIS_PREFIX: prefix,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: sink.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    TELEGRAM_SET_WEBHOOK: 'false',
    ZALO_APP_ID: '',
    DIGEST_AT: 'off',
    QUIET_HOURS_START: '00:00',
    QUIET_HOURS_END: '00:00',
  };
  await mongoose.connect(mongo.toString(), { serverSelectionTimeoutMS: 5000 });
  await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
  await new FlowRepository().ensure(defaultFlow);
  await Unit.create({ code: UNIT, name: 'Thị trấn Sịa', level: 'town' });
  const ports = [await freePort(), await freePort()];
  const procs: RoleProcess[] = await Promise.all([
    startRoleProcess('http,bot', env, ports[0]!),
    startRoleProcess('http,bot', env, ports[1]!),
    startRoleProcess('workers', env, null),
    startRoleProcess('workers', env, null),
  ]);
  const names = procs.map((p, i) => `${p.roles}#${i < 2 ? i + 1 : i - 1}`);
  const urls = ports.map((p) => `http://127.0.0.1:${p}/webhooks/telegram`);
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const script = surveyScript(UNIT);

  const samples: Sample[] = [];
  const t0 = Date.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rss: Record<string, number | null> = { bench: rssMiB(process.pid) };
      procs.forEach((p, i) => (rss[names[i]!] = rssMiB(p.proc.pid!)));
      const { queues, redisMiB } = await queueDepths(redis, prefix);
      samples.push({ t: (Date.now() - t0) / 1000, rss, queues, redisMiB });
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
      await postText(urls[n % urls.length]!, SECRET, chat, script[s % script.length]!);
      const r = await Promise.race([reply, sleep(30_000).then(() => null)]);
      if (r === null) late++;
      else lat.push(r - at);
      busy.delete(chat);
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  sampling = false;
  await sampler;

  lat.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `sent ${sent} updates in ${f(elapsed)} s (${f(sent / elapsed)}/s achieved, ${skipped} ticks without an idle citizen), ` +
      `turn p50 ${f(pct(lat, 50))} ms, p99 ${f(pct(lat, 99))} ms, ${late} replies later than 30 s`,
  );
  // The second fifth (after the warm-up) against the last fifth.
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  const early = samples.slice(fifth, 2 * fifth);
  const end = samples.slice(-fifth);
  let failed = 0;
  const report: Record<string, unknown> = {};
  for (const name of ['bench', ...names]) {
    const a = median(early.map((s) => s.rss[name] ?? NaN));
    const b = median(end.map((s) => s.rss[name] ?? NaN));
    const perHour = (b - a) / Math.max(1, (end[0]!.t - early[0]!.t) / 3600);
    report[name] = { earlyMiB: a, endMiB: b, growthMiB: b - a, growthMiBPerHour: perHour };
    console.log(
      `  memory ${name}: ${f(a)} → ${f(b)} MiB (${b - a >= 0 ? '+' : ''}${f(b - a)} MiB, ${f(perHour)} MiB/h)`,
    );
  }
  for (const q of Object.keys(samples[0]?.queues ?? {})) {
    const peakEarly = Math.max(...early.map((s) => s.queues[q]!));
    const peakEnd = Math.max(...end.map((s) => s.queues[q]!));
    const bound = Math.max(QUEUE_FLOOR, 2 * peakEarly);
    const ok = peakEnd <= bound;
    if (!ok) failed++;
    console.log(
      `  queue ${q}: peak ${peakEarly} early, ${peakEnd} at the end (bound ${bound}) ${ok ? 'ok' : 'GROWING'}`,
    );
  }
  const redisEarly = Math.max(...early.map((s) => s.redisMiB));
  const redisEnd = Math.max(...end.map((s) => s.redisMiB));
  const redisBound = Math.max(REDIS_FLOOR_MIB, 2 * redisEarly);
  const redisOk = redisEnd <= redisBound;
  if (!redisOk) failed++;
  console.log(
    `  Redis used memory: ${f(redisEarly)} MiB early, ${f(redisEnd)} MiB at the end (bound ${f(redisBound)}) ${redisOk ? 'ok' : 'GROWING'}`,
  );
  console.log(`load average at end: ${loadAverage()}`);

  await Promise.all(procs.map(stopRoleProcess));
  await sink.close();
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
  await clearPrefix(redis, prefix);
  await redis.quit();
  console.log(
    JSON.stringify({
      seconds: SECONDS,
      rate: RATE,
      achieved: sent / elapsed,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      late,
      memory: report,
      samples: samples.length,
    }),
  );
  return failed > 0 ? 1 : 0;
}

main()
  .then((code) => process.exit(code))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
