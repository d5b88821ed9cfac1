import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { API_PREFIX } from '../../bot/http/api/register';
import { createApiKey } from '../../lib/api-auth';
import { AuditLog } from '../../models/audit-log';
import { ApiClient, seedUnits, signedIn, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';
import { meta, scale, suggestion } from '../support/ingest';
import { makeResponse } from '../support/survey-fixtures';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';

let t: TestApp;
let unit: ApiClient;
let contract: OpenApiContract;
const PATH = `${API_PREFIX}/responses`;

beforeAll(async () => {
  t = await startTestApp('apiresponses', {}, ['http']);
  await seedUnits();
  unit = await signedIn(t, 'responses.unit', 'unit', ['QD-DAN-DIEN']);
  contract = await OpenApiContract.load(t.baseUrl);
  const base = Date.parse('2026-03-10T03:00:00Z');
  for (let i = 0; i < 5; i++)
    await makeResponse('19870', { score: i % 2 === 0 ? 2 : 5, completedAt: new Date(base + i * 60_000) });
  await makeResponse('QD-DAN-DIEN', {
    score: 4,
    completedAt: new Date('2026-04-02T03:00:00Z'),
    surveyChannel: 'zalo',
  });
  await makeResponse('19867', { score: 1, text: 'Góp ý của xã bên cạnh', completedAt: new Date(base) });
});
afterAll(async () => {
  await t.stop();
});

const conforms = (r: ApiResponse) =>
  expect(contract.check('GET', PATH, r.status, r.headers.get('content-type'), r.body)).toEqual([]);
const ids = (r: ApiResponse) => (r.body.responses as Array<{ responseId: string }>).map((x) => x.responseId);

test('lists the caller’s units only, newest first, one page after another by cursor', async () => {
  const all = await unit.get(PATH);
  expect(all.status).toBe(200);
  conforms(all);
  expect(ids(all)).toHaveLength(6);
  expect(all.text).not.toContain('19867');
  const pages: string[] = [];
  let cursor: string | null = null;
  do {
    const r: ApiResponse = await unit.get(PATH, { limit: '2', ...(cursor ? { cursor } : {}) });
    conforms(r);
    pages.push(...ids(r));
    cursor = r.body.nextCursor as string | null;
  } while (cursor);
  expect(pages).toEqual(ids(all));
});

test('filters by unit, period, channel and rating', async () => {
  expect(ids(await unit.get(PATH, { unit: '19870' }))).toHaveLength(5);
  expect(ids(await unit.get(PATH, { period: '2026-04' }))).toHaveLength(1);
  expect(ids(await unit.get(PATH, { surveyChannel: 'zalo' }))).toHaveLength(1);
  expect(ids(await unit.get(PATH, { rating: 'dissatisfied' }))).toHaveLength(3);
  expect(
    ids(await unit.get(PATH, { channel: 'in_person', procedure: '1.001234', officer: 'cb-01' })),
  ).toHaveLength(6);
  const none = await unit.get(PATH, { officer: 'cb-99' });
  expect(ids(none)).toEqual([]);
});

test('filters by a satisfaction score or range, for one element or any, with the other filters', async () => {
  // 19870: scores 2, 5, 2, 5, 2 (TONG_THE); QD-DAN-DIEN: 4 (April); 19867 (outside): 1.
  expect(ids(await unit.get(PATH, { score: '5' }))).toHaveLength(2);
  expect(ids(await unit.get(PATH, { score: '4-5' }))).toHaveLength(3);
  expect(ids(await unit.get(PATH, { score: '1-2', element: 'TONG_THE' }))).toHaveLength(3);
  expect(ids(await unit.get(PATH, { score: '1-2', element: 'CONG_CHUC' }))).toEqual([]);
  expect(ids(await unit.get(PATH, { score: '4-5', period: '2026-04' }))).toHaveLength(1);
  expect(ids(await unit.get(PATH, { score: '4-5', unit: '19870' }))).toHaveLength(2);
  // The neighbour's score 1 is never counted: the scope holds inside the score filter too.
  const ones = await unit.get(PATH, { score: '1' });
  conforms(ones);
  expect(ids(ones)).toEqual([]);
  // Paged like any list.
  const first = await unit.get(PATH, { score: '1-2', limit: '2' });
  expect(ids(first)).toHaveLength(2);
  const rest = await unit.get(PATH, { score: '1-2', limit: '2', cursor: first.body.nextCursor as string });
  expect(ids(rest)).toHaveLength(1);
});

test('a bad score, a backwards range or an element without a score is a 422 naming the field', async () => {
  for (const [q, path] of [
    [{ score: '6' }, 'score'],
    [{ score: '1-' }, 'score'],
    [{ score: '3-1' }, 'score'],
    [{ element: 'TONG_THE' }, 'element'],
    [{ score: '2', element: 'KHAC' }, 'element'],
    [{ rating: 'happy' }, 'rating'],
  ] as const) {
    const r = await unit.get(PATH, q);
    expect(r.status).toBe(422);
    conforms(r);
    expect(r.body.details[0].path).toBe(path);
  }
});

test('a unit outside the caller’s units answers 404; a bad cursor 422', async () => {
  const r = await unit.get(PATH, { unit: '19867' });
  expect(r.status).toBe(404);
  conforms(r);
  const bad = await unit.get(PATH, { cursor: 'bm90LWEtY3Vyc29y' });
  expect(bad.status).toBe(422);
  expect(bad.body.details[0].path).toBe('cursor');
});

test('free text only when asked, by a role allowed to read it, and every such read is audited', async () => {
  const plain = await unit.get(PATH, { unit: '19870' });
  expect(plain.text).not.toContain('Góp ý riêng');
  expect((plain.body.responses[0].answers as { hasText: boolean }[]).some((a) => a.hasText)).toBe(true);
  const before = await AuditLog.countDocuments({ action: 'responses.free_text_read' });
  const withText = await unit.get(PATH, { unit: '19870', includeText: 'true' });
  expect(withText.status).toBe(200);
  conforms(withText);
  expect(withText.text).toContain('Góp ý riêng của 19870');
  const entry = await AuditLog.findOne({ action: 'responses.free_text_read' }).sort({ seq: -1 }).lean();
  expect(await AuditLog.countDocuments({ action: 'responses.free_text_read' })).toBe(before + 1);
  expect(entry).toMatchObject({ actor: 'responses.unit', unitCode: '19870', details: { responses: 5 } });
  expect(JSON.stringify(entry)).not.toContain('Góp ý');
});

test('a viewer reads no individual response, and an API key never free text', async () => {
  const viewer = await signedIn(t, 'responses.viewer', 'viewer', ['QD-DAN-DIEN']);
  expect((await viewer.get(PATH)).status).toBe(403);
  expect((await viewer.get(PATH, { includeText: 'true' })).status).toBe(403);
  const key = new ApiClient(
    t.baseUrl,
    (await createApiKey({ name: 'Một cửa', unitCodes: ['QD-DAN-DIEN'] })).key,
  );
  expect((await key.get(PATH)).status).toBe(200);
  const refused = await key.get(PATH, { includeText: 'true' });
  expect(refused.status).toBe(403);
  expect(refused.text).not.toContain('Góp ý riêng');
});

test('responseId finds one response, and nothing outside the caller’s units', async () => {
  const all = ids(await unit.get(PATH));
  const one = await unit.get(PATH, { responseId: all[2]! });
  expect(one.status).toBe(200);
  conforms(one);
  expect(ids(one)).toEqual([all[2]]);
  // With the other filters, all must hold.
  expect(ids(await unit.get(PATH, { responseId: all[2]!, score: '1' }))).toEqual([]);
  const theirs = await makeResponse('19867', { score: 1 });
  const outside = await unit.get(PATH, { responseId: theirs.responseId, includeText: 'true' });
  expect(outside.status).toBe(200);
  expect(ids(outside)).toEqual([]);
  expect(outside.text).not.toContain('Góp ý');
  expect((await unit.get(PATH, { responseId: theirs.responseId, unit: '19867' })).status).toBe(404);
});

describe('exports of the filtered responses', () => {
  const CSV = `${PATH}/export.csv`;
  const XLSX = `${PATH}/export.xlsx`;
  let ward: ApiClient;
  beforeAll(async () => {
    // A ward of its own, with the default flow's questions, so the file has answer columns.
    ward = await signedIn(t, 'responses.ward', 'unit', ['QD-HOA-CHAU']);
    const at = (d: number) => new Date(Date.UTC(2026, 4, d, 3));
    await storeCompletion(
      'resp-api-exp-1',
      meta({ dossierCode: 'HS-EXP-1', unitCode: 'QD-HOA-CHAU', flowVersion: 2 }),
      [scale('q1', 'TIEP_CAN', 2), scale('q6', 'TONG_THE', 2), suggestion('=HYPERLINK("http://x")')],
      at(3),
    );
    await storeCompletion(
      'resp-api-exp-2',
      meta({ dossierCode: 'HS-EXP-2', unitCode: 'QD-HOA-CHAU', flowVersion: 2, surveyChannel: 'zalo' }),
      [scale('q1', 'TIEP_CAN', 5), scale('q6', 'TONG_THE', 5)],
      at(4),
    );
  });
  const rowsOf = (text: string) => parse<Record<string, string>>(text, { bom: true, columns: true });
  const question = (row: Record<string, string>, id: string) =>
    Object.entries(row).find(([k]) => k.startsWith(`${id}. `))?.[1];

  test('CSV: the filtered rows, answers as labels, no free text unless asked, audited', async () => {
    const before = await AuditLog.countDocuments({ action: 'responses.exported' });
    const r = await ward.get(CSV, { rating: 'dissatisfied' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/csv');
    expect(r.headers.get('content-disposition')).toContain('phieu-tra-loi-tat-ca.csv');
    expect(r.text.charCodeAt(0)).toBe(0xfeff);
    const rows = rowsOf(r.text);
    expect(rows.map((x) => x['Mã hồ sơ'])).toEqual(['HS-EXP-1']);
    expect(question(rows[0]!, 'q1')).toBe('2. Không hài lòng');
    expect(question(rows[0]!, 'q7')).toBeUndefined();
    expect(r.text).not.toContain('HYPERLINK');
    const entry = await AuditLog.findOne({ action: 'responses.exported' }).sort({ seq: -1 }).lean();
    expect(await AuditLog.countDocuments({ action: 'responses.exported' })).toBe(before + 1);
    expect(entry).toMatchObject({
      actor: 'responses.ward',
      details: { format: 'csv', responses: 1, includeText: false, filters: ['rating=dissatisfied'] },
    });
    // Every row of the list is in the file, in the same filters.
    const all = rowsOf((await ward.get(CSV, { period: '2026-05' })).text);
    expect(all.map((x) => x['Mã phản hồi']).sort()).toEqual(
      ids(await ward.get(PATH, { period: '2026-05' })).sort(),
    );
  });

  test('CSV with free text: escaped so a spreadsheet runs no formula', async () => {
    const r = await ward.get(CSV, { includeText: 'true', surveyChannel: 'telegram' });
    expect(r.status).toBe(200);
    const rows = rowsOf(r.text);
    expect(rows).toHaveLength(1);
    expect(question(rows[0]!, 'q7')).toBe(`'=HYPERLINK("http://x")`);
  });

  test('XLSX: the same rows as text cells, never a formula', async () => {
    const res = await fetch(`${t.baseUrl}${XLSX}?includeText=true&unit=QD-HOA-CHAU&period=2026-05`, {
      headers: { cookie: ward.cookie! },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('phieu-tra-loi-QD-HOA-CHAU-2026-05.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await res.arrayBuffer());
    const ws = wb.worksheets[0]!;
    expect(ws.rowCount).toBe(3);
    const head: string[] = [];
    ws.getRow(1).eachCell((c, i) => (head[i] = String(c.value)));
    const cell = ws.getRow(2).getCell(head.findIndex((h) => h?.startsWith('q7. ')));
    expect(cell.type).toBe(ExcelJS.ValueType.String);
    expect(cell.value).toBe('=HYPERLINK("http://x")');
    expect(ws.getRow(2).getCell(head.indexOf('Mã hồ sơ')).value).toBe('HS-EXP-1');
  });

  test('outside the caller’s units 404 and nothing audited; free text refused to a viewer; bad filters 422', async () => {
    const before = await AuditLog.countDocuments({ action: 'responses.exported' });
    expect((await ward.get(CSV, { unit: 'QD-DAN-DIEN' })).status).toBe(404);
    expect((await ward.get(XLSX, { unit: '19867' })).status).toBe(404);
    const bad = await ward.get(CSV, { score: '3-1' });
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].path).toBe('score');
    expect(await AuditLog.countDocuments({ action: 'responses.exported' })).toBe(before);
    const viewer = await signedIn(t, 'responses.viewer2', 'viewer', ['QD-HOA-CHAU']);
    expect((await viewer.get(CSV)).status).toBe(403);
    const key = new ApiClient(
      t.baseUrl,
      (await createApiKey({ name: 'Một cửa 2', unitCodes: ['QD-HOA-CHAU'] })).key,
    );
    expect((await key.get(CSV)).status).toBe(200);
    expect((await key.get(CSV, { includeText: 'true' })).status).toBe(403);
  });
});
