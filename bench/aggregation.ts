/**
 * Aggregation benchmark (not a test). Generates BENCH_RESPONSES (default 200,000) completed
 * responses for the 11 Quảng Điền units and 50 procedures over 2024, six scale answers each, then
 * measures in the same run: a full rebuild, the incremental recompute per response, the unit-year
 * and district-year index queries from rollups, and a plain scan-and-count over the raw answers.
 *
 *   bash scripts/with-services.sh npx tsx bench/aggregation.ts
 *
 * Uses a fresh database and Redis prefix and drops them at the end.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { Answer } from '../models/answer';
import { Response } from '../models/response';
import { Rollup } from '../models/rollup';
import { Unit } from '../models/unit';
import { Dossier } from '../models/dossier';
import { Case } from '../models/case';
import { rebuildRollups } from '../workers/aggregation/rebuild';
import { recomputeBucket } from '../workers/aggregation/recompute';
import { buildReport } from '../workers/aggregation/report';
import { elementShares, emptyCounts, addCounts, scoreAnswer, type Counts } from '../workers/aggregation/formula';

const TOTAL = Number(process.env.BENCH_RESPONSES ?? 200_000);
const UNITS = ['19867', '19870', '19873', '19876', '19879', '19882', '19885', '19888', '19891', '19894', '19897'];
const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
const YEAR_START = Date.UTC(2023, 11, 31, 17, 0); // 2024-01-01 00:00 in Huế

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e6];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function generate(): Promise<void> {
  const rand = rng(42);
  const hcmDay = (t: number) => new Date(t + 7 * 3600_000).toISOString().slice(0, 10);
  const batch = 5000;
  for (let start = 0; start < TOTAL; start += batch) {
    const responses: Array<Record<string, unknown>> = [];
    const answers: Array<Record<string, unknown>> = [];
    for (let i = start; i < Math.min(TOTAL, start + batch); i++) {
      const at = YEAR_START + Math.floor(rand() * 366 * 86400_000);
      const responseId = `r${String(i).padStart(7, '0')}`;
      const unitCode = UNITS[Math.floor(rand() * UNITS.length)];
      const values = ELEMENTS.map((e) => (e === 'PAKN' && rand() < 0.5 ? 0 : 1 + Math.floor(rand() ** 0.5 * 5)));
      const level = rand();
      responses.push({
        responseId, dossierCode: `D${i}`, unitCode, procedureCode: `P${Math.floor(rand() * 50)}`, officerId: `${unitCode}-O${Math.floor(rand() * 6)}`,
        dossierChannel: level < 0.6 ? 'in_person' : level < 0.95 ? 'online' : 'post', onlineLevel: level >= 0.6 && level < 0.95 ? (level < 0.8 ? 3 : 4) : null,
        surveyChannel: 'zalo', flowKey: 'default', flowVersion: 1, lang: 'vi', status: 'completed', startedAt: new Date(at - 60_000), completedAt: new Date(at),
        day: hcmDay(at), dissatisfied: values.some((v) => v === 1 || v === 2), excluded: { at: null, by: null, reason: null },
      });
      values.forEach((value, k) => answers.push({ responseId, questionId: `q${k + 1}`, element: ELEMENTS[k], type: 'scale5', value, text: null, answeredAt: new Date(at) }));
    }
    await Response.collection.insertMany(responses, { ordered: false });
    await Answer.collection.insertMany(answers, { ordered: false });
    if ((start / batch) % 8 === 0) process.stderr.write(`  generated ${Math.min(TOTAL, start + batch)}/${TOTAL}\n`);
  }
}

/** The baseline: what a report would cost without rollups. */
async function scanAndCount(unitCode: string) {
  const ids = (await Response.find({ unitCode, status: 'completed', day: { $gte: '2024-01-01', $lte: '2024-12-31' }, 'excluded.at': null }, { responseId: 1 }).lean()).map((r) => r.responseId);
  const cells = new Map<string, Counts>();
  for (let i = 0; i < ids.length; i += 5000) {
    const answers = await Answer.find({ responseId: { $in: ids.slice(i, i + 5000) }, element: { $ne: null } }, { _id: 0, questionId: 1, element: 1, value: 1 }).lean();
    for (const a of answers) {
      const s = scoreAnswer(a.value);
      if (!s || !a.element) continue;
      const k = `${a.element}|${a.questionId}`;
      addCounts(cells.get(k) ?? cells.set(k, emptyCounts()).get(k)!, s);
    }
  }
  return elementShares(cells).overall.index;
}

async function main(): Promise<void> {
  const dbName = `bench_agg_${randomBytes(4).toString('hex')}`;
  const prefix = `{bench${randomBytes(4).toString('hex')}}`;
  await mongoose.connect(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017', { dbName });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    await Promise.all([Answer, Response, Rollup, Unit, Dossier, Case].map((m) => m.syncIndexes()));
    await Unit.insertMany([{ code: '477', name: 'Huyện Quảng Điền', level: 'district' }, ...UNITS.map((code) => ({ code, name: code, level: 'commune', parentCode: '477' }))]);
    console.log(`generating ${TOTAL} responses (${TOTAL * 6} answers), 11 units, 50 procedures, 2024`);
    const [, genMs] = await timed(generate);
    console.log(`generated in ${(genMs / 1000).toFixed(1)} s`);

    const [rb, rebuildMs] = await timed(() => rebuildRollups({ redis, prefix }));
    console.log(`rebuild: ${rb.buckets} unit-day rollups from ${rb.responses} responses in ${(rebuildMs / 1000).toFixed(2)} s (${((rebuildMs * 1000) / rb.responses).toFixed(1)} µs per response)`);

    // Incremental: one recompute per completed response, the worst case (no coalescing).
    const sample = await Response.find({}, { unitCode: 1, day: 1 }).limit(200).lean();
    const [, incMs] = await timed(async () => {
      for (const r of sample) await recomputeBucket({ redis, prefix }, r.unitCode!, r.day!);
    });
    const perResponse = incMs / sample.length;
    console.log(`incremental: ${perResponse.toFixed(2)} ms per completed response (one unit-day recompute of ~${Math.round(TOTAL / 11 / 366)} responses)`);

    const q = (unit: string) => buildReport({ unit, period: '2024', units: null, officerMinN: 5, indexOnly: true });
    const unitTimes: number[] = [];
    const districtTimes: number[] = [];
    let unitIndex: number | null = null;
    for (let i = 0; i < 15; i++) {
      const [r, ms] = await timed(() => q('19867'));
      unitIndex = r.overall.index;
      unitTimes.push(ms);
      districtTimes.push((await timed(() => q('477')))[1]);
    }
    const scanTimes: number[] = [];
    let scanIndex: number | null = null;
    for (let i = 0; i < 3; i++) {
      const [idx, ms] = await timed(() => scanAndCount('19867'));
      scanIndex = idx;
      scanTimes.push(ms);
    }
    const uq = median(unitTimes);
    const dq = median(districtTimes);
    const sc = median(scanTimes);
    console.log(`unit-year index query (rollups, median of 15): ${uq.toFixed(1)} ms; district-year (11 units): ${dq.toFixed(1)} ms`);
    console.log(`unit-year scan-and-count over raw answers (median of 3): ${sc.toFixed(1)} ms`);
    console.log(`same index both ways: ${unitIndex === scanIndex} (${unitIndex})`);
    console.log(`ratio scan / rollup query: ${(sc / uq).toFixed(1)}x; rebuild / scan: ${(rebuildMs / sc).toFixed(1)}x; incremental per response / unit query: ${(perResponse / uq).toFixed(2)}x`);
  } finally {
    await mongoose.connection.dropDatabase().catch(() => undefined);
    await mongoose.disconnect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
