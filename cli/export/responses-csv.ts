import { once } from 'node:events';
import { stringify } from 'csv-stringify';
import type { Flow as FlowDef } from '../../bot/flow/schema';
import { formatDateTime, parsePeriod } from '../../lib/time';
import { UserError } from '../../lib/user-error';
import { Answer } from '../../models/answer';
import { Flow } from '../../models/flow';
import { Procedure } from '../../models/procedure';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';

export interface ExportFilter {
  /** This unit and every unit below it (children, and units merged into it). */
  unit?: string;
  /** Inclusive Asia/Ho_Chi_Minh days of completion, YYYY-MM-DD. */
  from?: string;
  to?: string;
}

/** A filter the export cannot apply (an unknown unit, a bad day). */
export class ExportError extends UserError {
  constructor(vi: string, en: string) {
    super(vi, en, 2);
    this.name = 'ExportError';
  }
}

const BATCH = 500;

const DOSSIER_CHANNEL: Record<string, string> = {
  in_person: 'Trực tiếp',
  online: 'Trực tuyến',
  post: 'Bưu chính',
};
const SURVEY_CHANNEL: Record<string, string> = { telegram: 'Telegram', zalo: 'Zalo', web: 'Web' };

/**
 * The unit and all units below it: children by parentCode, and units merged into it by
 * successorCode (their history belongs to the unit that took them over). Breadth-first, bounded.
 */
export async function unitAndDescendants(code: string): Promise<string[]> {
  if (!(await Unit.exists({ code })))
    throw new ExportError(`không có đơn vị mã "${code}"`, `unknown unit "${code}"`);
  const seen = new Set([code]);
  let frontier = [code];
  for (let depth = 0; depth < 12 && frontier.length > 0; depth++) {
    const below = await Unit.find(
      { $or: [{ parentCode: { $in: frontier } }, { successorCode: { $in: frontier } }] },
      { code: 1 },
    ).lean();
    frontier = below.map((u) => u.code).filter((c) => !seen.has(c));
    frontier.forEach((c) => seen.add(c));
  }
  return [...seen];
}

function dayKey(name: string, value: string): string {
  try {
    if (parsePeriod(value).kind === 'day') return value;
  } catch {
    // fall through to the error below
  }
  throw new ExportError(
    `--${name}: ngày không hợp lệ "${value}", cần dạng YYYY-MM-DD`,
    `--${name}: expected a day YYYY-MM-DD, got "${value}"`,
  );
}

async function buildFilter(f: ExportFilter): Promise<Record<string, unknown>> {
  const q: Record<string, unknown> = { status: 'completed' };
  if (f.unit) q.unitCode = { $in: await unitAndDescendants(f.unit) };
  const day: Record<string, string> = {};
  if (f.from) day.$gte = dayKey('from', f.from);
  if (f.to) day.$lte = dayKey('to', f.to);
  if (f.from && f.to && f.from > f.to) throw new ExportError('--from sau --to', '--from is after --to');
  if (Object.keys(day).length > 0) q.day = day;
  return q;
}

interface QuestionColumn {
  id: string;
  type: string;
  key: string;
  header: string;
  /** The column holding an "other" option's free text, when the question has one. */
  otherKey: string | null;
}

/** One column per question of the flow versions involved, in flow order (consent excluded: never recorded). */
async function questionColumns(filter: Record<string, unknown>): Promise<QuestionColumn[]> {
  const versions = await Response.aggregate<{ _id: { key: string; version: number } }>([
    { $match: filter },
    { $group: { _id: { key: '$flowKey', version: '$flowVersion' } } },
    { $sort: { '_id.key': 1, '_id.version': -1 } },
  ]);
  const docs = [];
  for (const v of versions) {
    const doc = await Flow.findOne({ key: v._id.key, version: v._id.version }, { definition: 1 }).lean();
    if (doc) docs.push(doc);
  }
  if (docs.length === 0) {
    const latest = await Flow.findOne({ key: 'default', status: 'published' }, { definition: 1 })
      .sort({ version: -1 })
      .lean();
    if (latest) docs.push(latest);
  }
  const columns = new Map<string, QuestionColumn>();
  for (const doc of docs) {
    const flow = doc.definition as FlowDef;
    for (const node of flow.nodes) {
      if (node.type === 'message' || columns.has(node.id)) continue;
      if (node.type === 'single_choice' && node.consent) continue;
      const hasOther =
        (node.type === 'multi_choice' || node.type === 'single_choice') && node.options.some((o) => o.other);
      columns.set(node.id, {
        id: node.id,
        type: node.type,
        key: `q:${node.id}`,
        header: `${node.id}. ${node.text.vi}`,
        otherKey: hasOther ? `o:${node.id}` : null,
      });
    }
  }
  return [...columns.values()];
}

function cell(type: string, value: unknown, text: string | null): string | number {
  if (type === 'free_text') return text ?? '';
  if (Array.isArray(value)) return value.join(';');
  if (typeof value === 'number' || typeof value === 'string') return value;
  return '';
}

/**
 * Writes completed responses as CSV: UTF-8 with BOM and CRLF (Excel opens it with the
 * Vietnamese intact), Vietnamese headers, one row per response, one column per question.
 * Streamed: responses come from a cursor and answers are fetched per batch.
 */
export async function writeResponsesCsv(
  out: NodeJS.WritableStream,
  f: ExportFilter = {},
): Promise<{ rows: number }> {
  const filter = await buildFilter(f);
  const questions = await questionColumns(filter);
  const units = new Map((await Unit.find({}, { code: 1, name: 1 }).lean()).map((u) => [u.code, u.name]));
  const procedures = new Map<string, string>();

  const columns = [
    { key: 'responseId', header: 'Mã phản hồi' },
    { key: 'dossierCode', header: 'Mã hồ sơ' },
    { key: 'unitCode', header: 'Mã đơn vị' },
    { key: 'unitName', header: 'Đơn vị' },
    { key: 'procedureCode', header: 'Mã thủ tục' },
    { key: 'procedureName', header: 'Thủ tục' },
    { key: 'officerId', header: 'Mã cán bộ' },
    { key: 'dossierChannel', header: 'Hình thức nộp hồ sơ' },
    { key: 'onlineLevel', header: 'Mức độ DVC trực tuyến' },
    { key: 'surveyChannel', header: 'Kênh khảo sát' },
    { key: 'lang', header: 'Ngôn ngữ' },
    { key: 'flow', header: 'Phiên bản bảng hỏi' },
    { key: 'startedAt', header: 'Bắt đầu' },
    { key: 'completedAt', header: 'Hoàn thành' },
    { key: 'dissatisfied', header: 'Không hài lòng' },
    { key: 'excluded', header: 'Loại khỏi chỉ số' },
    ...questions.flatMap((q) => [
      { key: q.key, header: q.header },
      ...(q.otherKey ? [{ key: q.otherKey, header: `${q.id}. Khác (ghi rõ)` }] : []),
    ]),
  ];
  const csv = stringify({
    bom: true,
    header: true,
    columns,
    record_delimiter: 'windows',
    // Free text comes from citizens: never let a cell start a spreadsheet formula.
    escape_formulas: true,
  });
  csv.pipe(out);

  let rows = 0;
  const cursor = Response.find(filter)
    .sort({ completedAt: 1, responseId: 1 })
    .lean()
    .cursor({ batchSize: BATCH });
  let batch: Array<Record<string, unknown>> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const ids = batch.map((r) => r.responseId as string);
    const answers = await Answer.find({ responseId: { $in: ids } }).lean();
    const byResponse = new Map<string, typeof answers>();
    for (const a of answers) byResponse.set(a.responseId, [...(byResponse.get(a.responseId) ?? []), a]);
    const missing = [...new Set(batch.map((r) => r.procedureCode as string | null))].filter(
      (c): c is string => !!c && !procedures.has(c),
    );
    if (missing.length > 0) {
      for (const p of await Procedure.find({ code: { $in: missing } }, { code: 1, name: 1 }).lean())
        procedures.set(p.code, p.name);
      missing.forEach((c) => procedures.set(c, procedures.get(c) ?? ''));
    }
    for (const r of batch) {
      const row: Record<string, unknown> = {
        responseId: r.responseId,
        dossierCode: r.dossierCode ?? '',
        unitCode: r.unitCode ?? '',
        unitName: (r.unitCode && units.get(r.unitCode as string)) ?? '',
        procedureCode: r.procedureCode ?? '',
        procedureName: (r.procedureCode && procedures.get(r.procedureCode as string)) ?? '',
        officerId: r.officerId ?? '',
        dossierChannel: DOSSIER_CHANNEL[r.dossierChannel as string] ?? '',
        onlineLevel: r.onlineLevel ?? '',
        surveyChannel: SURVEY_CHANNEL[r.surveyChannel as string] ?? r.surveyChannel,
        lang: r.lang,
        flow: `${r.flowKey as string}@${r.flowVersion as number}`,
        startedAt: r.startedAt ? formatDateTime(r.startedAt as Date) : '',
        completedAt: r.completedAt ? formatDateTime(r.completedAt as Date) : '',
        dissatisfied: r.dissatisfied ? 'Có' : 'Không',
        excluded: (r.excluded as { at?: Date | null } | undefined)?.at ? 'Có' : '',
      };
      for (const a of byResponse.get(r.responseId as string) ?? []) {
        const q = questions.find((x) => x.id === a.questionId);
        if (!q) continue;
        row[q.key] = cell(q.type, a.value, a.text ?? null);
        if (q.otherKey && a.text) row[q.otherKey] = a.text;
      }
      if (!csv.write(row)) await once(csv, 'drain');
      rows++;
    }
    batch = [];
  };
  for await (const r of cursor) {
    batch.push(r);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  csv.end();
  await once(csv, 'end');
  return { rows };
}
