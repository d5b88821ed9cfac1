import { PassThrough } from 'node:stream';
import { create as contentDisposition } from 'content-disposition';
import { z } from 'zod';
import { callerCan, type Caller } from '../../../../lib/auth/caller';
import type { Scope } from '../../../../lib/auth/scope';
import { parsePeriod } from '../../../../lib/time';
import { Answer } from '../../../../models/answer';
import { Response, type ResponseDoc } from '../../../../models/response';
import { ELEMENTS } from '../../../../indices/formula';
import { writeResponsesCsv, writeResponsesXlsx } from '../../../../indices/response-export';
import { forbidden, invalid } from '../errors';
import { defineRoute, REPLIED, type HandlerContext } from '../route';
import { figureChannel, iso, isoDate, limit, period, unitCode } from '../schemas';

const answerBody = z.object({
  questionId: z.string(),
  element: z.string().nullable(),
  type: z.string(),
  value: z.union([z.number(), z.string(), z.array(z.string()), z.null()]),
  hasText: z.boolean().describe('whether the citizen wrote free text here'),
  text: z.string().nullable().optional().describe('the free text: only with includeText=true (audited)'),
});

const responseBody = z
  .object({
    responseId: z.string(),
    dossierCode: z.string().nullable(),
    unitCode: z.string().nullable(),
    procedureCode: z.string().nullable(),
    officerId: z.string().nullable(),
    channel: z.string().nullable().describe('how the dossier was filed: in_person, online, post'),
    onlineLevel: z.number().int().nullable(),
    surveyChannel: z.string().describe('where the survey was answered: telegram, zalo, web'),
    flowKey: z.string(),
    flowVersion: z.number().int(),
    completedAt: isoDate.nullable(),
    day: z.string().nullable(),
    dissatisfied: z.boolean(),
    excluded: z.object({ at: isoDate, reason: z.string().nullable() }).nullable(),
    answers: z.array(answerBody),
  })
  .meta({ id: 'Response' });

const filters = z.object({
  responseId: z
    .string()
    .max(100)
    .optional()
    .describe('one response by its id (still within the caller’s units: outside them the list is empty)'),
  unit: unitCode
    .optional()
    .describe('a unit and what lies below or was merged into it; default: all the caller’s units'),
  procedure: z.string().max(64).optional(),
  officer: z.string().max(64).optional(),
  channel: figureChannel.optional(),
  surveyChannel: z.enum(['telegram', 'zalo', 'web']).optional(),
  period: period.optional(),
  rating: z
    .enum(['dissatisfied', 'not_dissatisfied'])
    .optional()
    .describe('dissatisfied: a score of 1 or 2 somewhere'),
  score: z
    .string()
    .regex(/^[1-5](-[1-5])?$/, 'a score 1 to 5, or a range such as 1-2 or 4-5')
    .optional()
    .describe('responses with a satisfaction score (1 to 5) in this range; with `element`, for that element'),
  element: z
    .enum(ELEMENTS)
    .optional()
    .describe('the index element whose score `score` filters (needs `score`)'),
  includeText: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('include free-text answers (permission freeText:read; every such read is audited)'),
});
const query = filters.extend({
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
  limit,
});
type Filters = z.output<typeof filters>;

/** A page boundary: the last response's completion time and id (newest first). */
function decodeCursor(cursor: string): { at: Date; id: string } {
  const [ms, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('_');
  const at = new Date(Number(ms));
  const id = rest.join('_');
  if (!ms || Number.isNaN(at.getTime()) || !id)
    throw invalid([{ path: 'cursor', in: 'query', message: 'not a cursor of this list' }]);
  return { at, id };
}
const encodeCursor = (r: ResponseDoc) =>
  Buffer.from(`${r.completedAt!.getTime()}_${r.responseId}`, 'utf8').toString('base64url');

function channelFilter(channel: z.output<typeof figureChannel>): Record<string, unknown> {
  if (channel === 'online_3' || channel === 'online_4')
    return { dossierChannel: 'online', onlineLevel: Number(channel.slice(-1)) };
  if (channel === 'unknown') return { dossierChannel: null };
  return { dossierChannel: channel };
}

/** The score range of `score` ("4" or "1-2"); 422 when the range runs backwards or `element` comes alone. */
function scoreRange(q: {
  score?: string | undefined;
  element?: string | undefined;
}): [number, number] | null {
  if (!q.score) {
    if (q.element)
      throw invalid([{ path: 'element', in: 'query', message: 'element narrows score: give score too' }]);
    return null;
  }
  const [lo, hi = lo] = q.score.split('-').map(Number) as [number, number?];
  if (hi < lo)
    throw invalid([{ path: 'score', in: 'query', message: 'the lower score comes first (1-2, not 2-1)' }]);
  return [lo, hi];
}

/**
 * The responses that gave a score in [lo, hi] (to `element`, or to any element), within the
 * units and days of the other filters. Answers carry their response's unit and day once it
 * completes, which is all the list shows.
 */
async function scoredResponseIds(
  range: [number, number],
  element: string | undefined,
  codes: string[] | null,
  days: { $gte: string; $lte: string } | null,
): Promise<string[]> {
  const f: Record<string, unknown> = {
    element: element ?? { $ne: null },
    value: { $gte: range[0], $lte: range[1] },
  };
  if (codes) f.unitCode = { $in: codes };
  if (days) f.day = days;
  const rows = await Answer.find(f, { responseId: 1 }).lean();
  return [...new Set(rows.map((r) => r.responseId))];
}

/** 403 unless the caller may read free text, when it asks for it. */
function checkText(q: Filters, caller: Caller): void {
  if (q.includeText && !callerCan(caller, 'freeText:read'))
    throw forbidden('Ông/Bà không có quyền đọc ý kiến tự do. / Free-text answers are not for this role.');
}

/** The Response query of the filters, within the caller's units (the list and the exports). */
async function responseFilter(q: Filters, scope: Scope): Promise<Record<string, unknown>> {
  const range = scoreRange(q);
  const codes = q.unit ? await scope.within(q.unit) : await scope.list();
  const f: Record<string, unknown> = { status: 'completed' };
  if (codes) f.unitCode = { $in: codes };
  if (q.responseId) f.responseId = q.responseId;
  if (q.procedure) f.procedureCode = q.procedure;
  if (q.officer) f.officerId = q.officer;
  if (q.channel) Object.assign(f, channelFilter(q.channel));
  if (q.surveyChannel) f.surveyChannel = q.surveyChannel;
  if (q.rating) f.dissatisfied = q.rating === 'dissatisfied';
  let days: { $gte: string; $lte: string } | null = null;
  if (q.period) {
    const p = parsePeriod(q.period);
    days = { $gte: p.firstDay, $lte: p.lastDay };
    f.day = days;
  }
  if (range) {
    const scored = await scoredResponseIds(range, q.element, codes, days);
    f.responseId = q.responseId ? { $in: scored.filter((id) => id === q.responseId) } : { $in: scored };
  }
  return f;
}

/**
 * The filtered responses as a download (indices/response-export.ts, the CLI's columns), free
 * text only with includeText for freeText:read. Audited as `responses.exported` with the
 * filters and the number of rows, never the text.
 */
async function download(
  format: 'csv' | 'xlsx',
  { query: q, scope, caller, reply, audit }: HandlerContext<unknown, Filters, unknown, 'any'>,
): Promise<typeof REPLIED> {
  checkText(q, caller);
  const filter = await responseFilter(q, scope);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const write = format === 'csv' ? writeResponsesCsv : writeResponsesXlsx;
  const { rows } = await write(out, filter, { freeText: q.includeText });
  // The filters given, as `key=value` (the audit's details are flat).
  const given = Object.entries(q)
    .filter(([k, v]) => k !== 'includeText' && v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`);
  await audit({
    action: 'responses.exported',
    targetType: 'response',
    targetId: '-',
    unitCode: q.unit ?? null,
    details: { format, responses: rows, includeText: q.includeText, filters: given },
  });
  const name = `phieu-tra-loi-${q.unit ?? 'tat-ca'}${q.period ? `-${q.period}` : ''}.${format}`;
  await reply
    .status(200)
    .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : XLSX)
    .header('content-disposition', contentDisposition(name))
    .send(Buffer.concat(chunks));
  return REPLIED;
}

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const EXPORT = {
  tag: 'responses',
  auth: 'any',
  permission: 'responses:read',
  scope: { kind: 'unit', in: 'query', field: 'unit' },
  query: filters,
} as const;

export const responseRoutes = [
  defineRoute({
    id: 'responses.list',
    method: 'GET',
    path: '/responses',
    tag: 'responses',
    summary: 'Phiếu trả lời / completed responses, newest first, filtered, a page at a time',
    description:
      'Ratings and choices of each response. Free-text answers only with `includeText=true`, for roles ' +
      'with freeText:read (never a viewer or an API key), and every such read is written to the audit log. ' +
      'A page ends with `nextCursor` (null on the last page).',
    auth: 'any',
    permission: 'responses:read',
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query,
    response: z.object({ responses: z.array(responseBody), nextCursor: z.string().nullable() }),
    handler: async ({ query: q, scope, caller, audit }) => {
      checkText(q, caller);
      const f = await responseFilter(q, scope);
      if (q.cursor) {
        const c = decodeCursor(q.cursor);
        f.$or = [{ completedAt: { $lt: c.at } }, { completedAt: c.at, responseId: { $lt: c.id } }];
      }
      const docs = await Response.find(f).sort({ completedAt: -1, responseId: -1 }).limit(q.limit).lean();
      const answers = docs.length
        ? await Answer.find({ responseId: { $in: docs.map((d) => d.responseId) } })
            .sort({ questionId: 1 })
            .lean()
        : [];
      const byResponse = new Map<string, typeof answers>();
      for (const a of answers) byResponse.set(a.responseId, [...(byResponse.get(a.responseId) ?? []), a]);
      if (q.includeText) {
        const withText = docs.filter((d) => byResponse.get(d.responseId)?.some((a) => a.text));
        await audit({
          action: 'responses.free_text_read',
          targetType: 'response',
          targetId: withText.length === 1 ? withText[0]!.responseId : '-',
          unitCode: q.unit ?? null,
          details: { responses: withText.length, responseIds: withText.map((d) => d.responseId) },
        });
      }
      const last = docs[docs.length - 1];
      return {
        responses: docs.map((d) => ({
          responseId: d.responseId,
          dossierCode: d.dossierCode ?? null,
          unitCode: d.unitCode ?? null,
          procedureCode: d.procedureCode ?? null,
          officerId: d.officerId ?? null,
          channel: d.dossierChannel ?? null,
          onlineLevel: d.onlineLevel ?? null,
          surveyChannel: d.surveyChannel,
          flowKey: d.flowKey,
          flowVersion: d.flowVersion,
          completedAt: iso(d.completedAt),
          day: d.day ?? null,
          dissatisfied: d.dissatisfied,
          excluded: d.excluded?.at
            ? { at: d.excluded.at.toISOString(), reason: d.excluded.reason ?? null }
            : null,
          answers: (byResponse.get(d.responseId) ?? []).map((a) => ({
            questionId: a.questionId,
            element: a.element ?? null,
            type: a.type,
            value: (a.value ?? null) as number | string | string[] | null,
            hasText: !!a.text,
            ...(q.includeText ? { text: a.text ?? null } : {}),
          })),
        })),
        nextCursor: docs.length === q.limit && last?.completedAt ? encodeCursor(last) : null,
      };
    },
  }),
  defineRoute({
    ...EXPORT,
    id: 'responses.csv',
    method: 'GET',
    path: '/responses/export.csv',
    summary: 'Xuất phiếu trả lời CSV / the filtered responses as CSV, one row per response',
    description:
      'The filters of GET /responses. UTF-8 with a byte-order mark; a cell starting with = + - @ is escaped. ' +
      'Free text only with includeText=true (freeText:read). Audited as responses.exported.',
    response: z.string().describe('CSV, UTF-8 with BOM'),
    produces: 'text/csv',
    handler: (c) => download('csv', c),
  }),
  defineRoute({
    ...EXPORT,
    id: 'responses.xlsx',
    method: 'GET',
    path: '/responses/export.xlsx',
    summary: 'Xuất phiếu trả lời Excel / the filtered responses as an XLSX sheet',
    description:
      'The filters of GET /responses; values are text or number cells, never formulas. Free text only with ' +
      'includeText=true (freeText:read). Audited as responses.exported.',
    response: z.string().describe('an XLSX workbook (binary)'),
    produces: XLSX,
    handler: (c) => download('xlsx', c),
  }),
];
