import type { Period } from '../../lib/time';
import { Case } from '../../models/case';
import { Dossier } from '../../models/dossier';
import { Response } from '../../models/response';

/**
 * The response rate's and the 766 ratio's dossier counts straight from the raw documents, as the
 * report computed them before the counters (workers/aggregation/rollups/dossiers.ts): every
 * finished or returned dossier of the period, every non-excluded dissatisfied response and every
 * case open or closed late since its start, per unit, intersected. The tests' oracle.
 */
export async function rawDossierCounts(
  codes: readonly string[],
  p: Period,
): Promise<{ completed: number; bad: number }> {
  const perUnit = await Promise.all(
    [...new Set(codes)].map(async (unitCode) => {
      const [finished, dissatisfied, openCases] = await Promise.all([
        Dossier.find(
          { unitCode, status: { $in: ['finished', 'returned'] }, finishedAt: { $gte: p.start, $lt: p.end } },
          { _id: 0, code: 1 },
        ).lean(),
        Response.find(
          { unitCode, dissatisfied: true, day: { $gte: p.firstDay }, 'excluded.at': null },
          { _id: 0, dossierCode: 1 },
        ).lean(),
        Case.find(
          {
            unitCode,
            day: { $gte: p.firstDay },
            $or: [{ status: { $ne: 'closed' } }, { closedOnTime: false }],
          },
          { _id: 0, dossierCode: 1 },
        ).lean(),
      ]);
      return {
        finished: finished.map((d) => d.code),
        bad: [...dissatisfied, ...openCases].map((d) => d.dossierCode),
      };
    }),
  );
  const bad = new Set(perUnit.flatMap((u) => u.bad).filter((c): c is string => !!c));
  const finished = new Set(perUnit.flatMap((u) => u.finished));
  return { completed: finished.size, bad: [...finished].filter((c) => bad.has(c)).length };
}
