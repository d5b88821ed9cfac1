/**
 * Structural counts of a turn, for finding a regression on a machine shared with other work,
 * where wall-clock figures mean little: per turn, the Redis commands (round trips by command and
 * key shape, and every command the server ran, Lua's included, from a private redis-server's
 * INFO commandstats), the MongoDB commands and documents written (driver command monitoring),
 * and the CPU of the process (bot and workers roles in one), of its FerretDB and of PostgreSQL;
 * with the event-loop delay of the process during the turns.
 * Citizens answer a whole survey (consent, six scale answers, skip the suggestion) through the
 * webhook, COUNT_CONCURRENCY of them at a time, each waiting for its reply; the counts cover the
 * turns and the workers' persisting that follows them, until MongoDB is quiet.
 * Run: bash scripts/with-services.sh npx tsx bench/turn-counts.ts
 * COUNT_CITIZENS (default 200), COUNT_CONCURRENCY (default 20), COUNT_WARMUP (citizens, default 50);
 * COUNT_PROFILE=<file.cpuprofile>: a CPU profile of the process over the measured turns and their
 * persisting (open it in Chrome's DevTools or speedscope).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { parseEnv } from '../config/env';
import { startApp } from '../app/start';
import { FlowRepository } from '../bot/flow/repository';
import { defaultFlow } from '../bot/flow/default-flow';
import { BotApiSink, postText } from './support/bot-api-sink';
import { BENCH_SECRET, benchBotEnv } from './support/bot-env';
import { cpuBetween, cpuSnapshot, type CpuGroup } from './support/cpu-accounting';

const CITIZENS = Number(process.env.COUNT_CITIZENS ?? 200);
const CONCURRENCY = Number(process.env.COUNT_CONCURRENCY ?? 20);
const WARMUP = Number(process.env.COUNT_WARMUP ?? 50);
const SCRIPT = ['/start', '1', '5', '4', '5', '3', '5', '4', 'bỏ qua'];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Keys with their prefix, ids and numbers masked: the shape names the script or the caller. */
function shape(key: unknown): string {
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) return '';
  return String(key)
    .replace(/^\{[^}]*\}/, '{p}')
    .replace(/[0-9a-f]{24}/g, '<id>')
    .replace(/[0-9a-f-]{36}/g, '<uuid>')
    .replace(/\d+/g, '#');
}

const redisCalls = new Map<string, number>();
const origSend = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (
  this: Redis,
  command: Parameters<Redis['sendCommand']>[0],
  stream?: unknown,
) {
  const c = command as unknown as { name: string; args: unknown[] };
  const name = c.name.toLowerCase();
  const k =
    name === 'evalsha' || name === 'eval'
      ? `${name} ${shape(c.args[2])}`
      : name === 'info' || name === 'client' || name === 'script'
        ? name
        : `${name} ${shape(c.args[0])}`;
  redisCalls.set(k, (redisCalls.get(k) ?? 0) + 1);
  return (origSend as (this: Redis, ...a: unknown[]) => unknown).call(this, command, stream) as never;
} as typeof Redis.prototype.sendCommand;

const mongoCalls = new Map<string, number>();
let mongoDocsWritten = 0;
let mongoLast = 0;
function onCommand(e: { commandName: string; command: Record<string, unknown> }): void {
  const coll = e.command[e.commandName];
  const k = `${e.commandName} ${typeof coll === 'string' ? coll : ''}`;
  mongoCalls.set(k, (mongoCalls.get(k) ?? 0) + 1);
  const n = (a: unknown) => (Array.isArray(a) ? a.length : 0);
  mongoDocsWritten += n(e.command.documents) + n(e.command.updates) + n(e.command.deletes);
  if (e.commandName === 'findAndModify') mongoDocsWritten++;
  mongoLast = performance.now();
}

/** Calls per command and the microseconds Redis spent in them (keys `usec <command>`). */
async function commandStats(r: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await r.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) {
      out.set(m[1], Number(m[2]));
      out.set(`usec ${m[1]}`, Number(m[3]));
    }
  }
  return out;
}

function diff(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of b) if (v - (a.get(k) ?? 0) > 0) out.set(k, v - (a.get(k) ?? 0));
  return out;
}

function perTurn(m: Map<string, number>, turns: number, min = 0.005): string {
  const rows = [...m].map(([k, v]) => [k, v / turns] as const).filter(([, v]) => v >= min);
  rows.sort((x, y) => y[1] - x[1]);
  const total = [...m.values()].reduce((x, y) => x + y, 0) / turns;
  return `${total.toFixed(2)} in all\n${rows.map(([k, v]) => `      ${v.toFixed(3)}  ${k}`).join('\n')}`;
}

async function main(): Promise<void> {
  const redisPort = await freePort();
  const redisServer = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect(redisPort, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 100) throw new Error('private redis-server did not start');
    await sleep(100);
  }
  const admin = new Redis(`redis://127.0.0.1:${redisPort}`);
  const sink = await BotApiSink.start();
  const stamp = Date.now();
  const mongo = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/hailong');
  mongo.pathname = `/bench_counts_${stamp}`;
  mongo.searchParams.set('monitorCommands', 'true');
  const env = parseEnv({
    ...benchBotEnv(sink.apiRoot, mongo.toString(), `{hlcount}`),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    PORT: '0',
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    MONGO_BUILD_INDEXES: 'true',
  });
  const app = await startApp({ env, roles: ['http', 'bot', 'workers'] });
  await new FlowRepository().ensure(defaultFlow);
  mongoose.connection.getClient().on('commandStarted', onCommand);
  const url = `http://127.0.0.1:${app.port}/webhooks/telegram`;

  const first: number[] = [];
  const later: number[] = [];
  const survey = async (chat: number) => {
    for (let step = 0; step < SCRIPT.length; step++) {
      const reply = sink.nextMessage(chat);
      const t0 = performance.now();
      await postText(url, BENCH_SECRET, chat, SCRIPT[step]);
      const at = await Promise.race([reply, sleep(30_000).then(() => null)]);
      if (at === null) throw new Error(`no reply in 30 s (chat ${chat}, step ${step})`);
      (step === 0 ? first : later).push(at - t0);
    }
  };
  const citizens = async (base: number, n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await survey(base + next++);
      }),
    );
  };
  const quiet = async () => {
    const t0 = performance.now();
    // A session's end is copied within 0.3 s, answers within the batcher's window: 3 s without a
    // MongoDB command is the end of the persisting.
    while (performance.now() - Math.max(mongoLast, t0) < 3000 && performance.now() - t0 < 60_000)
      await sleep(200);
  };

  await citizens(50_000_000, WARMUP);
  await quiet();
  first.length = 0;
  later.length = 0;

  const pgDb = process.env.HAILONG_FERRET_PGDB ?? 'hailong_ferretdb';
  const groups: CpuGroup[] = [
    { name: 'process (http, bot, workers)', match: process.pid },
    { name: 'FerretDB', match: new RegExp(`listen-addr=127\\.0\\.0\\.1:${mongo.port} `) },
    { name: 'PostgreSQL', match: new RegExp(`^postgres: \\S+: \\S+ ${pgDb} `) },
    { name: 'Redis', match: redisServer.pid! },
  ];
  redisCalls.clear();
  mongoCalls.clear();
  mongoDocsWritten = 0;
  await admin.config('SET', 'slowlog-log-slower-than', '2000');
  await admin.slowlog('RESET');
  const stats0 = await commandStats(admin);
  const cpu0 = cpuSnapshot(groups);
  const own0 = process.cpuUsage();
  const profiler = process.env.COUNT_PROFILE ? new Session() : null;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const t0 = performance.now();
  await citizens(60_000_000, CITIZENS);
  const turnsS = (performance.now() - t0) / 1000;
  loop.disable();
  const ownTurns = process.cpuUsage(own0);
  const redisDuring = new Map(redisCalls);
  const mongoDuring = new Map(mongoCalls);
  await quiet();
  const own = process.cpuUsage(own0);
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    fs.writeFileSync(process.env.COUNT_PROFILE!, JSON.stringify(profile));
    profiler.disconnect();
  }
  const cpu = cpuBetween(cpu0, cpuSnapshot(groups));
  const statsAll = diff(stats0, await commandStats(admin));
  const stats = new Map([...statsAll].filter(([k]) => !k.startsWith('usec ')));
  const usec = new Map(
    [...statsAll].filter(([k]) => k.startsWith('usec ')).map(([k, v]) => [k.slice(5), v / 1000]),
  );
  const slow = (await admin.slowlog('GET', 20)) as Array<[number, number, number, string[]]>;
  const turns = CITIZENS * SCRIPT.length;
  const ms = (x: number) => (x / 1e6).toFixed(1);
  const pct = (a: number[], p: number) => {
    a.sort((x, y) => x - y);
    return a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))].toFixed(1);
  };
  console.log(
    `turn counts: ${CITIZENS} citizens × ${SCRIPT.length} turns = ${turns} turns, ${CONCURRENCY} at a time, all roles in one process`,
  );
  console.log(
    `  turns took ${turnsS.toFixed(1)} s (wall clock, load-dependent); first turns p50 ${pct(first, 50)} / p99 ${pct(first, 99)} ms, later p50 ${pct(later, 50)} / p99 ${pct(later, 99)} ms`,
  );
  console.log(
    `  CPU per turn: process ${((ownTurns.user + ownTurns.system) / 1000 / turns).toFixed(3)} ms during the turns, ${((own.user + own.system) / 1000 / turns).toFixed(3)} ms with the persisting after; ` +
      Object.entries(cpu)
        .map(([k, v]) => `${k} ${((v * 1000) / turns).toFixed(3)} ms`)
        .join(', '),
  );
  console.log(
    `  event-loop delay during the turns: p50 ${ms(loop.percentile(50))} ms, p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms`,
  );
  console.log(`  Redis round trips per turn during the turns (client side): ${perTurn(redisDuring, turns)}`);
  console.log(`  Redis round trips per turn, turns and persisting: ${perTurn(redisCalls, turns)}`);
  console.log(`  Redis commands the server ran per turn (Lua's included): ${perTurn(stats, turns)}`);
  console.log(`  Redis server time per turn (ms, commandstats usec): ${perTurn(usec, turns, 0.0005)}`);
  console.log(
    `  Redis commands slower than 2 ms: ${slow.length}${slow
      .map(
        (e) =>
          `\n      ${(e[2] / 1000).toFixed(1)} ms  ${e[3]
            .slice(0, 3)
            .map((a) => shape(a) || String(a).slice(0, 40))
            .join(' ')}`,
      )
      .join('')}`,
  );
  console.log(`  MongoDB commands per turn during the turns: ${perTurn(mongoDuring, turns, 0)}`);
  console.log(`  MongoDB commands per turn, turns and persisting: ${perTurn(mongoCalls, turns, 0)}`);
  console.log(`  MongoDB documents written per turn: ${(mongoDocsWritten / turns).toFixed(3)}`);

  await app.stop();
  await sink.close();
  const db = await mongoose.createConnection(mongo.toString()).asPromise();
  await db.dropDatabase();
  await db.close();
  admin.disconnect();
  redisServer.kill('SIGTERM');
}

// A socket the load's keep-alive agent or the sink had reset must not end the measurement.
process.on('uncaughtException', (err) => console.error('uncaught (ignored):', err.message));

main()
  .then(() => process.exit(0))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
