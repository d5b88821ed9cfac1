import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { parse as parseContentDisposition } from 'content-disposition';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { parseEnv } from '../../config/env';
import { createHttpServer } from '../../bot/http/server';
import { reportRoutes } from '../../bot/http/routes/reports';
import { registerReportCommand } from '../../cli/commands/report';
import { createApiKey } from '../../lib/api-auth';
import { logger } from '../../lib/logger';
import { Case } from '../../models/case';
import { Dossier } from '../../models/dossier';
import { Flag } from '../../models/flag';
import { Unit } from '../../models/unit';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { buildRanking } from '../../indices/ranking';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { buildReport } from '../../indices/report';
import { SHEETS } from '../../indices/export-xlsx';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('reportidx');
const env = parseEnv({ ...process.env, NODE_ENV: 'test', OFFICER_MIN_N: '5' });
const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
let app: FastifyInstance;
let base = '';
let allKey = '';
let newCommuneKey = '';

let seq = 0;
async function respond(unitCode: string, at: string, values: number[], o: { officer: string; procedure: string; channel: 'in_person' | 'online' | 'post'; level?: number }) {
  seq++;
  const dossierCode = `H57.${unitCode}-250301-${String(seq).padStart(4, '0')}`;
  await Dossier.create({ code: dossierCode, procedureCode: o.procedure, unitCode, channel: o.channel, onlineLevel: o.level ?? null, status: 'finished', finishedAt: new Date(at) });
  await storeCompletion(
    `resp-report-${seq}`,
    { dossierCode, unitCode, procedureCode: o.procedure, officerId: o.officer, dossierChannel: o.channel, onlineLevel: o.level ?? null, surveyChannel: 'zalo', flowKey: 'default', flowVersion: 1, lang: 'vi', startedAt: at },
    values.map((v, i) => ({ questionId: `q${i + 1}`, element: ELEMENTS[i], type: 'single_choice', value: v, text: null })),
    new Date(at),
  );
  return dossierCode;
}

async function runCli(...args: string[]): Promise<string> {
  let out = '';
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += Buffer.from(chunk).toString('utf8');
    return true;
  });
  const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const program = new Command().exitOverride();
    registerReportCommand(program);
    await program.parseAsync(args, { from: 'user' });
  } finally {
    write.mockRestore();
    err.mockRestore();
  }
  return out;
}

beforeAll(async () => {
  await connectTestDb('reportidx');
  await Unit.insertMany([
    { code: '46', name: 'Thành phố Huế', level: 'province' },
    { code: '477', name: 'Huyện Quảng Điền', level: 'district', parentCode: '46', validTo: new Date('2025-06-30T00:00:00Z') },
    { code: '19867', name: 'Thị trấn Sịa', level: 'town', parentCode: '477', validTo: new Date('2025-06-30T00:00:00Z'), successorCode: 'QD-NEW' },
    { code: '19882', name: 'Xã Quảng Phước', level: 'commune', parentCode: '477', validTo: new Date('2025-06-30T00:00:00Z'), successorCode: 'QD-NEW' },
    { code: 'QD-NEW', name: 'Xã Quảng Điền', level: 'commune', parentCode: '46', validFrom: new Date('2025-07-01T00:00:00Z') },
    // A code no file name or header should carry as is.
    { code: 'Xã 1"; x=y', name: 'Đơn vị mã lạ', level: 'agency' },
  ]);
  await respond('19867', '2025-03-03T02:00:00Z', [5, 5, 5, 5, 5, 5], { officer: 'A', procedure: 'P1', channel: 'in_person' });
  await respond('19867', '2025-03-04T02:00:00Z', [4, 4, 4, 4, 0, 4], { officer: 'A', procedure: 'P1', channel: 'online', level: 4 });
  const bad = await respond('19867', '2025-03-05T02:00:00Z', [2, 3, 3, 3, 3, 2], { officer: 'A', procedure: 'P2', channel: 'in_person' });
  await respond('19882', '2025-03-06T02:00:00Z', [5, 5, 5, 5, 5, 5], { officer: 'B', procedure: 'P1', channel: 'post' });
  await respond('QD-NEW', '2025-07-10T02:00:00Z', [1, 1, 1, 1, 1, 1], { officer: 'C', procedure: 'P1', channel: 'in_person' });
  // Four finished dossiers without a response: the 766 and response-rate denominators count dossiers.
  for (let i = 0; i < 4; i++)
    await Dossier.create({ code: `NR-${i}`, procedureCode: 'P1', unitCode: '19867', channel: 'in_person', status: 'finished', finishedAt: new Date('2025-03-10T02:00:00Z') });
  await Case.create({
    caseId: 'case-x', responseId: 'resp-report-3', dossierCode: bad, unitCode: '19867', procedureCode: 'P2',
    items: [{ element: 'TIEP_CAN', questionId: 'q1', value: 2, reasons: ['cho'] }, { element: 'TONG_THE', questionId: 'q6', value: 2, reasons: [] }],
    status: 'open', openedAt: new Date('2025-03-05T02:00:00Z'), dueAt: new Date('2025-03-08T02:00:00Z'), day: '2025-03-05',
  });
  await rebuildRollups({ redis, prefix });

  allKey = (await createApiKey({ name: 'Sở Nội vụ' })).key;
  newCommuneKey = (await createApiKey({ name: 'Xã Quảng Điền', unitCodes: ['QD-NEW'] })).key;
  app = createHttpServer({ bodyLimit: env.HTTP_BODY_LIMIT });
  await app.register(reportRoutes({ ctx: { env, log: logger, redis, prefix }, now: () => new Date('2025-04-01T00:00:00Z') }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('the district month report has the contract fields with exact shares, n and intervals', async () => {
  const r = await buildReport({ unit: '477', period: '2025-03', units: null, officerMinN: 5, now: new Date('2025-04-01T00:00:00Z') });
  expect(r.label).toBe('Chỉ số hài lòng tự đánh giá');
  expect(r.unitsIncluded).toEqual(['19867', '19882', '477']);
  expect(r.responses).toBe(4);
  expect(r.elements.TIEP_CAN).toMatchObject({ n: 4, satisfied: 3, index: 0.75 });
  expect(r.elements.TIEP_CAN.ci95!.low).toBeCloseTo(0.3006, 3);
  expect(r.elements.TIEP_CAN.ci95!.high).toBeCloseTo(0.9544, 3);
  expect(r.elements.PAKN).toMatchObject({ n: 3, satisfied: 2, na: 1 });
  expect(r.elements.PAKN.index).toBeCloseTo(2 / 3, 10);
  expect(r.overall.index).toBeCloseTo((0.75 * 4 + 2 / 3) / 5, 10);
  expect(r.responseRate).toMatchObject({ numerator: 4, denominator: 8, value: 0.5 });
  expect(r.ratio766).toMatchObject({ numerator: 7, denominator: 8, value: 0.875, dossiersWithDissatisfactionOrOpenCase: 1 });
  expect(r.cases).toMatchObject({ opened: 1, open: 1, overdue: 1, closed: 0 });
  expect(r.byChannel!.map((c) => [c.key, c.responses])).toEqual([['in_person', 2], ['online_4', 1], ['post', 1]]);
  // Officer A has 3 responses, B has 1: both under OFFICER_MIN_N = 5, so neither is shown.
  expect(r.byOfficer).toEqual({ minN: 5, withheld: 2, rows: [] });
  const lower = await buildReport({ unit: '477', period: '2025-03', units: null, officerMinN: 3 });
  expect(lower.byOfficer!.rows.map((o) => o.key)).toEqual(['A']);
  const p2 = await buildReport({ unit: '477', period: '2025-Q1', units: null, officerMinN: 5, procedure: 'P2', indexOnly: true });
  expect(p2.responses).toBe(1);
  expect(p2.elements.TIEP_CAN).toMatchObject({ n: 1, satisfied: 0, index: 0 });
});

test("a merged commune's figures include its predecessors' history", async () => {
  const year = await buildReport({ unit: 'QD-NEW', period: '2025', units: null, officerMinN: 5 });
  expect(year.unitsIncluded).toEqual(['19867', '19882', 'QD-NEW']);
  expect(year.responses).toBe(5);
  expect(year.trend!.map((t) => [t.period, t.responses])).toEqual([['2025-03', 4], ['2025-07', 1]]);
  const before = await buildReport({ unit: '19867', period: '2025', units: null, officerMinN: 5 });
  expect(before.responses).toBe(3);
});

test('ranking: ties, minimum n and units that existed at the period end', async () => {
  const march = await buildRanking({ parent: '477', period: '2025-03', units: null, minN: 2 });
  expect(march.rows.map((r) => [r.unitCode, r.rank, r.status])).toEqual([['19867', 1, 'ranked'], ['19882', null, 'chưa đủ dữ liệu']]);
  expect(march.rows[0].index).toBeCloseTo((4 * (2 / 3) + 0.5) / 5, 10);
  const after = await buildRanking({ parent: '46', period: '2025', units: null, minN: 1 });
  // 477 was abolished on 30/6/2025: the 2025 ranking under the province has the new commune only.
  expect(after.rows.map((r) => r.unitCode)).toEqual(['QD-NEW']);
  expect(after.rows[0].responses).toBe(5);
});

test('`hailong report --format json` prints the contract', async () => {
  const out = JSON.parse(await runCli('report', '--unit', '477', '--period', '2025-Q1', '--format', 'json')) as Record<string, unknown>;
  expect(out).toMatchObject({ unit: '477', period: '2025-Q1' });
  const elements = out.elements as Record<string, { n: number; satisfied: number; index: number; ci95: { low: number; high: number } }>;
  expect(Object.keys(elements)).toEqual(ELEMENTS);
  expect(elements.TONG_THE).toMatchObject({ n: 4, satisfied: 3, index: 0.75 });
  expect(out).toHaveProperty('overall.index');
  expect(out).toHaveProperty('responseRate.value', 0.5);
  expect(out).toHaveProperty('ratio766.value', 0.875);
  expect(JSON.stringify(out)).not.toMatch(/SIPAS/);
});

test('`hailong report --format xlsx` writes a workbook whose cells read back right', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hl-report-'));
  const file = path.join(dir, 'bao-cao.xlsx');
  await runCli('report', '--unit', '477', '--period', '2025-03', '--format', 'xlsx', '--out', file, '--min-n', '2');
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  expect(wb.worksheets.map((w) => w.name)).toEqual([
    SHEETS.summary, 'Tiếp cận dịch vụ', 'Thủ tục hành chính', 'Công chức', 'Kết quả', 'Góp ý, phản ánh, kiến nghị', 'Đánh giá chung', SHEETS.ranking, SHEETS.cases,
  ]);
  const s = wb.getWorksheet(SHEETS.summary)!;
  expect(String(s.getCell('A1').value)).toContain('TỰ ĐÁNH GIÁ');
  expect(s.getCell('B5').value).toEqual(new Date(Date.UTC(2025, 2, 1)));
  expect(s.getCell('B5').numFmt).toBe('dd/mm/yyyy');
  expect(s.getCell('B6').value).toEqual(new Date(Date.UTC(2025, 2, 31)));
  expect(s.getRow(10).values).toEqual([undefined, 'Yếu tố', 'Mã', 'Số ý kiến (n)', 'Hài lòng', 'Không hài lòng', 'Không áp dụng', 'Chỉ số', 'Cận dưới 95%', 'Cận trên 95%']);
  expect(s.getRow(11).getCell(2).value).toBe('TIEP_CAN');
  expect(s.getRow(11).getCell(3).value).toBe(4);
  expect(s.getRow(11).getCell(7).value).toBe(0.75);
  expect(s.getRow(11).getCell(7).numFmt).toBe('0.00%');
  const rk = wb.getWorksheet(SHEETS.ranking)!;
  expect(rk.getRow(2).values).toEqual([undefined, 1, '19867', 'Thị trấn Sịa', 3, expect.any(Number), expect.any(Number), expect.any(Number), '']);
  expect(String(rk.getRow(3).getCell(8).value)).toContain('chưa đủ dữ liệu');
  const cs = wb.getWorksheet(SHEETS.cases)!;
  expect(cs.getRow(1).getCell(1).value).toBe('Mã hồ sơ');
  expect(cs.getRow(2).getCell(4).value).toBe('Tiếp cận dịch vụ; Đánh giá chung');
  expect(cs.getRow(2).getCell(7).value).toEqual(new Date(Date.UTC(2025, 2, 5)));
  expect(cs.getRow(2).getCell(8).numFmt).toBe('dd/mm/yyyy');
  expect(cs.getRow(2).getCell(9).value).toBe('Chưa xử lý');
  const csv = await runCli('report', '--unit', '477', '--period', '2025-03', '--format', 'csv');
  expect(csv.startsWith('\ufeffĐơn vị,Kỳ,Yếu tố')).toBe(true);
  expect(csv).toContain('477,2025-03,Tiếp cận dịch vụ,TIEP_CAN,4,3,1,0,0.75,');
  expect((await readFile(file)).subarray(0, 2).toString()).toBe('PK');
});

async function get(url: string, key?: string) {
  const r = await fetch(base + url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: r.status, type: r.headers.get('content-type') ?? '', disposition: r.headers.get('content-disposition'), body: Buffer.from(await r.arrayBuffer()) };
}

test('a report file is named from the unit code made safe, whatever the unit query says', async () => {
  const csv = await get(`/api/v1/reports/indices?unit=${encodeURIComponent('Xã 1"; x=y')}&period=2025-03&format=csv`, allKey);
  expect(csv.status).toBe(200);
  expect(csv.disposition).toBe('attachment; filename=bao-cao-hai-long-X__1___x_y-2025-03.csv');
  expect(parseContentDisposition(csv.disposition!)).toEqual({ type: 'attachment', parameters: { filename: 'bao-cao-hai-long-X__1___x_y-2025-03.csv' } });
  const xlsx = await get('/api/v1/reports/indices?unit=477&period=2025-03&format=xlsx', allKey);
  expect(xlsx.disposition).toBe('attachment; filename=bao-cao-hai-long-477-2025-03.xlsx');
});

test('a unit that does not exist answers 404 on every report, for any key', async () => {
  const injected = encodeURIComponent(`477"; filename*=UTF-8''evil.exe; x="`);
  for (const url of [
    `/api/v1/reports/indices?unit=${injected}&period=2025-03&format=csv`,
    '/api/v1/reports/indices?unit=99999&period=2025-03',
    '/api/v1/reports/ranking?unit=99999&period=2025-03',
    '/api/v1/reports/flags?unit=99999&from=2025-03-01&to=2025-03-31',
    '/api/v1/reports/cases?unit=99999&period=2025',
  ]) {
    for (const k of [allKey, newCommuneKey]) {
      const r = await get(url, k);
      expect([url, r.status]).toEqual([url, 404]);
      expect((JSON.parse(r.body.toString()) as { error: string }).error).toBe('not_found');
      expect(r.disposition).toBeNull();
    }
  }
});

test('the API reads only the caller units and serves the same report', async () => {
  expect((await get('/api/v1/reports/indices?unit=477&period=2025-03')).status).toBe(401);
  const ok = await get('/api/v1/reports/indices?unit=477&period=2025-03', allKey);
  expect(ok.status).toBe(200);
  const json = JSON.parse(ok.body.toString()) as { elements: Record<string, { index: number }>; ratio766: { value: number } };
  expect(json.elements.TIEP_CAN.index).toBe(0.75);
  expect(json.ratio766.value).toBe(0.875);
  // A key of the merged commune sees its predecessors, not the old district.
  expect((await get('/api/v1/reports/indices?unit=477&period=2025-03', newCommuneKey)).status).toBe(403);
  const mine = await get('/api/v1/reports/indices?unit=19867&period=2025-03', newCommuneKey);
  expect(mine.status).toBe(200);
  expect((JSON.parse(mine.body.toString()) as { responses: number }).responses).toBe(3);
  expect((await get('/api/v1/reports/indices?unit=477&period=2025-13', allKey)).status).toBe(422);
  const xlsx = await get('/api/v1/reports/indices?unit=477&period=2025-03&format=xlsx', allKey);
  expect(xlsx.type).toContain('spreadsheetml');
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx.body as unknown as ArrayBuffer);
  expect(wb.getWorksheet(SHEETS.summary)!.getRow(11).getCell(7).value).toBe(0.75);
  const ranking = await get('/api/v1/reports/ranking?unit=477&period=2025-03&minN=2', allKey);
  expect((JSON.parse(ranking.body.toString()) as { rows: Array<{ rank: number | null }> }).rows.map((r) => r.rank)).toEqual([1, null]);
  const cases = await get('/api/v1/reports/cases?unit=QD-NEW&period=2025&status=open', newCommuneKey);
  const c = JSON.parse(cases.body.toString()) as { count: number; cases: Array<Record<string, unknown>> };
  expect(c.count).toBe(1);
  expect(c.cases[0]).toMatchObject({ dossierCode: expect.stringContaining('19867'), elements: ['TIEP_CAN', 'TONG_THE'] });
  expect(JSON.stringify(c)).not.toMatch(/phone|chatId/i);
});

test("the flags API lists a unit subtree's flags, only within the caller units, and refuses a bad range", async () => {
  const at = new Date('2025-03-10T03:00:00Z');
  await Flag.insertMany([
    { responseId: 'flag-sia', unitCode: '19867', day: '2025-03-10', reason: 'identical_burst', detail: '5 identical within 10 min', createdAt: at },
    { responseId: 'flag-qp', unitCode: '19882', day: '2025-03-11', reason: 'counter_network', detail: null, createdAt: at },
    { responseId: 'flag-hue', unitCode: '46', day: '2025-03-12', reason: 'shared_contact', detail: null, createdAt: at },
    { responseId: 'flag-late', unitCode: '19867', day: '2025-04-01', reason: 'shared_contact', detail: null, createdAt: at },
  ]);
  const all = await get('/api/v1/reports/flags?unit=477&from=2025-03-01&to=2025-03-31', allKey);
  expect(all.status).toBe(200);
  const body = JSON.parse(all.body.toString()) as { count: number; flags: Array<{ responseId: string; reason: string; excluded: boolean }> };
  expect(body.flags.map((f) => [f.responseId, f.reason, f.excluded])).toEqual([['flag-sia', 'identical_burst', false], ['flag-qp', 'counter_network', false]]);
  expect(body.count).toBe(2);
  // The merged commune's key sees its predecessors' flags, not the province's, and not the old district.
  const mine = JSON.parse((await get('/api/v1/reports/flags?unit=QD-NEW&from=2025-03-01&to=2025-03-31', newCommuneKey)).body.toString()) as { flags: Array<{ responseId: string }> };
  expect(mine.flags.map((f) => f.responseId)).toEqual(['flag-sia', 'flag-qp']);
  expect((await get('/api/v1/reports/flags?unit=477&from=2025-03-01&to=2025-03-31', newCommuneKey)).status).toBe(403);
  expect((await get('/api/v1/reports/flags?unit=46&from=2025-03-01&to=2025-03-31', newCommuneKey)).status).toBe(403);
  expect((await get('/api/v1/reports/flags?unit=477&from=2025-03-01&to=2025-03-31')).status).toBe(401);
  expect((await get('/api/v1/reports/flags?unit=477&from=2025-03-31&to=2025-03-01', allKey)).status).toBe(422);
  expect((await get('/api/v1/reports/flags?unit=477&from=2025-3-1&to=2025-03-31', allKey)).status).toBe(422);
});
