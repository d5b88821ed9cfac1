import { API_PREFIX } from '../../bot/http/api/register';
import { expandUnits } from '../../lib/auth/scope';
import { buildReport } from '../../indices/report';
import { ApiClient, seedUnits, signedIn, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { respond, rollUp } from '../support/figures-fixtures';
import { OpenApiContract } from '../support/openapi-contract';

let t: TestApp;
let unit: ApiClient;
let district: ApiClient;
let contract: OpenApiContract;

beforeAll(async () => {
  t = await startTestApp('apiindices', { OFFICER_MIN_N: '2' }, ['http']);
  await seedUnits();
  unit = await signedIn(t, 'indices.unit', 'unit', ['QD-DAN-DIEN']);
  district = await signedIn(t, 'indices.district', 'district', ['477']);
  contract = await OpenApiContract.load(t.baseUrl);
  // Before the merge: two communes of district 477; after it, the commune that absorbed 19870.
  await respond('19870', '2025-03-03T02:00:00Z', [5, 5, 5, 5, 5, 5]);
  await respond('19870', '2025-03-04T02:00:00Z', [4, 4, 2, 4, 4, 4], { channel: 'online', officer: 'cb-02' });
  await respond('19867', '2025-03-05T02:00:00Z', [1, 1, 1, 1, 1, 1]);
  await respond('QD-DAN-DIEN', '2025-08-05T02:00:00Z', [5, 4, 5, 4, 5, 5]);
  await rollUp(t);
});
afterAll(async () => {
  await t.stop();
});

const conforms = (path: string, r: ApiResponse) =>
  expect(
    contract.check('GET', `${API_PREFIX}${path}`, r.status, r.headers.get('content-type'), r.body),
  ).toEqual([]);

test('the index of a unit subtree: by element, channel, procedure and officer, with n, intervals, 766 and rate', async () => {
  const r = await unit.get(`${API_PREFIX}/indices`, { unit: 'QD-DAN-DIEN', period: '2025' });
  expect(r.status).toBe(200);
  conforms('/indices', r);
  expect(r.body.responses).toBe(3);
  expect(r.body.unitsIncluded).toContain('19870');
  expect(r.body.unitsIncluded).not.toContain('19867');
  expect(r.body.elements.CONG_CHUC).toMatchObject({ n: 3, satisfied: 2, dissatisfied: 1 });
  expect(r.body.overall.ci95).toEqual({ low: expect.any(Number), high: expect.any(Number) });
  expect(r.body.ratio766).toMatchObject({ completedDossiers: 3, dossiersWithDissatisfactionOrOpenCase: 1 });
  expect(r.body.responseRate).toMatchObject({ numerator: 3, denominator: 3 });
  expect((r.body.trend as { period: string }[]).map((m) => m.period)).toEqual(['2025-03', '2025-08']);
  expect((r.body.byChannel as { key: string }[]).map((c) => c.key)).toEqual(['in_person', 'online']);
  expect(r.body.byProcedure).toHaveLength(1);
  // cb-02 has one response, under OFFICER_MIN_N = 2: withheld.
  expect(r.body.byOfficer).toMatchObject({ minN: 2, withheld: 1 });
});

test('one formula: the API gives what the report module computes for the same units', async () => {
  const r = await unit.get(`${API_PREFIX}/indices`, {
    unit: 'QD-DAN-DIEN',
    period: '2025',
    channel: 'online',
  });
  const direct = await buildReport({
    unit: 'QD-DAN-DIEN',
    period: '2025',
    channel: 'online',
    units: await expandUnits(['QD-DAN-DIEN']),
    officerMinN: 2,
  });
  expect(r.body.responses).toBe(1);
  expect({ ...r.body, cases: undefined }).toEqual(
    JSON.parse(JSON.stringify({ ...direct, cases: undefined })),
  );
});

test('ranking of the child units, only those in the caller’s units', async () => {
  const r = await district.get(`${API_PREFIX}/indices/ranking`, { unit: '477', period: '2025-03', minN: '1' });
  expect(r.status).toBe(200);
  conforms('/indices/ranking', r);
  const rows = r.body.rows as Array<{ unitCode: string; rank: number | null }>;
  expect(rows.find((x) => x.unitCode === '19870')?.rank).toBe(1);
  expect(rows.find((x) => x.unitCode === '19867')?.rank).toBe(2);
});

test('a unit outside the caller’s units is 404; two filters at once are 422', async () => {
  const out = await unit.get(`${API_PREFIX}/indices`, { unit: '19867', period: '2025' });
  expect(out.status).toBe(404);
  conforms('/indices', out);
  expect((await unit.get(`${API_PREFIX}/indices/ranking`, { unit: '477', period: '2025' })).status).toBe(404);
  const two = await unit.get(`${API_PREFIX}/indices`, {
    unit: 'QD-DAN-DIEN',
    period: '2025',
    channel: 'online',
    officer: 'cb-01',
  });
  expect(two.status).toBe(422);
  expect((await unit.get(`${API_PREFIX}/indices`, { unit: 'QD-DAN-DIEN', period: '2025-13' })).status).toBe(
    422,
  );
});
