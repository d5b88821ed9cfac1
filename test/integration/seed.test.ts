import { Answer } from '../../models/answer';
import { Dossier } from '../../models/dossier';
import { Flow } from '../../models/flow';
import { Procedure } from '../../models/procedure';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import { defaultFlow } from '../../bot/flow/default-flow';
import { runSeed } from '../../cli/commands/seed';
import { SEED_UNITS, SUCCESSORS } from '../../cli/seed-data/units';
import { hcmDay } from '../../lib/time';
import { connectTestDb, dropTestDb } from '../support/services';

beforeAll(async () => {
  await connectTestDb('seed');
});
afterAll(dropTestDb);

const NOW = new Date('2025-10-15T05:00:00Z');

test('seeds the Quảng Điền units with validity and successors, procedures and the default flow', async () => {
  const report = await runSeed();
  expect(report).toMatchObject({ units: SEED_UNITS.length, procedures: 12, flowInserted: true });

  expect(await Unit.findOne({ code: '477' }).lean()).toMatchObject({
    name: 'Huyện Quảng Điền',
    level: 'district',
    parentCode: '46',
  });
  const communes = await Unit.find({ parentCode: '477' }).lean();
  expect(communes).toHaveLength(11);
  for (const c of communes) {
    expect(hcmDay(c.validTo!)).toBe('2025-06-30');
    expect(Object.values(SUCCESSORS)).toContain(c.successorCode);
  }
  expect(await Unit.findOne({ code: '19891' }).lean()).toMatchObject({
    name: 'Xã Quảng Thành',
    successorCode: SUCCESSORS.hoaChau,
  });
  const successors = await Unit.find({ code: { $in: Object.values(SUCCESSORS) } }).lean();
  expect(successors).toHaveLength(4);
  for (const s of successors) expect(hcmDay(s.validFrom!)).toBe('2025-07-01');

  const flow = await Flow.findOne({ key: 'default', version: 1 }).lean();
  expect(flow).toMatchObject({ status: 'published' });
  expect((flow!.definition as { nodes: unknown[] }).nodes).toHaveLength(defaultFlow.nodes.length);
});

test('a second run changes nothing and never touches the published flow', async () => {
  // Mark the stored version: a re-seed must not rewrite it.
  await Flow.collection.updateOne({ key: 'default', version: 1 }, { $set: { createdBy: 'someone' } });
  const counts = async () => [
    await Unit.countDocuments(),
    await Procedure.countDocuments(),
    await Flow.countDocuments(),
  ];
  const before = await counts();
  const report = await runSeed();
  expect(report).toMatchObject({ units: 0, procedures: 0, flowInserted: false });
  expect(await counts()).toEqual(before);
  expect(await Flow.findOne({ key: 'default', version: 1 }).lean()).toMatchObject({ createdBy: 'someone' });
});

test('--demo adds completed responses over the last 60 days, once', async () => {
  const first = await runSeed({ demo: true, now: NOW, demoCount: 60 });
  expect(first.demoResponses).toBeGreaterThan(40);
  expect(first.demoDossiers).toBe(first.demoResponses);
  const responses = await Response.find({ responseId: /^demo-/ }).lean();
  expect(responses).toHaveLength(first.demoResponses);
  const answers = await Answer.countDocuments({ responseId: /^demo-/ });

  for (const r of responses) {
    expect(r.status).toBe('completed');
    expect(r.completedAt!.getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(r.completedAt!.getTime()).toBeGreaterThan(NOW.getTime() - 62 * 86400_000);
    expect(r.day).toBe(hcmDay(r.completedAt!));
    expect(Object.values(SUCCESSORS)).toContain(r.unitCode);
  }
  // A plausible mix: some dissatisfied responses, mostly satisfied ones.
  const unhappy = responses.filter((r) => r.dissatisfied).length;
  expect(unhappy).toBeGreaterThan(0);
  expect(unhappy).toBeLessThan(responses.length / 2 + 1);
  // Every response has the six element questions, and the "why?" after a 1 or 2.
  const sample = await Answer.find({ responseId: responses[0].responseId }).lean();
  expect(
    sample
      .filter((a) => a.type === 'scale5')
      .map((a) => a.element)
      .sort(),
  ).toEqual(['CONG_CHUC', 'KET_QUA', 'PAKN', 'TIEP_CAN', 'TONG_THE', 'TTHC']);
  const low = await Answer.find({
    responseId: /^demo-/,
    type: 'scale5',
    value: { $in: [1, 2] },
    questionId: 'q1',
  }).lean();
  for (const a of low)
    expect(await Answer.exists({ responseId: a.responseId, questionId: 'r1' })).not.toBeNull();

  const dossier = await Dossier.findOne({ code: responses[0].dossierCode }).lean();
  expect(dossier).toMatchObject({
    source: 'demo',
    status: 'returned',
    survey: { responseId: responses[0].responseId },
  });

  const again = await runSeed({ demo: true, now: new Date(NOW.getTime() + 86400_000), demoCount: 60 });
  expect(again).toMatchObject({ demoDossiers: 0, demoResponses: 0 });
  expect(await Response.countDocuments({ responseId: /^demo-/ })).toBe(responses.length);
  expect(await Answer.countDocuments({ responseId: /^demo-/ })).toBe(answers);
});
