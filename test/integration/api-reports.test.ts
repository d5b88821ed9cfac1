import ExcelJS from 'exceljs';
import { parse as parseContentDisposition } from 'content-disposition';
import { API_PREFIX } from '../../bot/http/api/register';
import { AuditLog } from '../../models/audit-log';
import { ApiClient, seedUnits, signedIn, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { respond, rollUp } from '../support/figures-fixtures';
import { OpenApiContract } from '../support/openapi-contract';

let t: TestApp;
let viewer: ApiClient;
let contract: OpenApiContract;
const CSV = `${API_PREFIX}/reports/export.csv`;
const XLSX = `${API_PREFIX}/reports/export.xlsx`;

beforeAll(async () => {
  t = await startTestApp('apireports', {}, ['http']);
  await seedUnits();
  viewer = await signedIn(t, 'reports.viewer', 'viewer', ['QD-DAN-DIEN']);
  contract = await OpenApiContract.load(t.baseUrl);
  await respond('19870', '2025-03-03T02:00:00Z', [5, 5, 5, 5, 5, 5]);
  await respond('19867', '2025-03-05T02:00:00Z', [1, 1, 1, 1, 1, 1]);
  await rollUp(t);
});
afterAll(async () => {
  await t.stop();
});

const conforms = (path: string, r: ApiResponse) =>
  expect(contract.check('GET', path, r.status, r.headers.get('content-type'), r.body)).toEqual([]);

test('a viewer downloads the CSV of its unit subtree, named as the CLI names it, and the export is audited', async () => {
  const r = await viewer.get(CSV, { unit: 'QD-DAN-DIEN', period: '2025' });
  expect(r.status).toBe(200);
  conforms(CSV, r);
  expect(r.text.startsWith('\uFEFF')).toBe(true);
  expect(parseContentDisposition(r.headers.get('content-disposition')!).parameters.filename).toBe(
    'bao-cao-hai-long-QD-DAN-DIEN-2025.csv',
  );
  const entry = await AuditLog.findOne({ action: 'report.exported' }).sort({ seq: -1 }).lean();
  expect(entry).toMatchObject({
    actor: 'reports.viewer',
    unitCode: 'QD-DAN-DIEN',
    details: { format: 'csv', responses: 1 },
  });
});

test('the XLSX is a workbook ExcelJS opens', async () => {
  const res = await fetch(`${t.baseUrl}${XLSX}?unit=QD-DAN-DIEN&period=2025`, {
    headers: { cookie: viewer.cookie! },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  );
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(await res.arrayBuffer());
  expect(wb.worksheets.length).toBeGreaterThan(1);
});

test('a unit outside the caller’s units is 404 and exports nothing; a broadcaster may not export', async () => {
  const before = await AuditLog.countDocuments({ action: 'report.exported' });
  const out = await viewer.get(CSV, { unit: '19867', period: '2025' });
  expect(out.status).toBe(404);
  conforms(CSV, out);
  expect((await viewer.get(XLSX, { unit: '477', period: '2025' })).status).toBe(404);
  expect(await AuditLog.countDocuments({ action: 'report.exported' })).toBe(before);
  const broadcaster = await signedIn(t, 'reports.broadcaster', 'broadcaster', ['QD-DAN-DIEN']);
  expect((await broadcaster.get(CSV, { unit: 'QD-DAN-DIEN', period: '2025' })).status).toBe(403);
});
