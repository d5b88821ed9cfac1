import { create as contentDisposition } from 'content-disposition';
import { z } from 'zod';
import { renderReport, type ReportFormat } from '../../../../indices/report-file';
import { invalid } from '../errors';
import { defineRoute, REPLIED, type HandlerContext } from '../route';
import { figureChannel, period, unitCode } from '../schemas';

const query = z.object({
  unit: unitCode,
  period,
  procedure: z.string().max(64).optional(),
  officer: z.string().max(64).optional(),
  channel: figureChannel.optional(),
});
type Query = z.output<typeof query>;

/**
 * The existing report files (workers/aggregation/report-file.ts: the CLI's `hailong report`
 * writes the same bytes) as downloads. Every export is audited.
 */
async function download(
  format: Exclude<ReportFormat, 'json'>,
  { query: q, scope, reply, audit, deps }: HandlerContext<unknown, Query, unknown, 'any'>,
): Promise<typeof REPLIED> {
  if ([q.procedure, q.officer, q.channel].filter(Boolean).length > 1)
    throw invalid([
      { path: 'procedure', in: 'query', message: 'filter by one of procedure, officer or channel' },
    ]);
  const file = await renderReport({
    unit: q.unit,
    period: q.period,
    units: await scope.list(),
    format,
    officerMinN: deps.ctx.env.OFFICER_MIN_N,
    ...(q.procedure ? { procedure: q.procedure } : {}),
    ...(q.officer ? { officer: q.officer } : {}),
    ...(q.channel ? { channel: q.channel } : {}),
  });
  await audit({
    action: 'report.exported',
    targetType: 'report',
    targetId: `${q.unit}/${file.report.period}`,
    unitCode: q.unit,
    details: { format, responses: file.report.responses },
  });
  await reply
    .status(200)
    .header('content-type', file.contentType)
    .header('content-disposition', contentDisposition(file.filename))
    .send(file.body);
  return REPLIED;
}

const EXPORT = {
  tag: 'reports',
  auth: 'any',
  permission: 'reports:export',
  scope: { kind: 'unit', in: 'query', field: 'unit' },
  query,
} as const;

export const reportRoutes = [
  defineRoute({
    ...EXPORT,
    id: 'reports.csv',
    method: 'GET',
    path: '/reports/export.csv',
    summary: 'Báo cáo CSV / the report of a unit subtree and period as CSV',
    description: 'UTF-8 with a byte-order mark (Excel opens it as is). Audited.',
    response: z.string().describe('CSV, UTF-8 with BOM'),
    produces: 'text/csv',
    handler: (c) => download('csv', c),
  }),
  defineRoute({
    ...EXPORT,
    id: 'reports.xlsx',
    method: 'GET',
    path: '/reports/export.xlsx',
    summary: 'Báo cáo Excel / the report as an XLSX workbook (figures, ranking, cases)',
    description: 'A4 landscape, one page wide, header rows repeated. Audited.',
    response: z.string().describe('an XLSX workbook (binary)'),
    produces: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    handler: (c) => download('xlsx', c),
  }),
];
