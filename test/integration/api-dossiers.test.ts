import { API_PREFIX } from '../../bot/http/api/register';
import { ApiClient, seedUnits, signedIn } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';
import { makeDossier } from '../support/survey-fixtures';

let t: TestApp;
let unit: ApiClient;
let contract: OpenApiContract;

beforeAll(async () => {
  t = await startTestApp('apidossiers', {}, ['http']);
  await seedUnits();
  unit = await signedIn(t, 'dossier.unit', 'unit', ['QD-DAN-DIEN']);
  contract = await OpenApiContract.load(t.baseUrl);
});
afterAll(async () => {
  await t.stop();
});

const get = (code: string) => unit.get(`${API_PREFIX}/dossiers/${encodeURIComponent(code)}`);
const conforms = (r: Awaited<ReturnType<typeof get>>) =>
  expect(
    contract.check('GET', `${API_PREFIX}/dossiers/:code`, r.status, r.headers.get('content-type'), r.body),
  ).toEqual([]);

test('a dossier of a commune the unit absorbed answers with its funnel, never the phone', async () => {
  const code = await makeDossier('19870', { reminders: 1 });
  const r = await get(code);
  expect(r.status).toBe(200);
  conforms(r);
  expect(r.body).toMatchObject({
    code,
    unitCode: '19870',
    funnel: { stage: 'reminded', reminders: 1, expired: false },
  });
  expect(r.body.funnel.invitedAt).toEqual(expect.any(String));
  expect(r.text).not.toContain('hash-of-a-phone');
  expect(r.text).not.toContain('tok-');
});

test('the funnel says answered, and expired for a link that ran out unanswered', async () => {
  expect((await get(await makeDossier('QD-DAN-DIEN', { answered: true }))).body.funnel.stage).toBe(
    'answered',
  );
  const expired = await get(await makeDossier('QD-DAN-DIEN', { expired: true }));
  expect(expired.body.funnel).toMatchObject({ stage: 'expired', expired: true });
  expect((await get(await makeDossier('QD-DAN-DIEN', { invited: false }))).body.funnel.stage).toBe(
    'not_invited',
  );
});

test('a neighbour’s dossier and an unknown code give the same 404', async () => {
  const other = await get(await makeDossier('19867'));
  const unknown = await get('HS-KHONG-CO');
  expect(other.status).toBe(404);
  expect(unknown.status).toBe(404);
  expect(other.body).toEqual(unknown.body);
  conforms(other);
});
