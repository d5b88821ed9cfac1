import { API_PREFIX } from '../../bot/http/api/register';
import { producersOf } from '../../bot/http/api/producers';
import { AuditLog } from '../../models/audit-log';
import { Case } from '../../models/case';
import { ApiClient, seedUnits, signedIn, createUser, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';
import { makeCase } from '../support/survey-fixtures';

let t: TestApp;
let unit: ApiClient;
let contract: OpenApiContract;
const HOUR = 3_600_000;

beforeAll(async () => {
  t = await startTestApp('apicases', {}, ['http']);
  await seedUnits();
  unit = await signedIn(t, 'cases.unit', 'unit', ['QD-DAN-DIEN']);
  await createUser(t, 'cases.colleague', 'unit', ['QD-DAN-DIEN']);
  await createUser(t, 'cases.neighbour', 'unit', ['QD-QUANG-DIEN']);
  await createUser(t, 'cases.viewer', 'viewer', ['QD-DAN-DIEN']);
  contract = await OpenApiContract.load(t.baseUrl);
});
afterAll(async () => {
  await t.stop();
});

const conforms = (method: string, path: string, r: ApiResponse) =>
  expect(
    contract.check(method, `${API_PREFIX}${path}`, r.status, r.headers.get('content-type'), r.body),
  ).toEqual([]);
const post = (path: string, body: unknown) => unit.post(`${API_PREFIX}${path}`, body);

test('lists open cases of the caller’s units by due time, a page at a time', async () => {
  const late = await makeCase('19870', { dueInMs: -HOUR });
  const soon = await makeCase('QD-DAN-DIEN', { dueInMs: HOUR });
  const later = await makeCase('19870', { dueInMs: 5 * HOUR });
  await makeCase('19867', { dueInMs: -2 * HOUR });
  const r = await unit.get(`${API_PREFIX}/cases`);
  expect(r.status).toBe(200);
  conforms('GET', '/cases', r);
  const ids = (x: ApiResponse) => (x.body.cases as Array<{ caseId: string }>).map((c) => c.caseId);
  expect(ids(r)).toEqual([late, soon, later]);
  expect(r.body.cases[0].overdue).toBe(true);
  const first = await unit.get(`${API_PREFIX}/cases`, { limit: '2' });
  const second = await unit.get(`${API_PREFIX}/cases`, {
    limit: '2',
    cursor: first.body.nextCursor as string,
  });
  expect([...ids(first), ...ids(second)]).toEqual([late, soon, later]);
  expect(ids(await unit.get(`${API_PREFIX}/cases`, { overdue: 'true' }))).toEqual([late]);
  expect((await unit.get(`${API_PREFIX}/cases`, { unit: '19867' })).status).toBe(404);
});

test('assigns to an official of the case’s unit, and refuses anyone else without changing the case', async () => {
  const id = await makeCase('19870');
  const r = await post(`/cases/${id}/assign`, { username: 'cases.colleague' });
  expect(r.status).toBe(200);
  conforms('POST', '/cases/:caseId/assign', r);
  expect(r.body.assignedTo).toBe('cases.colleague');
  expect(r.body.log.at(-1)).toMatchObject({
    action: 'assigned',
    by: 'cases.unit',
    detail: 'cases.colleague',
  });
  for (const username of ['cases.neighbour', 'cases.viewer', 'khong.co']) {
    const refused = await post(`/cases/${id}/assign`, { username });
    expect(refused.status).toBe(422);
    expect(refused.body.details[0].path).toBe('username');
  }
  expect((await Case.findOne({ caseId: id }).lean())?.assignedTo).toBe('cases.colleague');
  expect(await AuditLog.exists({ action: 'case.assigned', targetId: id, actor: 'cases.unit' })).toBeTruthy();
});

test('notes: added to the log; an empty one is 422', async () => {
  const id = await makeCase('QD-DAN-DIEN');
  const r = await post(`/cases/${id}/notes`, { text: 'Đã liên hệ bộ phận một cửa' });
  expect(r.status).toBe(201);
  conforms('POST', '/cases/:caseId/notes', r);
  expect(r.body.log.at(-1)).toMatchObject({ action: 'note', note: 'Đã liên hệ bộ phận một cửa' });
  expect((await post(`/cases/${id}/notes`, { text: '   ' })).status).toBe(422);
});

test('close with a resolution queues the closing message to the citizen; a second close is 409', async () => {
  const id = await makeCase('19870');
  const r = await post(`/cases/${id}/close`, { resolution: 'giai-thich' });
  expect(r.status).toBe(200);
  conforms('POST', '/cases/:caseId/close', r);
  expect(r.body).toMatchObject({
    status: 'closed',
    closedOnTime: true,
    resolution: 'giai-thich',
    followUp: { queued: true },
  });
  const job = await producersOf(t.app.ctx)
    .jobs.getQueue('outbound')
    .getJob(r.body.followUp.jobId as string);
  expect(job?.data).toEqual({ kind: 'close', caseId: id, by: 'cases.unit' });
  const again = await post(`/cases/${id}/close`, { resolution: 'giai-thich' });
  expect(again.status).toBe(409);
  conforms('POST', '/cases/:caseId/close', again);
  expect((await post(`/cases/${await makeCase('19870')}/close`, { resolution: 'khong-co' })).status).toBe(
    422,
  );
  expect((await post(`/cases/${await makeCase('19870')}/close`, {})).status).toBe(422);
  const free = await post(`/cases/${await makeCase('19870')}/close`, {
    reason: 'Đã trao đổi trực tiếp',
    followUp: false,
  });
  expect(free.body).toMatchObject({
    status: 'closed',
    resolution: null,
    followUp: { queued: false, jobId: null },
  });
});

test('a follow-up to the citizen is queued with the official’s text and audited', async () => {
  const id = await makeCase('19870');
  const r = await post(`/cases/${id}/follow-up`, { text: 'Xin cảm ơn Quý ông/bà đã góp ý.' });
  expect(r.status).toBe(200);
  conforms('POST', '/cases/:caseId/follow-up', r);
  const job = await producersOf(t.app.ctx)
    .jobs.getQueue('outbound')
    .getJob(r.body.jobId as string);
  expect(job?.data).toMatchObject({ kind: 'message', caseId: id, text: 'Xin cảm ơn Quý ông/bà đã góp ý.' });
  const entry = await AuditLog.findOne({ action: 'case.follow_up_requested', targetId: id }).lean();
  expect(entry).toMatchObject({ actor: 'cases.unit', unitCode: '19870', ip: expect.any(String) });
  expect(JSON.stringify(entry)).not.toContain('Quý ông/bà');
});

test('a case of another commune is 404 for every action and stays as it was', async () => {
  const id = await makeCase('19867');
  for (const [method, path, body] of [
    ['GET', `/cases/${id}`, undefined],
    ['POST', `/cases/${id}/assign`, { username: 'cases.colleague' }],
    ['POST', `/cases/${id}/notes`, { text: 'x' }],
    ['POST', `/cases/${id}/close`, { resolution: 'khac-phuc' }],
    ['POST', `/cases/${id}/follow-up`, { text: 'x' }],
  ] as const) {
    const r = await unit.request(method, `${API_PREFIX}${path}`, body ? { body } : {});
    expect(r.status).toBe(404);
  }
  const c = await Case.findOne({ caseId: id }).lean();
  expect(c).toMatchObject({ status: 'open', assignedTo: null });
  expect(c?.log).toHaveLength(1);
});
