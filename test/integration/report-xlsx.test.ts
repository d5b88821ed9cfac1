import ExcelJS from 'exceljs';
import { defaultFlowV1 } from '../../bot/flow/default-flow-v1';
import { FlowRepository } from '../../bot/flow/repository';
import { runSeed } from '../../cli/commands/seed';
import { SUCCESSORS } from '../../cli/seed-data/units';
import { Case } from '../../models/case';
import { SHEETS } from '../../indices/export-xlsx';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { renderReport } from '../../indices/report-file';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { meta, reasons, scale } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * The XLSX report speaks the flow's language (element names, channels, each score and reason in
 * the words of the version the citizen answered) and prints well: every sheet A4 landscape, one
 * page wide, its header rows repeated on every page.
 */
const redis = testRedis();
const prefix = testPrefix('reportxlsx');
const unit = SUCCESSORS.danDien;

async function dissatisfied(responseId: string, flowVersion: number, day: string): Promise<void> {
  await storeCompletion(
    responseId,
    meta({ dossierCode: `HS-${responseId}`, unitCode: unit, flowVersion }),
    [
      scale('q1', 'TIEP_CAN', 2),
      reasons('r1', 'TIEP_CAN', ['cho', 'kho_tim']),
      scale('q5', 'PAKN', 0),
      scale('q6', 'TONG_THE', 1),
    ],
    new Date(`${day}T03:00:00Z`),
  );
  await Case.create({
    caseId: `case-${responseId}`,
    responseId,
    dossierCode: `HS-${responseId}`,
    unitCode: unit,
    procedureCode: 'DEMO-HT-KHAISINH',
    items: [
      { element: 'TIEP_CAN', questionId: 'q1', value: 2, reasons: ['cho', 'kho_tim'] },
      { element: 'TONG_THE', questionId: 'q6', value: 1, reasons: [] },
    ],
    status: 'open',
    openedAt: new Date(`${day}T03:00:00Z`),
    dueAt: new Date(`${day}T23:00:00Z`),
    day,
  });
}

let wb: ExcelJS.Workbook;

beforeAll(async () => {
  await connectTestDb('reportxlsx');
  await runSeed();
  await dissatisfied('resp-xlsx-1', 1, '2025-09-02');
  // A new version (after the seeded default@1 and @2) words v1's "long wait" reason differently;
  // its case must use those words.
  const reworded = await new FlowRepository().publish({
    ...defaultFlowV1,
    nodes: defaultFlowV1.nodes.map((n) =>
      n.id === 'r1' && n.type === 'multi_choice'
        ? {
            ...n,
            options: n.options.map((o) =>
              o.value === 'cho'
                ? { ...o, label: { vi: 'Phải chờ quá 30 phút', en: 'Waited over 30 minutes' } }
                : o,
            ),
          }
        : n,
    ),
  });
  await dissatisfied('resp-xlsx-2', reworded.version, '2025-09-03');
  for (let i = 0; i < 40; i++)
    await storeCompletion(
      `resp-xlsx-ok-${i}`,
      meta({
        dossierCode: `HS-OK-${i}`,
        unitCode: unit,
        dossierChannel: i % 2 ? 'online' : 'in_person',
        onlineLevel: i % 2 ? 4 : null,
      }),
      [scale('q1', 'TIEP_CAN', 5), scale('q6', 'TONG_THE', 5)],
      new Date(`2025-09-${String(4 + (i % 20)).padStart(2, '0')}T03:00:00Z`),
    );
  await rebuildRollups({ redis, prefix });
  const file = await renderReport({
    unit,
    period: '2025-09',
    units: null,
    format: 'xlsx',
    officerMinN: 5,
    now: new Date('2025-10-01T00:00:00Z'),
  });
  wb = new ExcelJS.Workbook();
  await wb.xlsx.load(file.body as unknown as ArrayBuffer);
});

afterAll(async () => {
  await dropTestDb();
  await clearPrefix(redis, prefix);
  redis.disconnect();
});

test('the cases sheet shows element names, scores in words and reasons as labels of their own version', () => {
  const cs = wb.getWorksheet(SHEETS.cases)!;
  const row = (n: number) => (cs.getRow(n).values as unknown[]).slice(1, 7);
  expect(row(2)).toEqual([
    `HS-resp-xlsx-1`,
    unit,
    'DEMO-HT-KHAISINH',
    'Tiếp cận dịch vụ; Đánh giá chung',
    '2. Không hài lòng; 1. Rất không hài lòng',
    'Chờ lâu, thiếu chỗ; Khó tìm, thiếu hướng dẫn',
  ]);
  expect(row(3)).toEqual([
    `HS-resp-xlsx-2`,
    unit,
    'DEMO-HT-KHAISINH',
    'Tiếp cận dịch vụ; Đánh giá chung',
    '2. Không hài lòng; 1. Rất không hài lòng',
    'Phải chờ quá 30 phút; Khó tìm, thiếu hướng dẫn',
  ]);
});

test('channel breakdowns are named, not coded', () => {
  const ws = wb.getWorksheet('Tiếp cận dịch vụ')!;
  const channels: unknown[] = [];
  ws.eachRow((r) => {
    if (r.getCell(1).value === 'Kênh nộp hồ sơ') channels.push(r.getCell(2).value);
  });
  expect(channels.sort()).toEqual(['Trực tiếp', 'Trực tuyến toàn trình (mức độ 4)']);
});

test('every sheet prints A4 landscape, one page wide, with its header rows repeated', () => {
  expect(wb.worksheets.length).toBe(9);
  for (const ws of wb.worksheets) {
    expect({ sheet: ws.name, ...ws.pageSetup }).toMatchObject({
      sheet: ws.name,
      paperSize: 9,
      orientation: 'landscape',
      fitToPage: true,
      fitToWidth: 1,
      fitToHeight: 0,
    });
    expect(ws.pageSetup.printTitlesRow).toBe(
      [SHEETS.ranking, SHEETS.cases].includes(ws.name as never) ? '1:1' : '1:2',
    );
  }
});
