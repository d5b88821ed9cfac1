import ExcelJS from 'exceljs';
import type { Flow } from '../bot/flow/schema';
import { hcm } from '../lib/time';
import { answerLabel, questionsOf, reasonLabels } from './answer-labels';
import { ELEMENT_NAMES_VI, NOT_ENOUGH_DATA } from './formula';
import type { CaseRow } from './case-list';
import type { RankingRow } from './ranking';
import type { Figures, Report } from './report';

/**
 * The workbook a Department of Home Affairs files: a summary sheet, one sheet per element, the
 * ranking, the cases. Vietnamese headers and labels (element names, channels, the words of each
 * score and reason in the flow version the citizen answered); dates are real date cells shown
 * dd/mm/yyyy, holding the Asia/Ho_Chi_Minh calendar date (Excel has no time zones). Every sheet
 * prints on A4 landscape, one page wide, its header rows repeated on each page.
 */
export const SHEETS = { summary: 'Tổng hợp', ranking: 'Xếp hạng', cases: 'Phiếu không hài lòng' } as const;
const DATE_FMT = 'dd/mm/yyyy';
const PCT_FMT = '0.00%';

/** The HCM calendar date of an instant as a UTC-midnight Date, so Excel shows that date. */
export function excelDate(d: Date): Date {
  const t = hcm(d);
  return new Date(Date.UTC(t.year, t.month - 1, t.day));
}

function dayDate(day: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function header(ws: ExcelJS.Worksheet, values: string[]): void {
  const row = ws.addRow(values);
  row.font = { bold: true };
  row.eachCell((c) => {
    c.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFDDEBF7' } };
    c.border = { bottom: { style: 'thin' } };
  });
}

/** Channel breakdown keys (workers/aggregation/rollups/bucket.ts channelKey) as an official reads them. */
const CHANNEL_VI: Record<string, string> = {
  in_person: 'Trực tiếp',
  online: 'Trực tuyến',
  online_3: 'Trực tuyến mức độ 3',
  online_4: 'Trực tuyến toàn trình (mức độ 4)',
  post: 'Bưu chính',
  unknown: 'Không rõ',
};

/** Printing: A4 landscape, all columns on one page wide (as many pages down as needed), `titleRows` repeated on each page and frozen on screen. */
function printSetup(ws: ExcelJS.Worksheet, titleRows: number): void {
  ws.pageSetup = {
    ...ws.pageSetup,
    paperSize: 9,
    orientation: 'landscape',
    fitToPage: true,
    fitToWidth: 1,
    fitToHeight: 0,
    printTitlesRow: `1:${titleRows}`,
    margins: { left: 0.4, right: 0.4, top: 0.5, bottom: 0.5, header: 0.3, footer: 0.3 },
  };
  ws.headerFooter = { oddFooter: '&L&A&RTrang &P / &N' };
  ws.views = [{ state: 'frozen', ySplit: titleRows }];
}

const SHARE_HEADERS = ['Số ý kiến (n)', 'Hài lòng', 'Không hài lòng', 'Không áp dụng', 'Chỉ số', 'Cận dưới 95%', 'Cận trên 95%'];

function shareCells(s: Figures['overall']): Array<number | null> {
  return [s.n, s.satisfied, s.dissatisfied, s.na, s.index, s.ci95?.low ?? null, s.ci95?.high ?? null];
}

function pctColumns(ws: ExcelJS.Worksheet, cols: number[]): void {
  for (const c of cols) ws.getColumn(c).numFmt = PCT_FMT;
}

export interface WorkbookInput {
  report: Report;
  ranking: { minN: number; rows: RankingRow[] } | null;
  cases: CaseRow[];
  /** The flow version of each case's response, by response id (report-file.ts). */
  caseFlows?: ReadonlyMap<string, Flow>;
  generatedAt: Date;
}

export async function buildWorkbook(input: WorkbookInput): Promise<ExcelJS.Workbook> {
  const { report: r } = input;
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Hài Lòng';
  wb.created = input.generatedAt;

  const s = wb.addWorksheet(SHEETS.summary);
  s.addRow([`BÁO CÁO ${r.label.toUpperCase()}`]).font = { bold: true, size: 14 };
  s.addRow(['(Kết quả tự đánh giá qua khảo sát trực tuyến, không phải kết quả SIPAS chính thức của Bộ Nội vụ)']);
  s.addRow(['Đơn vị', r.unitName ? `${r.unitName} (${r.unit})` : r.unit]);
  s.addRow(['Kỳ báo cáo', r.period]);
  s.addRow(['Từ ngày', dayDate(r.from)]).getCell(2).numFmt = DATE_FMT;
  s.addRow(['Đến ngày', dayDate(r.to)]).getCell(2).numFmt = DATE_FMT;
  s.addRow(['Ngày lập', excelDate(input.generatedAt)]).getCell(2).numFmt = DATE_FMT;
  s.addRow(['Phiên bản công thức', r.formulaVersion]);
  s.addRow([]);
  header(s, ['Yếu tố', 'Mã', ...SHARE_HEADERS]);
  for (const [code, share] of Object.entries(r.elements)) s.addRow([ELEMENT_NAMES_VI[code] ?? code, code, ...shareCells(share)]);
  s.addRow(['Chỉ số chung (trung bình 5 yếu tố)', 'CHUNG', ...shareCells(r.overall)]).font = { bold: true };
  s.addRow([]);
  header(s, ['Chỉ tiêu', 'Tử số', 'Mẫu số', 'Tỷ lệ']);
  s.addRow(['Số phiếu hoàn thành', r.responses, null, null]);
  s.addRow(['Số phiếu bị loại (kiểm tra bất thường)', r.excludedResponses, null, null]);
  s.addRow(['Tỷ lệ phản hồi (phiếu / hồ sơ hoàn thành)', r.responseRate.numerator, r.responseRate.denominator, r.responseRate.value]);
  s.addRow(['Tỷ lệ hồ sơ không bị phản ánh không hài lòng (QĐ 766)', r.ratio766.numerator, r.ratio766.denominator, r.ratio766.value]);
  if (r.cases) s.addRow(['Phiếu không hài lòng xử lý đúng hạn', r.cases.onTime.numerator, r.cases.onTime.denominator, r.cases.onTime.value]);
  s.getColumn(1).width = 52;
  s.getColumn(2).width = 22;
  for (let c = 3; c <= 9; c++) s.getColumn(c).width = 14;
  // Percent format only on the share cells, not on counts.
  s.eachRow((row) => {
    const label = row.getCell(1).value;
    if (typeof label === 'string' && label.startsWith('Tỷ lệ')) row.getCell(4).numFmt = PCT_FMT;
    else if (typeof row.getCell(2).value === 'string' && typeof row.getCell(3).value === 'number') [7, 8, 9].forEach((c) => (row.getCell(c).numFmt = PCT_FMT));
  });
  printSetup(s, 2);

  for (const code of Object.keys(r.elements)) {
    const ws = wb.addWorksheet((ELEMENT_NAMES_VI[code] ?? code).slice(0, 31));
    ws.addRow([`${ELEMENT_NAMES_VI[code] ?? code} (${code})`]).font = { bold: true };
    header(ws, ['Nhóm', 'Giá trị', 'Số phiếu', ...SHARE_HEADERS]);
    ws.addRow(['Toàn đơn vị', r.unit, r.responses, ...shareCells(r.elements[code])]);
    const groups: Array<[string, Array<Figures & { key: string }> | undefined]> = [
      ['Kênh nộp hồ sơ', r.byChannel],
      ['Thủ tục', r.byProcedure],
      ['Cán bộ tiếp nhận', r.byOfficer?.rows],
    ];
    for (const [label, rows] of groups) for (const g of rows ?? []) ws.addRow([label, label === 'Kênh nộp hồ sơ' ? (CHANNEL_VI[g.key] ?? g.key) : g.key, g.responses, ...shareCells(g.elements[code])]);
    if (r.byOfficer && r.byOfficer.withheld > 0) ws.addRow([`Không hiển thị ${r.byOfficer.withheld} cán bộ có dưới ${r.byOfficer.minN} phiếu`]);
    pctColumns(ws, [8, 9, 10]);
    ws.getColumn(1).width = 20;
    ws.getColumn(2).width = 30;
    printSetup(ws, 2);
  }

  const rk = wb.addWorksheet(SHEETS.ranking);
  header(rk, ['Hạng', 'Mã đơn vị', 'Tên đơn vị', 'Số phiếu', 'Chỉ số chung', 'Cận dưới 95%', 'Cận trên 95%', 'Ghi chú']);
  for (const row of input.ranking?.rows ?? [])
    rk.addRow([row.rank, row.unitCode, row.name, row.responses, row.index, row.ci95?.low ?? null, row.ci95?.high ?? null, row.status === NOT_ENOUGH_DATA ? `${NOT_ENOUGH_DATA} (dưới ${input.ranking!.minN} phiếu)` : '']);
  pctColumns(rk, [5, 6, 7]);
  rk.getColumn(3).width = 30;
  rk.getColumn(8).width = 30;
  printSetup(rk, 1);

  const cs = wb.addWorksheet(SHEETS.cases);
  header(cs, ['Mã hồ sơ', 'Mã đơn vị', 'Thủ tục', 'Yếu tố', 'Điểm', 'Lý do', 'Ngày mở', 'Hạn xử lý', 'Trạng thái', 'Ngày đóng', 'Đúng hạn', 'Chuyển lên']);
  const STATUS_VI: Record<string, string> = { open: 'Chưa xử lý', in_progress: 'Đang xử lý', closed: 'Đã xử lý' };
  for (const c of input.cases) {
    // Scores and reasons in the words of the version the citizen answered (stored: values, codes).
    const flow = input.caseFlows?.get(c.responseId);
    const questions = flow ? questionsOf(flow) : null;
    const score = (i: CaseRow['items'][number]) => {
      const node = questions?.get(i.questionId);
      return node ? answerLabel(node, i.value) : i.value;
    };
    const row = cs.addRow([
      c.dossierCode,
      c.unitCode,
      c.procedureCode,
      c.items.map((i) => ELEMENT_NAMES_VI[i.element] ?? i.element).join('; '),
      c.items.map(score).join('; '),
      c.items.flatMap((i) => (flow ? reasonLabels(flow, i.element, i.reasons) : i.reasons)).join('; '),
      excelDate(c.openedAt),
      excelDate(c.dueAt),
      STATUS_VI[c.status] ?? c.status,
      c.closedAt ? excelDate(c.closedAt) : null,
      c.closedOnTime === null ? '' : c.closedOnTime ? 'Có' : 'Không',
      c.escalatedTo ?? '',
    ]);
    [7, 8, 10].forEach((i) => (row.getCell(i).numFmt = DATE_FMT));
  }
  cs.getColumn(1).width = 28;
  [4, 5, 6].forEach((c) => (cs.getColumn(c).width = 32));
  [6].forEach((c) => (cs.getColumn(c).alignment = { wrapText: true, vertical: 'top' }));
  printSetup(cs, 1);
  return wb;
}
