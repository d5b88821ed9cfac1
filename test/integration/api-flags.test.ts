import { API_PREFIX } from '../../bot/http/api/register';
import { producersOf } from '../../bot/http/api/producers';
import { AuditLog } from '../../models/audit-log';
import { Response } from '../../models/response';
import { ApiClient, seedUnits, signedIn, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';
import { makeFlag } from '../support/survey-fixtures';

let t: TestApp;
let district: ApiClient;
let unit: ApiClient;
let contract: OpenApiContract;
const F = `${API_PREFIX}/flags`;
const RANGE = { from: '2025-01-01', to: '2030-12-31' };

beforeAll(async () => {
  t = await startTestApp('apiflags', {}, ['http']);
  await seedUnits();
  district = await signedIn(t, 'flags.district', 'district', ['QD-DAN-DIEN']);
  unit = await signedIn(t, 'flags.unit', 'unit', ['QD-DAN-DIEN']);
  contract = await OpenApiContract.load(t.baseUrl);
});
afterAll(async () => {
  await t.stop();
});

const conforms = (method: string, path: string, r: ApiResponse) =>
  expect(contract.check(method, `${F}${path}`, r.status, r.headers.get('content-type'), r.body)).toEqual([]);

test('lists the flags of a unit subtree, never another commune’s', async () => {
  const mine = await makeFlag('19870');
  const theirs = await makeFlag('19867');
  const r = await unit.get(F, { unit: 'QD-DAN-DIEN', ...RANGE });
  expect(r.status).toBe(200);
  conforms('GET', '', r);
  expect(r.body.flags).toEqual([
    expect.objectContaining({ responseId: mine, reason: 'identical_burst', excluded: false }),
  ]);
  expect(r.text).not.toContain(theirs);
  expect((await unit.get(F, { unit: '19867', ...RANGE })).status).toBe(404);
  expect((await unit.get(F, { unit: 'QD-DAN-DIEN', from: '2026-02-01', to: '2026-01-01' })).status).toBe(422);
  // Messages are "Vietnamese / English": the schema's own, or zod's in both languages.
  const bad = await unit.get(F, { unit: 'QD-DAN-DIEN', from: 'hôm qua', to: '2026-01-01' });
  expect(bad.status).toBe(422);
  expect(bad.body.details).toContainEqual({
    path: 'from',
    in: 'query',
    message: 'Ngày phải có dạng YYYY-MM-DD. / expected YYYY-MM-DD',
  });
  const empty = await unit.get(F, { unit: '', ...RANGE });
  expect(empty.status).toBe(422);
  expect(empty.body.details).toContainEqual(
    expect.objectContaining({ path: 'unit', message: expect.stringMatching(/^Quá nhỏ: .+ \/ Too small: /) }),
  );
});

test('exclude with a reason: audited, the day counted again, listed as excluded; twice is 409', async () => {
  const id = await makeFlag('19870');
  const r = await district.post(`${F}/${id}/exclude`, { reason: 'Cán bộ tự điền thay công dân' });
  expect(r.status).toBe(200);
  conforms('POST', '/:responseId/exclude', r);
  expect(r.body.excluded).toMatchObject({ by: 'flags.district', reason: 'Cán bộ tự điền thay công dân' });
  expect(await AuditLog.findOne({ action: 'response.excluded', targetId: id }).lean()).toMatchObject({
    actor: 'flags.district',
    unitCode: '19870',
    reason: 'Cán bộ tự điền thay công dân',
  });
  const jobs = await producersOf(t.app.ctx).jobs.getQueue('aggregate').getJobs(['delayed', 'waiting']);
  expect(jobs.some((j) => j.name === 'rollup.recompute' && j.data.unitCode === '19870')).toBe(true);
  const listed = await unit.get(F, { unit: '19870', ...RANGE });
  const flags = listed.body.flags as Array<{ responseId: string; excluded: boolean }>;
  expect(flags.find((f) => f.responseId === id)?.excluded).toBe(true);
  const again = await district.post(`${F}/${id}/exclude`, { reason: 'Lần nữa cho chắc' });
  expect(again.status).toBe(409);
  conforms('POST', '/:responseId/exclude', again);
});

test('no reason, another commune’s flag or a unit manager: refused, and nothing is excluded', async () => {
  const id = await makeFlag('19870');
  const short = await district.post(`${F}/${id}/exclude`, { reason: ' ab ' });
  expect(short.status).toBe(422);
  expect(short.body.details).toEqual([
    {
      path: 'reason',
      in: 'body',
      message: 'Lý do phải có ít nhất 5 ký tự. / The reason must be at least 5 characters.',
    },
  ]);
  expect((await unit.post(`${F}/${id}/exclude`, { reason: 'Cán bộ tự điền' })).status).toBe(403);
  const other = await makeFlag('19867');
  expect((await district.post(`${F}/${other}/exclude`, { reason: 'Cán bộ tự điền' })).status).toBe(404);
  expect((await district.post(`${F}/khong-co/exclude`, { reason: 'Cán bộ tự điền' })).status).toBe(404);
  expect(
    await Response.countDocuments({ responseId: { $in: [id, other] }, 'excluded.at': { $ne: null } }),
  ).toBe(0);
});
