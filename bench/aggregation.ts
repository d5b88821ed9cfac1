/**
 * Aggregation benchmark (not a test). Generates N completed responses (default 200,000; six
 * scale answers each) for the 11 Quảng Điền units and 50 procedures over 2024, inserted in bulk
 * in the shape the ingest path leaves them (answers stamped with unit and day), then measures in
 * the same run:
 *  - the full rebuild of the year (workers/aggregation/rollups/rebuild.ts);
 *  - the incremental cost per response: completions through the real `response.complete` →
 *    `rollup.recompute` jobs on BullMQ workers, each in a different unit-day (no coalescing
 *    help), and the bare recompute of one bucket;
 *  - the unit-year index query through the report's own functions (scope, day rollups, sums,
 *    formulas: the index part of buildReport), median and p95 of repeated runs, against the
 *    baseline measured in the same run: a plain scan-and-count of the unit-year's raw answers
 *    (the better of a find counted in Node and a server-side $match/$group); and the whole
 *    buildReport, which also reads dossiers and raw responses for the response rate and 766 ratio.
 *
 *   bash scripts/with-services.sh npx tsx bench/aggregation.ts [--responses N] [--sample 200]
 *     [--query-runs 20] [--district-runs 5] [--report-runs 3] [--scan-runs 3]
 *
 * Uses a fresh database and Redis prefix and drops them at the end.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { parseEnv } from '../config/env';
import { logger } from '../lib/logger';
import { hcmDay } from '../lib/time';
import { Answer } from '../models/answer';
import { Rollup } from '../models/rollup';
import { Unit } from '../models/unit';
import { aggregationSettings } from '../workers/aggregation/after-complete';
import { addCounts, elementShares, emptyCounts, scoreAnswer, type Counts } from '../indices/formula';
import { rebuildRollups } from '../workers/aggregation/rollups/rebuild';
import { recomputeBucket } from '../workers/aggregation/rollups/recompute';
import { loadRollups, loadTotals, sumTotals } from '../indices/period-sum';
import { RollupMonth } from '../models/rollup-month';
import { buildReport, figuresOf } from '../indices/report';
import { scopedUnits } from '../indices/units';
import { jobId } from '../workers/job-id';
import { JobProducer } from '../workers/producer';
import { startWorkers } from '../workers/runner';
import {
  dossierChannel,
  ELEMENTS,
  generateResponses,
  rng,
  scaleValue,
  YEAR_2024,
} from './support/survey-data';
import { reportFigures } from './support/result';

const { values: args } = parseArgs({
  options: {
    responses: { type: 'string' },
    sample: { type: 'string', default: '200' },
    'query-runs': { type: 'string', default: '20' },
    'scan-runs': { type: 'string', default: '3' },
    'district-runs': { type: 'string', default: '5' },
    'report-runs': { type: 'string', default: '3' },
  },
});
const TOTAL = Number(args.responses ?? process.env.BENCH_RESPONSES ?? 200_000);
const SAMPLE = Number(args.sample);
const QUERY_RUNS = Number(args['query-runs']);
const SCAN_RUNS = Number(args['scan-runs']);
const DISTRICT_RUNS = Number(args['district-runs']);
const REPORT_RUNS = Number(args['report-runs']);
const UNITS = [
  '19867',
  '19870',
  '19873',
  '19876',
  '19879',
  '19882',
  '19885',
  '19888',
  '19891',
  '19894',
  '19897',
];
const QUERY_UNIT = UNITS[0];

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
const median = (xs: number[]) => pct(xs, 0.5);

function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Baseline 1: every answer of the unit-year read and counted in Node. */
async function scanFind(unitCode: string): Promise<number | null> {
  const answers = await Answer.find(
    { unitCode, day: { $gte: '2024-01-01', $lte: '2024-12-31' }, element: { $ne: null } },
    { _id: 0, questionId: 1, element: 1, value: 1 },
  ).lean();
  const cells = new Map<string, Counts>();
  for (const a of answers) {
    const s = scoreAnswer(a.value);
    if (!s || !a.element) continue;
    const k = `${a.element}|${a.questionId}`;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = emptyCounts()));
    addCounts(c, s);
  }
  return elementShares(cells).overall.index;
}

/** Baseline 2: the same count done by the server ($match, $group). */
async function scanGroup(unitCode: string): Promise<number | null> {
  const rows = await Answer.aggregate<{ _id: { e: string; q: string; v: unknown }; n: number }>([
    { $match: { unitCode, day: { $gte: '2024-01-01', $lte: '2024-12-31' }, element: { $ne: null } } },
    { $group: { _id: { e: '$element', q: '$questionId', v: '$value' }, n: { $sum: 1 } } },
  ]);
  const cells = new Map<string, Counts>();
  for (const r of rows) {
    const s = scoreAnswer(r._id.v);
    if (!s) continue;
    const k = `${r._id.e}|${r._id.q}`;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = emptyCounts()));
    addCounts(c, {
      n: s.n * r.n,
      satisfied: s.satisfied * r.n,
      dissatisfied: s.dissatisfied * r.n,
      na: s.na * r.n,
    });
  }
  return elementShares(cells).overall.index;
}

/** Completed responses per unit-day, as generated (the check of the incremental phase). */
const generatedPerBucket = new Map<string, number>();

async function incremental(
  redis: Redis,
  prefix: string,
): Promise<{ perResponseMs: number; wallMs: number; exact: boolean; failed: number; recomputeMs: number[] }> {
  const env = parseEnv({
    PHONE_HASH_KEY: 'bench-only-phone-hash-key',
    ...process.env,
    LOG_LEVEL: 'warn',
    REDIS_PREFIX: prefix,
  });
  const producer = new JobProducer(redis, prefix);
  // Work, not waiting: the production coalescing delay (2 s) would only add idle time here.
  aggregationSettings.coalesceMs = 0;
  const rand = rng(7);
  const buckets = [...generatedPerBucket.keys()];
  const chosen = new Set<string>();
  while (chosen.size < Math.min(SAMPLE, buckets.length))
    chosen.add(buckets[Math.floor(rand() * buckets.length)]);
  const payloads = [...chosen].map((b, i) => {
    const [unitCode, day] = b.split('|');
    const completedAt = new Date(`${day}T05:00:00.000Z`); // 12:00 in Huế, same day
    const values = ELEMENTS.map((e) => scaleValue(rand, e));
    return {
      responseId: `inc-${String(i).padStart(6, '0')}`,
      meta: {
        dossierCode: `INC${i}`,
        unitCode,
        procedureCode: `P${i % 50}`,
        officerId: `${unitCode}-O${i % 6}`,
        ...dossierChannel(rand),
        surveyChannel: 'telegram' as const,
        flowKey: 'default',
        flowVersion: 1,
        lang: 'vi' as const,
        startedAt: new Date(completedAt.getTime() - 120_000).toISOString(),
      },
      answers: values.map((value, k) => ({
        questionId: `q${k + 1}`,
        element: ELEMENTS[k],
        type: 'scale5',
        value,
        text: null,
      })),
      completedAt: completedAt.toISOString(),
    };
  });
  const workers = await startWorkers({
    ctx: { env, log: logger, redis, prefix },
    producer,
    queues: ['ingest', 'aggregate'],
    // PostgreSQL behind FerretDB has 100 connections for everyone on this machine.
    concurrency: 8,
    createConnection: () => new Redis(env.REDIS_URL, { maxRetriesPerRequest: null }),
  });
  const queues = [producer.getQueue('ingest'), producer.getQueue('aggregate')];
  const t0 = performance.now();
  await Promise.all(
    payloads.map((p) => producer.add('response.complete', p, { jobId: jobId('done', p.responseId) })),
  );
  let failed = 0;
  for (;;) {
    const counts = await Promise.all(
      queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed')),
    );
    failed = counts.reduce((n, c) => n + (c.failed ?? 0), 0);
    if (counts.every((c) => c.waiting + c.active + c.delayed + c.prioritized === 0)) break;
    if (performance.now() - t0 > 600_000)
      throw new Error(`incremental phase not drained in 10 min: ${JSON.stringify(counts)}`);
    await sleep(20);
  }
  const wallMs = performance.now() - t0;
  await workers.close();
  await producer.close();
  // Exact: each chosen bucket now counts its generated responses plus the one completion.
  const docs = await Promise.all(
    payloads.map((p) =>
      Rollup.findOne(
        { unitCode: p.meta.unitCode, day: hcmDay(new Date(p.completedAt)) },
        { responses: 1 },
      ).lean(),
    ),
  );
  const exact = payloads.every(
    (p, i) =>
      docs[i]?.responses ===
      (generatedPerBucket.get(`${p.meta.unitCode}|${hcmDay(new Date(p.completedAt))}`) ?? 0) + 1,
  );
  // And their months: each month total is the sum of its days, after the `rollup.month` jobs.
  const months = [
    ...new Set(payloads.map((p) => `${p.meta.unitCode}|${hcmDay(new Date(p.completedAt)).slice(0, 7)}`)),
  ];
  const monthsExact = (
    await Promise.all(
      months.map(async (m) => {
        const [unitCode, month] = m.split('|');
        const [total, days] = await Promise.all([
          RollupMonth.findById(m).lean(),
          Rollup.find({ unitCode, month }, { responses: 1 }).lean(),
        ]);
        return total?.responses === days.reduce((n, d) => n + d.responses, 0);
      }),
    )
  ).every(Boolean);
  // The bare recompute of one bucket (~N/11/366 responses), serially.
  const recomputeMs: number[] = [];
  for (const p of payloads.slice(0, 30))
    recomputeMs.push(
      (
        await timed(() =>
          recomputeBucket({ redis, prefix }, p.meta.unitCode, hcmDay(new Date(p.completedAt))),
        )
      )[1],
    );
  return {
    perResponseMs: wallMs / payloads.length,
    wallMs,
    exact: exact && monthsExact,
    failed,
    recomputeMs,
  };
}

async function main(): Promise<void> {
  const loadStart = load();
  const dbName = `bench_agg_${randomBytes(4).toString('hex')}`;
  const prefix = `{bench${randomBytes(4).toString('hex')}}`;
  await mongoose.connect(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017', { dbName, maxPoolSize: 10 });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const out: Record<string, unknown> = {
    responses: TOTAL,
    answers: TOTAL * 6,
    cpus: os.cpus().length,
    loadStart,
  };
  try {
    await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
    await Unit.insertMany([
      { code: '477', name: 'Huyện Quảng Điền', level: 'district' },
      ...UNITS.map((code) => ({ code, name: code, level: 'commune', parentCode: '477' })),
    ]);
    console.log(
      `aggregation benchmark: ${TOTAL} responses (${TOTAL * 6} answers), 11 units, 50 procedures, 2024; ${os.cpus().length} CPUs, load average ${loadStart}`,
    );
    const [generated, genMs] = await timed(() =>
      generateResponses({
        total: TOTAL,
        units: UNITS,
        yearStart: YEAR_2024,
        progress: (done) => process.stderr.write(`  generated ${done}/${TOTAL} (load ${load()})\n`),
      }),
    );
    for (const [k, v] of generated) generatedPerBucket.set(k, v);
    console.log(
      `generated in ${(genMs / 1000).toFixed(1)} s (${Math.round((TOTAL * 7) / (genMs / 1000))} documents/s), load ${load()}`,
    );
    out.generateS = genMs / 1000;

    const [rb, rebuildMs] = await timed(() =>
      rebuildRollups({ redis, prefix }, undefined, undefined, (p) =>
        process.stderr.write(
          `  rebuilt unit ${p.unitCode}: ${p.buckets} days, ${p.responses} responses (load ${load()})\n`,
        ),
      ),
    );
    console.log(
      `rebuild of the year: ${rb.buckets} unit-day rollups (${rb.stale} stale) and ${rb.months} unit-month totals from ${rb.responses} responses in ${(rebuildMs / 1000).toFixed(1)} s = ${Math.round(rb.responses / (rebuildMs / 1000))} responses/s, load ${load()}`,
    );
    Object.assign(out, {
      rebuildS: rebuildMs / 1000,
      rebuildResponsesPerS: rb.responses / (rebuildMs / 1000),
      rebuildBuckets: rb.buckets,
    });

    const inc = await incremental(redis, prefix);
    console.log(
      `incremental: ${SAMPLE} completions (each in its own unit-day of ~${Math.round(TOTAL / 11 / 366)} responses) through response.complete → rollup.recompute → rollup.month on workers: ${(inc.wallMs / 1000).toFixed(1)} s wall = ${inc.perResponseMs.toFixed(1)} ms per completion; day rollups and month totals exact: ${inc.exact}; failed jobs: ${inc.failed}`,
    );
    console.log(
      `  bare recompute of one unit-day, serial: median ${median(inc.recomputeMs).toFixed(1)} ms, p95 ${pct(inc.recomputeMs, 0.95).toFixed(1)} ms; load ${load()}`,
    );
    Object.assign(out, {
      incrementalMsPerCompletion: inc.perResponseMs,
      incrementalExact: inc.exact,
      incrementalFailed: inc.failed,
      recomputeMedianMs: median(inc.recomputeMs),
    });

    // The index query: the index part of buildReport (indices/report.ts), same
    // functions: the unit's scope, its month totals of the year, summed, the formulas.
    const q = async (unit: string) => {
      const codes = await scopedUnits(unit, null);
      return figuresOf(sumTotals(await loadTotals(codes, '2024-01-01', '2024-12-31')));
    };
    await q(QUERY_UNIT); // warm-up (connection, unit tree)
    // The same figures from the 366 day rollups (what the query read before month totals).
    const fromDays = async (unit: string) =>
      figuresOf(sumTotals(await loadRollups(await scopedUnits(unit, null), '2024-01-01', '2024-12-31')));
    const [dayFigures, dayMs] = await timed(() => fromDays(QUERY_UNIT));
    const monthsMatchDays = JSON.stringify(dayFigures) === JSON.stringify(await q(QUERY_UNIT));
    console.log(
      `same figures from month totals and from the day rollups: ${monthsMatchDays} (the day rollups took ${dayMs.toFixed(0)} ms)`,
    );
    if (!monthsMatchDays) throw new Error('month totals differ from the day rollups');
    Object.assign(out, { monthsMatchDays, dayRollupsQueryMs: dayMs });
    const unitTimes: number[] = [];
    const districtTimes: number[] = [];
    const reportTimes: number[] = [];
    let unitIndex: number | null = null;
    for (let i = 0; i < QUERY_RUNS; i++) {
      const [r, ms] = await timed(() => q(QUERY_UNIT));
      unitIndex = r.overall.index;
      unitTimes.push(ms);
    }
    for (let i = 0; i < DISTRICT_RUNS; i++) districtTimes.push((await timed(() => q('477')))[1]);
    // The whole buildReport (indexOnly): also the response rate and the 766 ratio, which read dossiers and raw responses.
    for (let i = 0; i < REPORT_RUNS; i++) {
      const [r, ms] = await timed(() =>
        buildReport({ unit: QUERY_UNIT, period: '2024', units: null, officerMinN: 5, indexOnly: true }),
      );
      if (r.overall.index !== unitIndex)
        throw new Error(`buildReport index ${r.overall.index} differs from the index query's ${unitIndex}`);
      reportTimes.push(ms);
    }
    const findTimes: number[] = [];
    const groupTimes: number[] = [];
    let findIndex: number | null = null;
    let groupIndex: number | null = null;
    for (let i = 0; i < SCAN_RUNS; i++) {
      const [a, ms1] = await timed(() => scanFind(QUERY_UNIT));
      findIndex = a;
      findTimes.push(ms1);
      const [b, ms2] = await timed(() => scanGroup(QUERY_UNIT));
      groupIndex = b;
      groupTimes.push(ms2);
    }
    const uq = median(unitTimes);
    const baseline = Math.min(median(findTimes), median(groupTimes));
    const same = (x: number | null) => x !== null && unitIndex !== null && Math.abs(x - unitIndex) < 1e-9;
    console.log(
      `unit-year index query (report code on month totals, ${QUERY_RUNS} runs): median ${uq.toFixed(1)} ms, p95 ${pct(unitTimes, 0.95).toFixed(1)} ms`,
    );
    console.log(
      `district-year (11 communes, ${DISTRICT_RUNS} runs): median ${median(districtTimes).toFixed(1)} ms, p95 ${pct(districtTimes, 0.95).toFixed(1)} ms`,
    );
    console.log(
      `whole buildReport indexOnly (+ response rate and 766 ratio over dossiers and raw responses, ${REPORT_RUNS} runs): median ${median(reportTimes).toFixed(0)} ms`,
    );
    console.log(
      `baseline scan-and-count of the unit-year's raw answers (${SCAN_RUNS} runs): find + count in Node median ${median(findTimes).toFixed(0)} ms; $match/$group median ${median(groupTimes).toFixed(0)} ms`,
    );
    console.log(`same overall index both ways: ${same(findIndex) && same(groupIndex)} (${unitIndex})`);
    const ratio = baseline / uq;
    const met = uq < 100 && ratio >= 50;
    console.log(
      `ratio baseline / index query: ${ratio.toFixed(0)}x; target (< 100 ms and >= 50x): ${met ? 'MET' : 'NOT MET'}; load at the end ${load()}`,
    );
    reportFigures('aggregation', [
      { figure: 'scan-and-count / index query', value: ratio, unit: '×', target: '≥ 50', met: ratio >= 50 },
      { figure: 'unit-year index query', value: uq, unit: 'ms', target: '< 100', met: uq < 100 },
    ]);
    Object.assign(out, {
      unitQueryMedianMs: uq,
      unitQueryP95Ms: pct(unitTimes, 0.95),
      districtQueryMedianMs: median(districtTimes),
      buildReportMedianMs: median(reportTimes),
      scanFindMedianMs: median(findTimes),
      scanGroupMedianMs: median(groupTimes),
      sameIndex: same(findIndex) && same(groupIndex),
      ratio,
      targetMet: met,
      loadEnd: load(),
    });
    console.log(JSON.stringify(out));
  } finally {
    await mongoose.connection.dropDatabase().catch(() => undefined);
    await mongoose.disconnect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
