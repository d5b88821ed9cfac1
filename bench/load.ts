/**
 * Load benchmark (issue 21, "Load and soak"): two bot processes (`hailong start --roles http,bot`)
 * and two worker processes (`--roles workers`) sharing Redis and the database; BENCH_CITIZENS
 * (default 1,000) concurrent simulated citizens each complete a survey through the webhook, the
 * turns spread over both bot processes (a load balancer), against a Bot API sink that answers
 * at once. Reported: updates/s, turn latency p50/p99 (first turns apart), the lag from an
 * answer to MongoDB and from a completion to the day rollups (the indices' source); the
 * baseline is the bare telegraf echo bot, driven the same way in the same run.
 * Run: npm run bench -- load   (or bash scripts/with-services.sh npx tsx bench/load.ts)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Answer } from '../models/answer';
import { Response } from '../models/response';
import { Rollup } from '../models/rollup';
import { startEchoBot } from './bot-turns';
import { BotApiSink } from './support/bot-api-sink';
import {
  BENCH_UNIT as UNIT,
  citizenSurvey,
  loadAverage,
  pct,
  prepareBenchFleet,
  surveyScript,
  type BenchFleet,
  type TurnTiming,
} from './support/fleet';
import { reportFigures } from './support/result';

const CITIZENS = Number(process.env.BENCH_CITIZENS ?? 1000);
const REPLY_TIMEOUT_MS = Number(process.env.BENCH_REPLY_TIMEOUT_MS ?? 30_000);

interface RunResult {
  citizens: number;
  turns: number;
  lost: number;
  seconds: number;
  updatesPerS: number;
  p50: number;
  p99: number;
  firstP50: number;
  firstP99: number;
}

async function drive(
  sink: BotApiSink,
  urls: string[],
  secret: string,
  script: string[],
  base: number,
): Promise<RunResult & { timings: TurnTiming[] }> {
  const timings: TurnTiming[] = [];
  let lost = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CITIZENS }, (_, i) =>
      citizenSurvey(sink, urls, secret, base + i, script, REPLY_TIMEOUT_MS, (t) => {
        if (t) timings.push(t);
        else lost++;
      }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  const all = timings.map((t) => t.latencyMs).sort((a, b) => a - b);
  const first = timings
    .filter((t) => t.step === 0)
    .map((t) => t.latencyMs)
    .sort((a, b) => a - b);
  return {
    citizens: CITIZENS,
    turns: timings.length + lost,
    lost,
    seconds,
    updatesPerS: (timings.length + lost) / seconds,
    p50: pct(all, 50),
    p99: pct(all, 99),
    firstP50: pct(first, 50),
    firstP99: pct(first, 99),
    timings,
  };
}

/**
 * Lag of derived data behind the events that feed it: `events` (performance.now of each, sorted)
 * against samples of how many the database holds; for the k-th event, the first sample holding
 * at least k minus the event's time. p50/p99 over every event.
 */
function lags(
  events: number[],
  samples: Array<{ at: number; n: number }>,
): { p50: number; p99: number; reached: boolean } {
  const out: number[] = [];
  let s = 0;
  for (let k = 0; k < events.length; k++) {
    while (s < samples.length && samples[s]!.n < k + 1) s++;
    if (s >= samples.length) return { p50: NaN, p99: NaN, reached: false };
    out.push(Math.max(0, samples[s]!.at - events[k]!));
  }
  out.sort((a, b) => a - b);
  return { p50: pct(out, 50), p99: pct(out, 99), reached: true };
}

/**
 * The figures, and `complete`: every citizen's response stored and counted in the rollups (a
 * benchmark that lost one has no figure worth reading).
 */
export async function benchLoad(): Promise<Record<string, unknown> & { complete: boolean }> {
  console.log(`load average at start: ${loadAverage()} (other work shares this machine)`);
  const fleet = await prepareBenchFleet('load');
  try {
    const r = await measure(fleet);
    return { ...r, drainMs: await fleet.close() };
  } finally {
    await fleet.close();
  }
}

async function measure(fleet: BenchFleet): Promise<Record<string, unknown> & { complete: boolean }> {
  const { sink } = fleet;

  // Baseline: the echo bot, 1,000 citizens, the same number of turns each.
  const echo = await startEchoBot(sink.apiRoot);
  const echoRun = await drive(
    sink,
    [echo.url],
    fleet.secret,
    Array(9).fill('xin chào') as string[],
    20_000_000,
  );
  await echo.close();
  const f = (x: number) => x.toFixed(1);
  console.log(
    `telegraf echo: ${echoRun.turns} turns in ${f(echoRun.seconds)} s, ${f(echoRun.updatesPerS)} updates/s, p50 ${f(echoRun.p50)} ms, p99 ${f(echoRun.p99)} ms`,
  );

  await fleet.start();
  // Samples of what the database holds, while the citizens answer and until it caught up.
  const answerSamples: Array<{ at: number; n: number }> = [];
  const rollupSamples: Array<{ at: number; n: number }> = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [answers, rolled] = await Promise.all([
        Answer.estimatedDocumentCount(),
        Rollup.find({ unitCode: UNIT }, { responses: 1 }).lean(),
      ]);
      const at = performance.now();
      answerSamples.push({ at, n: answers });
      rollupSamples.push({ at, n: rolled.reduce((a, r) => a + r.responses, 0) });
      await sleep(250);
    }
  })();
  const run = await drive(sink, fleet.urls, fleet.secret, surveyScript(UNIT), 30_000_000);
  console.log(
    `hailong (2 bot + 2 worker processes): ${run.turns} turns in ${f(run.seconds)} s, ${f(run.updatesPerS)} updates/s, ` +
      `p50 ${f(run.p50)} ms, p99 ${f(run.p99)} ms (first turns p50 ${f(run.firstP50)} / p99 ${f(run.firstP99)} ms), ${run.lost} replies later than ${REPLY_TIMEOUT_MS / 1000} s`,
  );
  // Every answer and every completion reached the database and the rollups (or 5 minutes passed).
  const answersExpected = CITIZENS * 6;
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const last = rollupSamples.at(-1)?.n ?? 0;
    if ((answerSamples.at(-1)?.n ?? 0) >= answersExpected && last >= CITIZENS) break;
    await sleep(500);
  }
  sampling = false;
  await sampler;
  // Answers: turns 2–7 (q1–q6) carry one each; completions: the last turn.
  const answerEvents = run.timings
    .filter((t) => t.step >= 2 && t.step <= 7)
    .map((t) => t.sentAt + t.latencyMs)
    .sort((a, b) => a - b);
  const completionEvents = run.timings
    .filter((t) => t.step === 8)
    .map((t) => t.sentAt + t.latencyMs)
    .sort((a, b) => a - b);
  const answerLag = lags(answerEvents, answerSamples);
  const indexLag = lags(completionEvents, rollupSamples);
  const stored = await Response.countDocuments({ status: 'completed', unitCode: UNIT });
  console.log(
    `lag answer → MongoDB: p50 ${f(answerLag.p50)} ms, p99 ${f(answerLag.p99)} ms; completion → rollups (indices): p50 ${f(indexLag.p50)} ms, p99 ${f(indexLag.p99)} ms; ${stored}/${CITIZENS} completed responses stored`,
  );
  const ratio = run.updatesPerS / echoRun.updatesPerS;
  console.log(`ratio updates/s hailong / echo: ${ratio.toFixed(2)}; load average at end: ${loadAverage()}`);
  reportFigures('load', [
    { figure: 'updates/s, hailong / echo', value: ratio, unit: '×', target: null, met: null },
    { figure: 'turn p99, every turn', value: run.p99, unit: 'ms', target: null, met: null },
    { figure: 'first turns p99', value: run.firstP99, unit: 'ms', target: null, met: null },
    { figure: 'lag answer → MongoDB, p99', value: answerLag.p99, unit: 'ms', target: null, met: null },
    { figure: 'lag completion → rollups, p99', value: indexLag.p99, unit: 'ms', target: null, met: null },
    {
      figure: 'completed responses stored',
      value: stored,
      unit: `of ${CITIZENS}`,
      target: `${CITIZENS}`,
      met: stored === CITIZENS,
    },
  ]);

  const strip = ({ timings: _t, ...r }: RunResult & { timings: TurnTiming[] }) => r;
  return {
    echo: strip(echoRun),
    hailong: strip(run),
    ratio,
    answerLag,
    indexLag,
    stored,
    loadAverage: loadAverage(),
    complete: stored === CITIZENS && answerLag.reached && indexLag.reached,
  };
}

if (require.main === module) {
  benchLoad()
    .then((r) => {
      console.log(JSON.stringify(r));
      if (!r.complete) console.error('load: not every survey reached MongoDB and the rollups');
      process.exit(r.complete ? 0 : 1);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
