import { AuditLog } from '../../models/audit-log';
import { Flag } from '../../models/flag';
import { storeCompletion } from '../../workers/jobs/answer-store';
import { excludeResponse, flagBursts } from '../../workers/aggregation/integrity';
import { recomputeBucket } from '../../workers/aggregation/recompute';
import { buildReport } from '../../workers/aggregation/report';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('aggintegrity');
const enqueued: Array<{ name: string; jobId?: string }> = [];
const deps = { redis, prefix, enqueue: async (name: string, _p: unknown, o?: { jobId?: string }) => void enqueued.push({ name, ...(o?.jobId ? { jobId: o.jobId } : {}) }) };

async function complete(id: string, minute: number, v: number) {
  const at = new Date(Date.UTC(2025, 5, 2, 2, minute));
  await storeCompletion(
    id,
    { dossierCode: `D-${id}`, unitCode: 'U9', procedureCode: 'P', officerId: 'O', dossierChannel: 'in_person', onlineLevel: null, surveyChannel: 'web', flowKey: 'default', flowVersion: 1, lang: 'vi', startedAt: at.toISOString() },
    [{ questionId: 'q1', element: 'TIEP_CAN', type: 'scale5', value: v, text: null }, { questionId: 'q6', element: 'TONG_THE', type: 'scale5', value: v, text: null }],
    at,
  );
}

beforeAll(async () => {
  await connectTestDb('aggintegrity');
  for (let i = 0; i < 5; i++) await complete(`burst-${i}`, i, 5);
  await complete('honest-1', 3, 4);
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('identical answers in a burst are flagged once, with the reason', async () => {
  expect(await flagBursts('U9', '2025-06-02')).toBe(5);
  await flagBursts('U9', '2025-06-02');
  const flags = await Flag.find({}).lean();
  expect(flags.map((f) => f.responseId).sort()).toEqual(['burst-0', 'burst-1', 'burst-2', 'burst-3', 'burst-4']);
  expect(flags[0].detail).toBe('5 identical within 10 min');
});

test('an admin exclusion needs a reason, is audited, recomputes the bucket and shows in the report', async () => {
  await recomputeBucket({ redis, prefix }, 'U9', '2025-06-02');
  await expect(excludeResponse(deps, 'burst-0', 'admin.tran', '')).rejects.toThrow('reason');
  expect(await excludeResponse(deps, 'burst-0', 'admin.tran', 'Nhập hộ tại quầy một cửa')).toBe(true);
  expect(await excludeResponse(deps, 'burst-0', 'admin.tran', 'Nhập hộ tại quầy một cửa')).toBe(false);
  expect(enqueued.map((e) => e.name)).toEqual(['rollup.recompute']);
  const audit = await AuditLog.find({ targetId: 'burst-0' }).lean();
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({ actor: 'admin.tran', action: 'response.excluded', reason: 'Nhập hộ tại quầy một cửa' });
  await recomputeBucket({ redis, prefix }, 'U9', '2025-06-02');
  const r = await buildReport({ unit: 'U9', period: '2025-06', units: null, officerMinN: 5, indexOnly: true });
  expect(r.responses).toBe(5);
  expect(r.excludedResponses).toBe(1);
  expect(r.elements.TIEP_CAN).toMatchObject({ n: 5, satisfied: 5 });
});
