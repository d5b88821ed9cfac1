import type { FastifyInstance } from 'fastify';
import { parseEnv } from '../../config/env';
import type { RecordedAnswer } from '../../bot/engine/types';
import { publicResultsRoutes } from '../../bot/http/public/routes';
import { createHttpServer } from '../../bot/http/server';
import { ActionNote } from '../../models/action-note';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { loadTotals, sumTotals } from '../../indices/period-sum';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { buildReport, figuresOf, type Figures } from '../../indices/report';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * The public results pages against rollups built from known answers: figures equal the reports'
 * exactly, a unit below the minimum publishes nothing anywhere, and no personal data or free
 * text of the answers reaches any public response.
 */
const redis = testRedis();
const prefix = testPrefix('publicres');
const MIN_N = 10;
const env = parseEnv({
  NODE_ENV: 'test',
  PUBLIC_URL: 'http://127.0.0.1:9',
  PUBLIC_MIN_N: String(MIN_N),
  PUBLIC_CACHE_S: '0',
});
const NOW = new Date('2026-11-15T03:00:00Z');
const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
// What citizens and the one-stop system wrote: none of it may appear on a public page.
const OFFICER_NAME = 'Trần Thị Hoà';
const FREE_TEXTS = ['Ông Lê Văn Tám chờ quá lâu ở quầy số 3', 'Gọi lại cho tôi: 0912 345 678'];
const PHONE = '0912345678';
const SECRETS = [OFFICER_NAME, ...FREE_TEXTS, PHONE, '0912 345 678', 'Lê Văn Tám'];

let app: FastifyInstance;
let base = '';
let seq = 0;

async function respond(
  unitCode: string,
  at: string,
  value: number,
  text: string | null = null,
): Promise<void> {
  seq++;
  const dossierCode = `H57.${unitCode}-${String(seq).padStart(5, '0')}`;
  await Dossier.create({
    code: dossierCode,
    procedureCode: 'P1',
    unitCode,
    officerId: OFFICER_NAME,
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(at),
  });
  const answers: RecordedAnswer[] = ELEMENTS.map((element, i) => ({
    questionId: `q${i + 1}`,
    element,
    type: 'single_choice',
    value,
    text: null,
  }));
  if (text) answers.push({ questionId: 'gop_y', element: null, type: 'text', value: null, text });
  await storeCompletion(
    `resp-public-${seq}`,
    {
      dossierCode,
      unitCode,
      procedureCode: 'P1',
      officerId: OFFICER_NAME,
      dossierChannel: 'in_person',
      onlineLevel: null,
      surveyChannel: 'web',
      flowKey: 'default',
      flowVersion: 1,
      lang: 'vi',
      startedAt: at,
    },
    answers,
    new Date(at),
  );
}

async function get(path: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(base + path);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

beforeAll(async () => {
  await connectTestDb('publicres');
  await Unit.insertMany([
    { code: '46', name: 'Thành phố Huế', level: 'province' },
    { code: 'PA', name: 'Xã An Phú', level: 'commune', parentCode: '46' },
    { code: 'PB', name: 'Xã Bình Minh', level: 'commune', parentCode: '46' },
    { code: 'PC', name: 'Xã Cẩm Lệ', level: 'commune', parentCode: '46' },
  ]);
  // PA, October 2026: 9 answers of 5 and 3 of 2 (every element 9/12 = 75%); August: 10 of 4.
  for (let i = 0; i < 12; i++)
    await respond(
      'PA',
      `2026-10-${String(2 + i).padStart(2, '0')}T02:00:00Z`,
      i < 9 ? 5 : 2,
      i < 2 ? FREE_TEXTS[i]! : null,
    );
  for (let i = 0; i < 10; i++) await respond('PA', `2026-08-${String(3 + i).padStart(2, '0')}T02:00:00Z`, 4);
  // PB: three responses, under the minimum in every period.
  for (let i = 0; i < 3; i++) await respond('PB', `2026-10-0${3 + i}T02:00:00Z`, 5, FREE_TEXTS[0]!);
  // PC: eleven, all satisfied.
  for (let i = 0; i < 11; i++) await respond('PC', `2026-10-${String(10 + i)}T02:00:00Z`, 5);
  await rebuildRollups({ redis, prefix });
  await ActionNote.create({
    unitCode: 'PA',
    element: 'TIEP_CAN',
    date: '2026-09-20',
    text: 'Thêm ghế chờ và niêm yết phí',
    createdBy: 'truong.pa',
  });

  app = createHttpServer({ bodyLimit: env.HTTP_BODY_LIMIT });
  await app.register(publicResultsRoutes({ env, now: () => NOW }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
}, 180_000);

afterAll(async () => {
  await app?.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

interface Json {
  minN: number;
  periods: Array<{
    kind: string;
    key: string;
    published: boolean;
    responses: number | null;
    overall: { n: number; index: number; ci95: { low: number; high: number } } | null;
    elements: Array<{ code: string; share: { n: number; index: number; ci95: unknown } | null }>;
  }>;
  months: Array<{ key: string; published: boolean; overall: unknown }>;
  siblings: {
    rows: Array<{ code: string; rank: number | null; index: number | null; self: boolean }>;
  } | null;
  officers: unknown;
  notes: Array<{ date: string; text: string }>;
}

function expectSame(published: Json['periods'][number], f: Figures): void {
  expect(published.published).toBe(true);
  expect(published.responses).toBe(f.responses);
  expect(published.overall).toEqual({ n: f.overall.n, index: f.overall.index, ci95: f.overall.ci95 });
  for (const e of published.elements) {
    const s = f.elements[e.code]!;
    expect(e.share).toEqual({ n: s.n, index: s.index, ci95: s.ci95 });
  }
}

test("the unit's month, quarter and year equal the rollups' figures exactly", async () => {
  const r = await get('/ket-qua/PA.json');
  expect(r.status).toBe(200);
  const j = JSON.parse(r.text) as Json;
  expect(j.periods.map((p) => [p.kind, p.key])).toEqual([
    ['month', '2026-10'],
    ['quarter', '2026-Q3'],
    ['year', '2026'],
  ]);
  const [month, quarter, year] = j.periods;
  expectSame(
    month!,
    await buildReport({ unit: 'PA', period: '2026-10', units: null, officerMinN: 5, indexOnly: true }),
  );
  expectSame(
    quarter!,
    await buildReport({ unit: 'PA', period: '2026-Q3', units: null, officerMinN: 5, indexOnly: true }),
  );
  expectSame(year!, figuresOf(sumTotals(await loadTotals(['PA'], '2026-01-01', '2026-10-31'))));
  // Known answers: 9 of 12 satisfied on every element in October; 22 responses in the year.
  expect(month!.overall!.index).toBe(0.75);
  expect(month!.elements.find((e) => e.code === 'TIEP_CAN')!.share).toMatchObject({ n: 12, index: 0.75 });
  expect(year!.responses).toBe(22);
  expect(j.months.map((m) => m.key)).toEqual([
    '2025-11',
    '2025-12',
    ...Array.from({ length: 10 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`),
  ]);
  expect(j.months.filter((m) => m.published).map((m) => m.key)).toEqual(['2026-08', '2026-10']);

  const page = await get('/ket-qua/PA');
  expect(page.status).toBe(200);
  expect(page.text).toContain('Xã An Phú');
  expect(page.text).toContain('75,0%');
  expect(page.text).toContain('12 phiếu');
  expect(page.text).toContain('Thêm ghế chờ và niêm yết phí');
  expect(page.text).toContain('<svg class="chart"');
  // PC (100%) ranks first, PA second, PB is not ranked.
  expect(j.siblings!.rows.map((x) => [x.code, x.rank])).toEqual([
    ['PC', 1],
    ['PA', 2],
    ['PB', null],
  ]);
  expect(page.text).toContain('Đơn vị xếp thứ <strong>2</strong> trong 2 đơn vị đủ số phiếu.');
});

test('a unit below the minimum shows "chưa đủ số phiếu" and publishes nothing (page, embed, open data)', async () => {
  const json = JSON.parse((await get('/ket-qua/PB.json')).text) as Json;
  for (const p of [...json.periods, ...json.months])
    expect(p).toMatchObject({ published: false, overall: null });
  for (const p of json.periods) expect(p).toMatchObject({ responses: null, elements: [] });
  const page = await get('/ket-qua/PB');
  const embed = await get('/ket-qua/PB/embed');
  const csv = await get('/ket-qua/PB.csv');
  // Its own figures: everything before the siblings' table (which shows the published neighbours).
  for (const html of [page.text.split('So với các đơn vị cùng cấp')[0]!, embed.text]) {
    expect(html.toLowerCase()).toContain('chưa đủ số phiếu');
    expect(html).not.toMatch(/\d+,\d%/);
    expect(html).not.toContain('3 phiếu');
  }
  const rows = csv.text.trim().split('\r\n').slice(1);
  expect(rows).toHaveLength(14);
  // published = 0, and every figure column empty.
  for (const row of rows) expect(row).toMatch(/,OVERALL,Chỉ số chung,0,,,,,$/);
  // In the ranking of its siblings it has no index either.
  const pa = JSON.parse((await get('/ket-qua/PA.json')).text) as Json;
  expect(pa.siblings!.rows.find((x) => x.code === 'PB')).toMatchObject({ rank: null, index: null });
});

test('no name, phone or free text of the answers in any public response', async () => {
  const responses = await Promise.all(
    [
      '/ket-qua',
      ...['PA', 'PB', 'PC'].flatMap((u) => [
        `/ket-qua/${u}`,
        `/ket-qua/${u}/embed`,
        `/ket-qua/${u}.json`,
        `/ket-qua/${u}.csv`,
      ]),
    ].map(get),
  );
  for (const r of responses) {
    expect(r.status).toBe(200);
    for (const s of SECRETS) expect(r.text).not.toContain(s);
    expect(r.text).not.toContain(JSON.stringify(OFFICER_NAME).slice(1, -1));
    expect(r.headers.get('set-cookie')).toBeNull();
  }
  // Officers' indices only when the unit chooses to publish them: then by the officer key, from the minimum up.
  const before = JSON.parse((await get('/ket-qua/PA.json')).text) as Json;
  expect(before.officers).toBeNull();
  await Unit.updateOne({ code: 'PA' }, { $set: { publishOfficerIndices: true } });
  const after = JSON.parse((await get('/ket-qua/PA.json')).text) as Json;
  expect(after.officers).toMatchObject({
    period: '2026-10',
    rows: [{ officer: OFFICER_NAME, responses: 12 }],
  });
  await Unit.updateOne({ code: 'PA' }, { $set: { publishOfficerIndices: false } });
});

test('security headers: a CSP that allows only the inline style, framing only for the embed', async () => {
  const page = await get('/ket-qua/PA');
  const csp = page.headers.get('content-security-policy')!;
  expect(csp).toMatch(/default-src 'none'/);
  expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
  expect(csp).toMatch(/frame-ancestors 'none'/);
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.text).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
  const embed = await get('/ket-qua/PA/embed');
  expect(embed.headers.get('content-security-policy')).toMatch(/frame-ancestors \*/);
  expect(embed.headers.get('x-frame-options')).toBeNull();
  const json = await get('/ket-qua/PA.json');
  expect(json.headers.get('access-control-allow-origin')).toBe('*');
  expect((await get('/ket-qua/KHONG-CO')).status).toBe(404);
  expect((await get('/ket-qua/KHONG-CO.json')).status).toBe(404);
  expect((await get('/ket-qua/%3Cscript%3E')).status).toBe(404);
});
