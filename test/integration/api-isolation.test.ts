import { API_PREFIX } from '../../bot/http/api/register';
import { ApiClient, seedUnits, signedIn } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { respond, rollUp } from '../support/figures-fixtures';
import { makeBroadcast, makeCase, makeDossier, makeFlag } from '../support/survey-fixtures';

/**
 * Issue 18: a commune's user can read nothing of another commune, by the API, by export and by
 * the progress stream. QD-DAN-DIEN's manager against QD-QUANG-DIEN (which absorbed 19867): every
 * read of the other's objects is the 404 of an unknown id, and no list, figure or file of its
 * own carries the other's ids or figures.
 */
let t: TestApp;
let mine: ApiClient;
const other = { unit: 'QD-QUANG-DIEN', old: '19867' };
const ids = { dossier: '', case: '', flag: '', broadcast: '', dossierOfFigures: '' };

beforeAll(async () => {
  t = await startTestApp('apiisolation', {}, ['http']);
  await seedUnits();
  mine = await signedIn(t, 'xa.dandien', 'unit', ['QD-DAN-DIEN']);
  await respond('19870', '2025-03-03T02:00:00Z', [5, 5, 5, 5, 5, 5]);
  ids.dossierOfFigures = await respond(other.old, '2025-03-04T02:00:00Z', [1, 1, 1, 1, 1, 1]);
  await respond(other.unit, '2025-08-04T02:00:00Z', [2, 2, 2, 2, 2, 2]);
  await rollUp(t);
  ids.dossier = await makeDossier(other.unit);
  ids.case = await makeCase(other.old);
  ids.flag = await makeFlag(other.unit);
  ids.broadcast = await makeBroadcast(other.unit, { status: 'sending' });
});
afterAll(async () => {
  await t.stop();
});

const get = (path: string, query?: Record<string, string>) => mine.get(`${API_PREFIX}${path}`, query);

test('by the API: each of the other commune’s objects answers as an unknown one', async () => {
  const notFound = (await get('/dossiers/HS-KHONG-CO')).body;
  for (const path of [
    `/dossiers/${ids.dossier}`,
    `/dossiers/${ids.dossierOfFigures}`,
    `/cases/${ids.case}`,
    `/broadcasts/${ids.broadcast}`,
    `/broadcasts/${ids.broadcast}/report`,
  ]) {
    const r = await get(path);
    expect([path, r.status]).toEqual([path, 404]);
    expect(r.body).toEqual(notFound);
  }
  for (const unit of [other.unit, other.old]) {
    for (const [path, query] of [
      ['/indices', { unit, period: '2025' }],
      ['/indices/ranking', { unit, period: '2025' }],
      ['/responses', { unit }],
      ['/cases', { unit }],
      ['/flags', { unit, from: '2025-01-01', to: '2030-12-31' }],
    ] as const) {
      expect([path, unit, (await get(path, query)).status]).toEqual([path, unit, 404]);
    }
  }
});

test('by the API: the caller’s own lists and figures carry nothing of the other commune', async () => {
  const lists = await Promise.all([get('/responses'), get('/cases'), get('/broadcasts'), get('/units')]);
  for (const r of lists) {
    expect(r.status).toBe(200);
    for (const needle of [other.unit, other.old, ids.case, ids.flag, ids.broadcast])
      expect(r.text).not.toContain(needle);
  }
  const figures = await get('/indices', { unit: 'QD-DAN-DIEN', period: '2025' });
  expect(figures.body.responses).toBe(1);
  expect(figures.body.unitsIncluded).not.toContain(other.old);
});

test('by export: the other commune’s files are 404, and the caller’s own file has none of its figures', async () => {
  for (const format of ['csv', 'xlsx'])
    for (const unit of [other.unit, other.old, '477'])
      expect((await get(`/reports/export.${format}`, { unit, period: '2025' })).status).toBe(404);
  const own = await get('/reports/export.csv', { unit: 'QD-DAN-DIEN', period: '2025' });
  expect(own.status).toBe(200);
  expect(own.text).not.toContain(other.old);
  expect(own.text).not.toContain(other.unit);
});

test('by the progress stream: the other commune’s broadcast gives a 404 and not one event', async () => {
  const res = await fetch(`${t.baseUrl}${API_PREFIX}/broadcasts/${ids.broadcast}/stream`, {
    headers: { cookie: mine.cookie! },
  });
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toContain('application/json');
  const text = await res.text();
  expect(text).not.toContain('event:');
  expect(text).not.toContain(ids.broadcast);
});
