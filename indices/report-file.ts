import { FlowRepository } from '../bot/flow/repository';
import type { Flow } from '../bot/flow/schema';
import { Response } from '../models/response';
import { listCases, type CaseRow } from './case-list';
import { reportCsv } from './export-csv';
import { buildWorkbook } from './export-xlsx';
import { buildRanking } from './ranking';
import { buildReport, type Report, type ReportQuery } from './report';

export type ReportFormat = 'json' | 'csv' | 'xlsx';

export interface ReportFile {
  format: ReportFormat;
  contentType: string;
  filename: string;
  body: Buffer;
  report: Report;
}

/**
 * A file name part from a unit code: letters, digits, '.', '_' and '-' only, so that neither a
 * header (Content-Disposition) nor a path (the CLI's output file) can be steered by the code.
 */
export function fileNamePart(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
}

/** One place that renders a report in each format, for the CLI and the API alike. */
export async function renderReport(
  q: ReportQuery & { format: ReportFormat; rankingMinN?: number },
): Promise<ReportFile> {
  const report = await buildReport(q);
  const base = `bao-cao-hai-long-${fileNamePart(q.unit)}-${fileNamePart(report.period)}`;
  if (q.format === 'json') {
    return {
      format: 'json',
      contentType: 'application/json; charset=utf-8',
      filename: `${base}.json`,
      body: Buffer.from(JSON.stringify(report, null, 2) + '\n'),
      report,
    };
  }
  if (q.format === 'csv') {
    return {
      format: 'csv',
      contentType: 'text/csv; charset=utf-8',
      filename: `${base}.csv`,
      body: Buffer.from(reportCsv(report), 'utf8'),
      report,
    };
  }
  const [ranking, cases] = await Promise.all([
    buildRanking({
      parent: q.unit,
      period: q.period,
      units: q.units,
      ...(q.rankingMinN !== undefined ? { minN: q.rankingMinN } : {}),
    }),
    listCases({ unit: q.unit, period: q.period, units: q.units }),
  ]);
  const wb = await buildWorkbook({ report, ranking, cases, caseFlows: await caseFlows(cases), generatedAt: q.now ?? new Date() });
  const body = Buffer.from(await wb.xlsx.writeBuffer());
  return {
    format: 'xlsx',
    contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    filename: `${base}.xlsx`,
    body,
    report,
  };
}

/**
 * The flow version each case's response was given in: its scores and reasons read in that
 * version's words. A version that cannot be read leaves its cases with the stored values.
 */
async function caseFlows(cases: readonly CaseRow[]): Promise<Map<string, Flow>> {
  const flows = new Map<string, Flow>();
  if (cases.length === 0) return flows;
  const repo = new FlowRepository();
  const responses = await Response.find({ responseId: { $in: cases.map((c) => c.responseId) } }, { _id: 0, responseId: 1, flowKey: 1, flowVersion: 1 }).lean();
  for (const r of responses) {
    const flow = await repo.get(r.flowKey, r.flowVersion).catch(() => null);
    if (flow) flows.set(r.responseId, flow);
  }
  return flows;
}
