/**
 * Benchmark (not a test): completed responses stored per second by the completion writer
 * (workers/jobs/completed-response-writer.ts, storeCompletion) with 256 in flight, as the ingest
 * queue's workers run them, against the same writer given one completion at a time, same run,
 * same database. Each response has its seven answers recorded turn by turn first (not timed), as
 * the `answers.record` jobs leave them; the completion finds them and stamps them. Without the
 * queue: what the writer costs, not BullMQ. Run: bash scripts/with-services.sh npx tsx
 * bench/completions.ts (BENCH_COMPLETIONS_N responses in flight, default 2,000; a quarter of that
 * one at a time).
 */
import { randomUUID } from 'node:crypto';
import { Answer } from '../models/answer';
import { Response } from '../models/response';
import { storeCompletion } from '../workers/jobs/completed-response-writer';
import { reportFigures } from './support/result';
import { ELEMENTS } from './support/survey-data';
import { loadAverage, RESPONSE_META, withWriterDb, writerBenchEnv } from './support/writer-db';

const N = Number(process.env.BENCH_COMPLETIONS_N ?? 2000);
const IN_FLIGHT = 256;
const answers = [
  ...ELEMENTS.map((element, i) => ({
    questionId: `q${i + 1}`,
    element,
    type: 'scale5',
    value: 4,
    text: null,
  })),
  { questionId: 'q7', element: null, type: 'free_text', value: null, text: 'Cảm ơn' },
];

const { dossierCode: _none, ...withoutDossier } = RESPONSE_META;

/** `n` responses with their answers recorded turn by turn (unstamped) and a "started" record. */
async function seed(label: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${label}${i}-${randomUUID().slice(0, 8)}`);
  const at = new Date();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    await Answer.insertMany(
      chunk.flatMap((responseId) => answers.map((a) => ({ ...a, responseId, answeredAt: at }))),
      { ordered: false },
    );
    await Response.insertMany(
      // No dossierCode: its unique index is sparse (a null is a value).
      chunk.map((responseId) => ({ ...withoutDossier, responseId, status: 'started', startedAt: at })),
      { ordered: false },
    );
  }
  return ids;
}

/** Completions per second, `inFlight` at a time. */
async function complete(ids: string[], inFlight: number): Promise<number> {
  const at = new Date();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < ids.length) await storeCompletion(ids[next++]!, RESPONSE_META, answers, at);
    }),
  );
  const s = (performance.now() - t0) / 1000;
  if ((await Response.countDocuments({ responseId: { $in: ids }, status: 'completed' })) !== ids.length)
    throw new Error('not every response was stored as completed');
  return ids.length / s;
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  await withWriterDb('completions', writerBenchEnv(), async () => {
    const alone = await seed('a', Math.ceil(N / 4));
    const together = await seed('t', N);
    const aloneRate = await complete(alone, 1);
    const togetherRate = await complete(together, IN_FLIGHT);
    const ratio = togetherRate / aloneRate;
    console.log(
      `completions: ${N} with ${IN_FLIGHT} in flight, ${alone.length} one at a time (7 answers each)`,
    );
    console.log(`  load average before the run: ${loadBefore} (other work shares this machine)`);
    console.log(`  one at a time: ${aloneRate.toFixed(1)} completions/s`);
    console.log(`  ${IN_FLIGHT} in flight: ${togetherRate.toFixed(1)} completions/s`);
    console.log(`  ratio in flight / one at a time: ${ratio.toFixed(2)}`);
    console.log(`  load average after: ${loadAverage()}`);
    reportFigures('completions', [
      { figure: `${IN_FLIGHT} in flight / one at a time`, value: ratio, unit: '×', target: null, met: null },
      { figure: `${IN_FLIGHT} in flight`, value: togetherRate, unit: '/s', target: null, met: null },
    ]);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
