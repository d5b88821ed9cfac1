import { setTimeout as sleep } from 'node:timers/promises';
import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { Rollup } from '../../models/rollup';
import { RollupMonth, rollupMonthId } from '../../models/rollup-month';
import { figuresOf, buildReport } from '../../indices/report';
import { sumTotals } from '../../indices/period-sum';
import { buildBucket } from '../../workers/aggregation/rollups/bucket';
import {
  loadBucketAnswers,
  loadResponses,
  toBucketResponse,
} from '../../workers/aggregation/rollups/recompute';
import { QUESTIONS } from './citizens';

/**
 * The exact reconciliation every fault test ends with: what the simulated citizens sent against
 * what MongoDB and the rollups hold.
 *  - responses: exactly one completed response per survey sent, no other;
 *  - answers: exactly one per question of each response, and the multiset of answer vectors
 *    equals the multiset the citizens sent (nothing lost, nothing counted twice, nothing mixed
 *    between citizens);
 *  - rollups: each unit-day document equals a recomputation from the raw answers
 *    (workers/aggregation/rollups: buildBucket over loadResponses/loadBucketAnswers), each
 *    unit-month total equals the sum of its days, and the published index (indices/report.ts
 *    buildReport, from the month totals) equals the figures of the recomputed days; the counts
 *    also equal what the citizens' own answers give (4-5 satisfied).
 * The derived data follows the raw data by the workers' coalescing delays, so the rollup checks
 * are polled until they hold or `timeoutMs` passes; the raw-data checks are polled until the
 * count is reached, then must be exact.
 */
export async function reconcile(
  sent: readonly (readonly number[])[],
  unitCode: string,
  timeoutMs = 90_000,
): Promise<{ responses: number; answers: number; days: string[] }> {
  const deadline = Date.now() + timeoutMs;
  const poll = async <T>(what: string, fn: () => Promise<T | null>): Promise<T> => {
    let last: unknown = null;
    for (;;) {
      try {
        const v = await fn();
        if (v !== null) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline)
        throw new Error(
          `reconcile: ${what} within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`,
        );
      await sleep(250);
    }
  };

  // Raw data: once the count is reached it must be exact.
  await poll('every completed response stored', async () =>
    (await Response.countDocuments({ status: 'completed', unitCode })) >= sent.length ? true : null,
  );
  await poll('every answer stored', async () =>
    (await Answer.countDocuments({ unitCode })) >= sent.length * QUESTIONS.length ? true : null,
  );
  await sleep(1000); // a duplicate written late would show now
  const responses = await Response.find({ status: 'completed', unitCode }).lean();
  expectEqual(responses.length, sent.length, 'completed responses');
  expectEqual(new Set(responses.map((r) => r.responseId)).size, responses.length, 'distinct response ids');
  expectEqual(await Response.countDocuments({}), sent.length, 'responses of any status');
  const answers = await Answer.find({}, { responseId: 1, questionId: 1, value: 1 }).lean();
  expectEqual(answers.length, sent.length * QUESTIONS.length, 'answers');
  const byResponse = new Map<string, Map<string, unknown>>();
  for (const a of answers) {
    const m = byResponse.get(a.responseId) ?? new Map<string, unknown>();
    if (m.has(a.questionId))
      throw new Error(`reconcile: answer ${a.responseId}/${a.questionId} stored twice`);
    m.set(a.questionId, a.value);
    byResponse.set(a.responseId, m);
  }
  const ids = new Set(responses.map((r) => r.responseId));
  const orphans = [...byResponse.keys()].filter((id) => !ids.has(id));
  if (orphans.length > 0)
    throw new Error(`reconcile: answers of no completed response: ${orphans.join(', ')}`);
  const stored = [...byResponse.values()].map((m) => QUESTIONS.map((q) => m.get(q)).join(',')).sort();
  const expected = sent.map((v) => v.join(',')).sort();
  expectEqual(JSON.stringify(stored), JSON.stringify(expected), 'answer vectors (stored vs sent)');

  // Derived data: equal to a recomputation from the raw answers, and to what was sent.
  const days = [...new Set(responses.map((r) => r.day!))].sort();
  const raw = await Promise.all(
    days.map(async (day) =>
      buildBucket(
        (await loadResponses({ unitCode, day })).map(toBucketResponse),
        await loadBucketAnswers(unitCode, day),
      ),
    ),
  );
  const rawTotals = raw.map((b, i) => ({ ...b, unitCode, day: days[i]! }));
  await poll('day rollups equal to the recomputation', async () => {
    for (const [i, day] of days.entries()) {
      const doc = await Rollup.findOne(
        { unitCode, day },
        { _id: 0, version: 0, computedAt: 0, __v: 0 },
      ).lean();
      if (!doc) return null;
      const want = raw[i]!;
      for (const k of Object.keys(want) as Array<keyof typeof want>)
        if (JSON.stringify(norm(doc[k as keyof typeof doc])) !== JSON.stringify(norm(want[k]))) return null;
    }
    return true;
  });
  const months = [...new Set(days.map((d) => d.slice(0, 7)))];
  await poll('month totals equal to the sum of their days', async () => {
    for (const month of months) {
      const doc = await RollupMonth.findById(rollupMonthId(unitCode, month)).lean();
      const want = sumTotals(rawTotals.filter((_, i) => days[i]!.startsWith(month)));
      if (!doc || doc.responses !== want.responses) return null;
      const cells = new Map(doc.total.map((c) => [c.questionId, c]));
      for (const [k, c] of want.cells) {
        const q = k.split('|')[1]!;
        if (cells.get(q)?.n !== c.n || cells.get(q)?.satisfied !== c.satisfied) return null;
      }
    }
    return true;
  });
  const total = sumTotals(rawTotals);
  for (const [qi, q] of QUESTIONS.entries()) {
    const cell = [...total.cells].find(([k]) => k.endsWith(`|${q}`))?.[1];
    expectEqual(cell?.n, sent.length, `${q}: answers counted`);
    expectEqual(cell?.satisfied, sent.filter((v) => v[qi]! >= 4).length, `${q}: satisfied (4-5) counted`);
  }
  // The published index of each month (month totals) equals the recomputed figures.
  for (const month of months) {
    const report = await buildReport({
      unit: unitCode,
      period: month,
      units: null,
      officerMinN: 5,
      indexOnly: true,
    });
    const want = figuresOf(sumTotals(rawTotals.filter((_, i) => days[i]!.startsWith(month))));
    expectEqual(JSON.stringify(report.overall), JSON.stringify(want.overall), `${month}: overall index`);
    expectEqual(report.responses, want.responses, `${month}: responses in the report`);
  }
  return { responses: responses.length, answers: answers.length, days };
}

function norm(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null)) as unknown;
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected)
    throw new Error(`reconcile: ${what}: ${String(actual)}, expected ${String(expected)}`);
}
