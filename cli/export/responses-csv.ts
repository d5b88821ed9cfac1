import { once } from 'node:events';
import { stringify } from 'csv-stringify';
import { FlowRepository } from '../../bot/flow/repository';
import type { Flow as FlowDef, QuestionNode } from '../../bot/flow/schema';
import { formatDateTime, parsePeriod } from '../../lib/time';
import { UserError } from '../../lib/user-error';
import { Answer } from '../../models/answer';
import { Procedure } from '../../models/procedure';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import { answerLabel, storedValue } from '../../indices/answer-labels';
import { expandUnits } from '../../indices/units';

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
 * successorCode (their history belongs to the unit that took them over), as the reports count.
 */
async function unitAndDescendants(code: string): Promise<string[]> {
  if (!(await Unit.exists({ code })))
    throw new ExportError(`không có đơn vị mã "${code}"`, `unknown unit "${code}"`);
  return expandUnits([code]);
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
  key: string;
  header: string;
  /** The column holding an "other" option's free text, when the question has one. */
  otherKey: string | null;
  otherHeader: string;
}

type AskedQuestions = Map<string, { column: QuestionColumn; node: QuestionNode }>;

/** A flow version as the "Phiên bản bảng hỏi" column names it. */
const versionName = (key: string, version: number) => `${key}@${version}`;

/**
 * The question columns of the flow versions involved and, per version, the column of each of its
 * questions. One column per question and wording: a question asked in the same words by several
 * versions is one column; a question whose wording changed gets one column per wording, its
 * header naming the versions (`q3 (default@2). …`, `q3 (default@1). …`), so that every answer
 * stands under the question as the citizen read it. Newest version first, in flow order; consent
 * is never recorded.
 */
async function questionColumns(
  filter: Record<string, unknown>,
  flows: FlowRepository,
): Promise<{
  columns: QuestionColumn[];
  byVersion: Map<string, AskedQuestions>;
  newest: Map<string, QuestionColumn>;
}> {
  const versions = await Response.aggregate<{ _id: { key: string; version: number } }>([
    { $match: filter },
    { $group: { _id: { key: '$flowKey', version: '$flowVersion' } } },
    { $sort: { '_id.key': 1, '_id.version': -1 } },
  ]);
  const loaded: Array<{ name: string; flow: FlowDef }> = [];
  for (const v of versions) {
    // A version whose definition cannot be read: its answers go under the newest wording, as stored.
    const flow = await flows.get(v._id.key, v._id.version).catch(() => null);
    if (flow) loaded.push({ name: versionName(v._id.key, v._id.version), flow });
  }
  if (loaded.length === 0) {
    // No responses: the latest default flow's questions, so the header says what the file would hold.
    const latest = await flows.latestPublished('default').catch(() => null);
    if (latest) loaded.push({ name: versionName(latest.key, latest.version), flow: latest });
  }
  // Question id → wording → its node (newest) and the versions that asked it so.
  const wordings = new Map<string, Map<string, { node: QuestionNode; versions: string[] }>>();
  for (const { name, flow } of loaded) {
    for (const node of flow.nodes) {
      if (node.type === 'message' || (node.type === 'single_choice' && node.consent)) continue;
      const byText = wordings.get(node.id) ?? new Map<string, { node: QuestionNode; versions: string[] }>();
      wordings.set(node.id, byText);
      const wording = `${node.type}|${node.text.vi}`;
      const entry = byText.get(wording) ?? { node, versions: [] };
      entry.versions.push(name);
      byText.set(wording, entry);
    }
  }
  const columns: QuestionColumn[] = [];
  const byVersion = new Map<string, AskedQuestions>();
  const newest = new Map<string, QuestionColumn>();
  for (const [id, byText] of wordings) {
    [...byText.values()].forEach(({ node, versions: names }, n) => {
      const label = byText.size === 1 ? id : `${id} (${names.join(', ')})`;
      const hasOther =
        (node.type === 'multi_choice' || node.type === 'single_choice') && node.options.some((o) => o.other);
      const column: QuestionColumn = {
        key: `q:${id}:${n}`,
        header: `${label}. ${node.text.vi}`,
        otherKey: hasOther ? `o:${id}:${n}` : null,
        otherHeader: `${label}. Khác (ghi rõ)`,
      };
      columns.push(column);
      if (!newest.has(id)) newest.set(id, column);
      for (const name of names) {
        const asked: AskedQuestions =
          byVersion.get(name) ?? new Map<string, { column: QuestionColumn; node: QuestionNode }>();
        byVersion.set(name, asked);
        // Each version asked its own wording: its node, with its own option labels.
        const own = loaded.find((l) => l.name === name)!.flow.nodes.find((x) => x.id === id) as QuestionNode;
        asked.set(id, { column, node: own });
      }
    });
  }
  return { columns, byVersion, newest };
}

/**
 * Writes completed responses as CSV: UTF-8 with BOM and CRLF (Excel opens it with the
 * Vietnamese intact), Vietnamese headers, one row per response, one column per question and
 * wording (questionColumns), answers as their labels in their own version (answer-labels.ts).
 * Streamed: responses come from a cursor and answers are fetched per batch.
 */
export async function writeResponsesCsv(
  out: NodeJS.WritableStream,
  f: ExportFilter = {},
): Promise<{ rows: number }> {
  const filter = await buildFilter(f);
  const { columns: questions, byVersion, newest } = await questionColumns(filter, new FlowRepository());
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
      ...(q.otherKey ? [{ key: q.otherKey, header: q.otherHeader }] : []),
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
      // Each answer under its own version's wording, in its own version's labels.
      const asked = byVersion.get(versionName(r.flowKey as string, r.flowVersion as number));
      for (const a of byResponse.get(r.responseId as string) ?? []) {
        const q = asked?.get(a.questionId);
        const column = q?.column ?? (asked ? undefined : newest.get(a.questionId));
        if (!column) continue;
        if (a.type === 'free_text') row[column.key] = a.text ?? '';
        else row[column.key] = q ? answerLabel(q.node, a.value) : storedValue(a.value);
        if (column.otherKey && a.text) row[column.otherKey] = a.text;
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
