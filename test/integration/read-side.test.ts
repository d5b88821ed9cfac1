import mongoose from 'mongoose';
import { parseEnv } from '../../config/env';
import { loadMonthDays, loadRollups, loadTotals } from '../../indices/period-sum';
import { setReadSidePreference } from '../../lib/db/read-side';
import { connectTestDb, dropTestDb } from '../support/services';

/**
 * MONGO_READ_PREFERENCE (issue 22): the read side's queries carry it, the month writer's read
 * does not, and a bad value stops start-up naming the variable. FerretDB has no replicas, so this
 * checks what the driver is asked, not where a secondary answers.
 */
const seen: Array<{ collection: string; method: string; readPreference: string | null }> = [];
/**
 * The reads among them. A model's own index build (mongoose's autoIndex, started when the model
 * first meets the connection) can land in a test's window: it is not a read and carries no
 * preference.
 */
const READS = new Set(['find', 'findOne', 'aggregate', 'countDocuments', 'distinct']);
const reads = () =>
  seen
    .filter((s) => READS.has(s.method))
    .map(({ collection, readPreference }) => ({ collection, readPreference }));

beforeAll(async () => {
  await connectTestDb('readside');
  mongoose.set('debug', (collection: string, method: string, ...rest: unknown[]) => {
    const options = rest.find(
      (r): r is { readPreference?: unknown } => typeof r === 'object' && r !== null && 'readPreference' in r,
    );
    const rp = options?.readPreference as { mode?: string } | string | undefined;
    seen.push({
      collection,
      method,
      readPreference: rp ? (typeof rp === 'string' ? rp : (rp.mode ?? null)) : null,
    });
  });
});
afterAll(async () => {
  mongoose.set('debug', false);
  setReadSidePreference('primary');
  await dropTestDb();
});
beforeEach(() => void (seen.length = 0));

test('with secondaryPreferred, the figures’ reads ask for it; the rollup writer’s read stays on the primary', async () => {
  setReadSidePreference('secondaryPreferred');
  await loadTotals(['19870'], '2026-01-15', '2026-03-10');
  await loadRollups(['19870'], '2026-01-01', '2026-01-31');
  expect(reads().length).toBeGreaterThanOrEqual(4);
  expect(reads().filter((s) => s.readPreference !== 'secondaryPreferred')).toEqual([]);
  seen.length = 0;
  await loadMonthDays('19870', '2026-01');
  expect(reads()).toEqual([{ collection: 'rollups', readPreference: null }]);
});

test('on the default (primary) nothing is added to any query', async () => {
  setReadSidePreference('primary');
  await loadTotals(['19870'], '2026-01-01', '2026-12-31');
  expect(reads().length).toBeGreaterThan(0);
  expect(reads().filter((s) => s.readPreference !== null)).toEqual([]);
});

test('a bad MONGO_READ_PREFERENCE stops start-up naming the variable and the values', () => {
  expect(parseEnv({ NODE_ENV: 'test' }).MONGO_READ_PREFERENCE).toBe('primary');
  expect(
    parseEnv({ NODE_ENV: 'test', MONGO_READ_PREFERENCE: 'secondaryPreferred' }).MONGO_READ_PREFERENCE,
  ).toBe('secondaryPreferred');
  expect(() => parseEnv({ NODE_ENV: 'test', MONGO_READ_PREFERENCE: 'secondary-preferred' })).toThrow(
    /MONGO_READ_PREFERENCE.*(primary|secondaryPreferred)/s,
  );
});
