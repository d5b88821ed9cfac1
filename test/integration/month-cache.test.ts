import mongoose from 'mongoose';
import { API_PREFIX } from '../../bot/http/api/register';
import { MonthCache, type MonthFigures } from '../../indices/month-cache';
import { loadPeriod, sumTotals } from '../../indices/period-sum';
import { aggregationSettings } from '../../workers/aggregation/after-complete';
import { monthEpochKey } from '../../workers/aggregation/rollups/epochs';
import { logger } from '../../lib/logger';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { seedUnits, signedIn, type ApiClient } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { meta, scale, waitForIdle } from '../support/ingest';
import { testRedis } from '../support/services';

/**
 * The month documents the figures' routes keep between requests (indices/month-cache.ts): read
 * once while their month epochs stand, read again as soon as a completion's month job starts,
 * and never a way around the caller's units.
 */
let t: TestApp;
let producer: JobProducer;
let workers: RunningWorkers | undefined;
let district: ApiClient;
let commune: ApiClient;
const reads: string[] = [];
const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
let seq = 0;

/** A completed response through the workers' response.complete, as a citizen's last answer sends it. */
async function complete(unitCode: string, at: string, values: number[]): Promise<void> {
  seq++;
  await producer.add('response.complete', {
    responseId: `resp-cache-${seq}`,
    meta: meta({ dossierCode: `CACHE-${seq}`, unitCode, startedAt: at }),
    answers: values.map((v, i) => scale(`q${i + 1}`, ELEMENTS[i]!, v)),
    completedAt: at,
  });
}

/** Until the completion, its day rollup and its (delayed) month job have all run. */
const drained = () => waitForIdle([producer.getQueue('ingest'), producer.getQueue('aggregate')], 90_000);

const monthReads = () => reads.filter((c) => c === 'rollup_months').length;

beforeAll(async () => {
  aggregationSettings.coalesceMs = 100;
  t = await startTestApp('monthcache', { OFFICER_MIN_N: '1' }, ['http']);
  producer = new JobProducer(t.redis, t.app.ctx.prefix);
  // The completion's own workers (the workers role would also start schedulers, whose delayed
  // jobs never drain).
  workers = await startWorkers({
    ctx: { env: t.env, log: logger, redis: t.redis, prefix: t.app.ctx.prefix },
    producer,
    createConnection: () => testRedis(),
    queues: ['ingest', 'aggregate'],
  });
  await seedUnits();
  district = await signedIn(t, 'cache.district', 'district', ['477']);
  commune = await signedIn(t, 'cache.commune', 'unit', ['QD-DAN-DIEN']);
  mongoose.set('debug', (collection: string, method: string) => {
    if (method === 'find') reads.push(collection);
  });
});
afterAll(async () => {
  mongoose.set('debug', false);
  await workers?.close();
  await producer.close();
  await t.stop();
});

test('the figures are read once while the months stand, and again for the unit a new completion changed', async () => {
  const q = { unit: '477', period: '2024' };
  await complete('19870', '2024-03-03T02:00:00Z', [5, 5, 5, 5, 5, 5]);
  await complete('19867', '2024-04-03T02:00:00Z', [5, 5, 5, 5, 5, 5]);
  await drained();
  const first = await district.get(`${API_PREFIX}/indices`, q);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ responses: 2, dissatisfiedResponses: 0 });
  expect(monthReads()).toBeGreaterThan(0);

  reads.length = 0;
  const again = await district.get(`${API_PREFIX}/indices`, q);
  const ranking = await district.get(`${API_PREFIX}/indices/ranking`, q);
  expect(again.body).toEqual(first.body);
  expect(monthReads()).toBe(0);
  const rows = ranking.body.rows as Array<{ unitCode: string; responses: number }>;
  expect(rows.find((r) => r.unitCode === '19870')?.responses).toBe(1);

  // A dissatisfied completion in 19870: its month job raises the epoch, so that unit's months
  // (and only those) are read again, by the report and by the ranking.
  await complete('19870', '2024-03-04T02:00:00Z', [1, 1, 1, 1, 1, 1]);
  await drained();
  reads.length = 0;
  const after = await district.get(`${API_PREFIX}/indices`, q);
  expect(after.body).toMatchObject({ responses: 3, dissatisfiedResponses: 1 });
  expect((after.body.trend as Array<{ period: string; responses: number }>)[0]).toMatchObject({
    period: '2024-03',
    responses: 2,
  });
  expect(monthReads()).toBe(1);
  const ranked = await district.get(`${API_PREFIX}/indices/ranking`, q);
  const row = (ranked.body.rows as Array<{ unitCode: string; responses: number }>).find(
    (r) => r.unitCode === '19870',
  );
  expect(row?.responses).toBe(2);
}, 180_000);

test('kept months never widen a caller’s units: a commune’s official still gets 404 outside its own', async () => {
  // The district's months are kept by now (the test above, or this request).
  expect((await district.get(`${API_PREFIX}/indices`, { unit: '477', period: '2024' })).status).toBe(200);
  expect((await commune.get(`${API_PREFIX}/indices`, { unit: '477', period: '2024' })).status).toBe(404);
  expect((await commune.get(`${API_PREFIX}/indices`, { unit: '19867', period: '2024' })).status).toBe(404);
  expect((await commune.get(`${API_PREFIX}/indices/ranking`, { unit: '477', period: '2024' })).status).toBe(
    404,
  );
  // Its own figures include the commune merged into it (19870), not its neighbour 19867.
  const own = await commune.get(`${API_PREFIX}/indices`, { unit: 'QD-DAN-DIEN', period: '2024' });
  expect(own.body.unitsIncluded).toContain('19870');
  expect(own.body.unitsIncluded).not.toContain('19867');
  expect(own.body.responses).toBe(2);
});

test('reads of the same unit-months at once (the report’s, the ranking’s) share one read per unit, with the same figures', async () => {
  const units = (await district.get(`${API_PREFIX}/indices`, { unit: '477', period: '2024' })).body
    .unitsIncluded as string[];
  // A cache of this process's own, with nothing kept yet: as after a start.
  const cache = new MonthCache(t.redis, (u, m) => monthEpochKey(t.app.ctx.prefix, u, m));
  const year = ['2024-01-01', '2024-12-31'] as const;
  reads.length = 0;
  const [report, ranking] = await Promise.all([
    loadPeriod(units, ...year, { figures: 'breakdowns', dossiers: true, cache }),
    loadPeriod(units, ...year, { figures: 'totals', dossiers: false, cache }),
  ]);
  // Each would read every unit's months on its own.
  expect(monthReads()).toBe(units.length);
  expect(sumTotals(ranking.docs)).toEqual(sumTotals(report.docs));
  expect(sumTotals(report.docs).responses).toBe(3);
  expect(report).toEqual(await loadPeriod(units, ...year, { figures: 'breakdowns', dossiers: true }));
});

describe('MonthCache', () => {
  const doc = (unitCode: string, month: string, version: number): MonthFigures => ({
    unitCode,
    month,
    version,
    days: 1,
    responses: version,
    dissatisfiedResponses: 0,
    excluded: 0,
    total: [],
    breakdowns: null,
    completedDossiers: 0,
    badDossiers: 0,
  });
  const epoch = (u: string, m: string) => monthEpochKey(t.app.ctx.prefix, `mc-${u}`, m);
  const cacheAt = (now: { ms: number }, maxEntries = 100) =>
    new MonthCache(t.redis, (u, m) => epoch(u, m), { maxEntries, maxAgeMs: 1_000, now: () => now.ms });
  /** The read for when the kept months are current: calling it fails the request, and so the test. */
  const mustNotRead = (unitCode: string): Promise<MonthFigures[]> => {
    throw new Error(`${unitCode}'s months were read although the kept ones are current`);
  };
  /** A read that should happen: it records the unit it reads and finds that unit's `docs`. */
  const reading = (docs: readonly MonthFigures[]) => {
    const units: string[] = [];
    const read = async (unitCode: string) => {
      units.push(unitCode);
      return docs.filter((d) => d.unitCode === unitCode);
    };
    return { units, read };
  };
  /** One unit's documents as months() serves them. */
  const served = async (
    cache: MonthCache,
    unitCode: string,
    months: readonly string[],
    read: (unitCode: string) => Promise<MonthFigures[]>,
  ) => (await cache.months([unitCode], months, read)).get(unitCode);

  test('serves a unit only while every month’s epoch equals its kept version, or is unset for a month of none', async () => {
    const cache = cacheAt({ ms: 0 });
    await t.redis.set(epoch('A', '2025-01'), '3');
    const jan3 = doc('A', '2025-01', 3);
    const first = reading([jan3]);
    expect(await served(cache, 'A', ['2025-01', '2025-02'], first.read)).toEqual([jan3]);
    expect(first.units).toEqual(['A']);
    expect(await served(cache, 'A', ['2025-01', '2025-02'], mustNotRead)).toEqual([jan3]);
    // A run of 2025-02 starts: the month of none is no longer known to be empty.
    await t.redis.incr(epoch('A', '2025-02'));
    const feb1 = doc('A', '2025-02', 1);
    const second = reading([jan3, feb1]);
    expect(await served(cache, 'A', ['2025-01', '2025-02'], second.read)).toEqual([jan3, feb1]);
    expect(second.units).toEqual(['A']);
    expect(await served(cache, 'A', ['2025-01', '2025-02'], mustNotRead)).toEqual([jan3, feb1]);
    // A run of 2025-01 starts before it writes: the kept version 3 is no longer the latest, and
    // neither is the same version 3 read again meanwhile (as from a lagging secondary).
    await t.redis.incr(epoch('A', '2025-01'));
    const stale = reading([jan3]);
    expect(await served(cache, 'A', ['2025-01'], stale.read)).toEqual([jan3]);
    expect(await served(cache, 'A', ['2025-01'], stale.read)).toEqual([jan3]);
    expect(stale.units).toEqual(['A', 'A']);
    // The run writes version 4: read once, then served.
    const jan4 = doc('A', '2025-01', 4);
    const written = reading([jan4]);
    expect(await served(cache, 'A', ['2025-01'], written.read)).toEqual([jan4]);
    expect(await served(cache, 'A', ['2025-01'], mustNotRead)).toEqual([jan4]);
    expect(written.units).toEqual(['A']);
    // A month never read is not served either, though the unit's other month is kept and current.
    const march = reading([feb1]);
    expect(await served(cache, 'A', ['2025-02', '2025-03'], march.read)).toEqual([feb1]);
    expect(march.units).toEqual(['A']);
  });

  test('requests for the same unit-months at the same epochs share one read; one after a run started reads again', async () => {
    const cache = cacheAt({ ms: 0 });
    await t.redis.set(epoch('E', '2025-01'), '1');
    let n = 0;
    let version = 1;
    let release = () => {};
    const read = async (u: string) => {
      n++;
      const v = version;
      await new Promise<void>((r) => (release = r));
      return [doc(u, '2025-01', v)];
    };
    const [a, b] = await Promise.all([
      cache.months(['E'], ['2025-01'], read),
      cache.months(['E'], ['2025-01'], read),
    ]);
    expect(n).toBe(1);
    // A run of 2025-01 starts while the read is under way: a request now reads on its own.
    await t.redis.incr(epoch('E', '2025-01'));
    version = 2;
    const first = release;
    const c = await cache.months(['E'], ['2025-01'], read);
    expect(n).toBe(2);
    first();
    expect(await a.get('E')).toEqual([doc('E', '2025-01', 1)]);
    expect(await b.get('E')).toBe(await a.get('E'));
    release();
    expect(await c.get('E')).toEqual([doc('E', '2025-01', 2)]);
    // The later read is kept and current: served with no read.
    expect(await (await cache.months(['E'], ['2025-01'], read)).get('E')).toEqual([doc('E', '2025-01', 2)]);
    expect(n).toBe(2);
  });

  test('a failed read fails every request sharing it and is not kept: the next request reads again', async () => {
    const cache = cacheAt({ ms: 0 });
    await t.redis.set(epoch('F', '2025-01'), '1');
    let n = 0;
    let fail = () => {};
    const failing = async () => {
      n++;
      await new Promise<void>((r) => (fail = r));
      throw new Error('database unreachable');
    };
    const [a, b] = await Promise.all([
      cache.months(['F'], ['2025-01'], failing),
      cache.months(['F'], ['2025-01'], failing),
    ]);
    const both = Promise.all([
      expect(a.get('F')).rejects.toThrow('database unreachable'),
      expect(b.get('F')).rejects.toThrow('database unreachable'),
    ]);
    fail();
    await both;
    expect(n).toBe(1);
    const ok = await cache.months(['F'], ['2025-01'], async () => [doc('F', '2025-01', 1)]);
    expect(await ok.get('F')).toEqual([doc('F', '2025-01', 1)]);
    expect(cache.size).toBe(1);
  });

  test('an entry is read again after its maximum age, and the least recently used entries go beyond the limit', async () => {
    const now = { ms: 0 };
    const cache = cacheAt(now, 2);
    const b = reading([]);
    expect(await served(cache, 'B', ['2025-01'], b.read)).toEqual([]);
    now.ms = 999;
    expect(await served(cache, 'B', ['2025-01'], mustNotRead)).toEqual([]);
    now.ms = 1_000;
    expect(await served(cache, 'B', ['2025-01'], b.read)).toEqual([]);
    expect(b.units).toEqual(['B', 'B']);
    // Three unit-months kept with room for two: B's goes, then C's 2025-01.
    const cd = reading([]);
    await served(cache, 'C', ['2025-01', '2025-02'], cd.read);
    await served(cache, 'D', ['2025-01'], cd.read);
    expect(cache.size).toBe(2);
    // C's 2025-02 is served and so used since D's 2025-01 was kept: D's goes when D's 2025-02 is kept.
    const both = await cache.months(['C', 'D'], ['2025-02'], cd.read);
    expect(await both.get('C')).toEqual([]);
    expect(await both.get('D')).toEqual([]);
    expect(cd.units).toEqual(['C', 'D', 'D']);
    expect(await served(cache, 'C', ['2025-02'], mustNotRead)).toEqual([]);
    expect(await served(cache, 'D', ['2025-01'], cd.read)).toEqual([]);
    expect(await served(cache, 'C', ['2025-01'], cd.read)).toEqual([]);
    expect(cd.units).toEqual(['C', 'D', 'D', 'D', 'C']);
    expect(cache.size).toBe(2);
  });
});
