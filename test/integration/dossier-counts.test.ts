import { parseEnv } from '../../config/env';
import { parsePeriod } from '../../lib/time';
import { parseDossierEvent } from '../../bot/survey/dossier-event';
import { ingestDossierEvent } from '../../bot/survey/dossier-ingest';
import { buildReport } from '../../indices/report';
import { loadDossierCounts } from '../../indices/period-sum';
import { Dossier } from '../../models/dossier';
import { DossierDay } from '../../models/dossier-day';
import { RollupMonth } from '../../models/rollup-month';
import { Unit } from '../../models/unit';
import { aggregationSettings } from '../../workers/aggregation/after-complete';
import { closeCase } from '../../workers/aggregation/cases/handling';
import { excludeResponse } from '../../workers/aggregation/integrity/bursts';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import type { ScheduleDeps } from '../../workers/aggregation/rollups/schedule';
import { rawDossierCounts } from '../support/dossier-oracle';
import { ingestHarness, meta, scale, waitForIdle } from '../support/ingest';

// The database, prefix, producer and the ingest and aggregate workers: the ingest files' harness.
const { redis, prefix, producer } = ingestHarness('dossiercounts', {
  workers: true,
  queues: ['ingest', 'aggregate'],
});
const env = parseEnv({ ...process.env, NODE_ENV: 'test' });
const rollups: ScheduleDeps = {
  redis,
  prefix,
  enqueue: async (name, payload, o) => void (await producer.addByName(name, payload, o)),
};

const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];

async function ingest(code: string, unitCode: string, status: string, finishedAt: string | null) {
  const parsed = parseDossierEvent({
    code,
    procedureCode: 'P1',
    unitCode,
    channel: 'in_person',
    status,
    ...(finishedAt ? { finishedAt } : {}),
    ...(status === 'returned' ? { returnedAt: finishedAt } : {}),
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const r = await ingestDossierEvent(parsed.event, { env, rollups, rollupDelayMs: 100 });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
}

/** A response to a dossier through the workers' response.complete (a 1 or 2 opens a case). */
async function answer(dossierCode: string, unitCode: string, at: string, values: number[]) {
  await producer.add('response.complete', {
    responseId: `resp-${dossierCode}`,
    meta: meta({ dossierCode, unitCode, procedureCode: 'P1', startedAt: at }),
    answers: values.map((v, i) => scale(`q${i + 1}`, ELEMENTS[i]!, v)),
    completedAt: at,
  });
}

const drained = () => waitForIdle([producer.getQueue('ingest'), producer.getQueue('aggregate')], 90_000);

const UNITS = ['DC-A', 'DC-B'];
const PERIODS = ['2025-03', '2025-04', '2025-03-03', '2025-03-10', '2025-Q1', '2025-Q2', '2025'];

async function countsOf(period: string) {
  const p = parsePeriod(period);
  return loadDossierCounts(UNITS, p.firstDay, p.lastDay);
}

async function oracleOf(period: string) {
  return rawDossierCounts(UNITS, parsePeriod(period));
}

beforeAll(async () => {
  aggregationSettings.coalesceMs = 100;
  await Unit.insertMany([
    { code: 'DC-A', name: 'Xã A', level: 'commune' },
    { code: 'DC-B', name: 'Xã B', level: 'commune' },
  ]);
});

test('the dossier counts kept by the workers equal a raw recount after every kind of change, and a rebuild gives the same', async () => {
  // Finished on various days; 17:30 UTC on 31 March is 00:30 on 1 April in Vietnam.
  await ingest('DC-1', 'DC-A', 'finished', '2025-03-03T02:00:00Z');
  await ingest('DC-2', 'DC-A', 'finished', '2025-03-03T03:00:00Z');
  await ingest('DC-3', 'DC-A', 'finished', '2025-03-10T03:00:00Z');
  await ingest('DC-4', 'DC-A', 'returned', '2025-03-31T17:30:00Z');
  await ingest('DC-5', 'DC-B', 'finished', '2025-03-15T03:00:00Z');
  await ingest('DC-6', 'DC-A', 'processing', null);
  await ingest('DC-7', 'DC-B', 'finished', '2025-02-20T03:00:00Z');
  await ingest('DC-8', 'DC-B', 'finished', '2025-03-20T03:00:00Z');
  // Answered: dissatisfied in a later month than it finished (DC-1), satisfied (DC-2),
  // dissatisfied (DC-3, DC-4, DC-8), DC-5 and DC-7 never.
  await answer('DC-1', 'DC-A', '2025-04-05T03:00:00Z', [1, 5, 5, 5, 5, 5]);
  await answer('DC-2', 'DC-A', '2025-03-04T03:00:00Z', [5, 5, 5, 5, 5, 5]);
  await answer('DC-3', 'DC-A', '2025-03-11T03:00:00Z', [2, 4, 4, 4, 4, 4]);
  await answer('DC-4', 'DC-A', '2025-04-02T03:00:00Z', [1, 1, 1, 1, 1, 1]);
  await answer('DC-8', 'DC-B', '2025-03-21T03:00:00Z', [2, 5, 5, 5, 5, 5]);
  await drained();
  expect(await countsOf('2025-03')).toEqual(await oracleOf('2025-03'));
  expect(await countsOf('2025-03')).toEqual({ completed: 5, bad: 3 });

  // DC-3: its response excluded and its case closed on time: no longer bad. DC-1: its case
  // closed late: still bad. DC-8: case closed on time, response still counted: still bad.
  expect(await excludeResponse(rollups, 'resp-DC-3', 'admin', 'phiếu thử nghiệm')).toBe(true);
  const closed = (caseId: string, now: string) =>
    closeCase(caseId, 'canbo', { note: 'đã xử lý' }, { followUp: false, now: new Date(now), rollups });
  await closed('case-resp-DC-3', '2025-03-11T04:00:00Z');
  await closed('case-resp-DC-1', '2026-01-01T00:00:00Z');
  await closed('case-resp-DC-8', '2025-03-21T04:00:00Z');
  // DC-7 moves from February to March, DC-6 is finished at last.
  await ingest('DC-7', 'DC-B', 'finished', '2025-03-25T03:00:00Z');
  await ingest('DC-6', 'DC-A', 'finished', '2025-04-10T03:00:00Z');
  await drained();

  for (const period of PERIODS)
    expect([period, await countsOf(period)]).toEqual([period, await oracleOf(period)]);
  expect(await countsOf('2025-03')).toEqual({ completed: 6, bad: 2 });
  expect(await countsOf('2025-02')).toEqual({ completed: 0, bad: 0 });
  // The report reads them: same shape, same figures.
  const report = await buildReport({ unit: 'DC-A', period: '2025-03', units: null, officerMinN: 1 });
  expect(report.ratio766).toMatchObject({ completedDossiers: 3, dossiersWithDissatisfactionOrOpenCase: 1 });
  expect(report.responseRate).toMatchObject({ numerator: 1, denominator: 3 });

  // Whole months come from the month figures: they carry the counts.
  expect(
    await RollupMonth.findOne(
      { _id: 'DC-B|2025-03' },
      { _id: 0, completedDossiers: 1, badDossiers: 1 },
    ).lean(),
  ).toEqual({
    completedDossiers: 3,
    badDossiers: 1,
  });

  // The backfill: dossiers without their finish day and no counts at all, then `rollups rebuild`.
  // (A day left empty keeps a zero count; the rebuild has no reason to write one.)
  const kept = await DossierDay.find({ completed: { $gt: 0 } }, { _id: 1, completed: 1, bad: 1 })
    .sort({ _id: 1 })
    .lean();
  await Dossier.updateMany({}, { $set: { finishedDay: null } });
  await DossierDay.deleteMany({});
  await RollupMonth.updateMany({}, { $set: { completedDossiers: null, badDossiers: null } });
  const r = await rebuildRollups({ redis, prefix });
  expect(r.finishedDays).toBe(8);
  expect(await DossierDay.find({}, { _id: 1, completed: 1, bad: 1 }).sort({ _id: 1 }).lean()).toEqual(kept);
  for (const period of PERIODS)
    expect([period, await countsOf(period)]).toEqual([period, await oracleOf(period)]);
});
