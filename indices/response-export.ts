import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';
import { FlowRepository } from '../bot/flow/repository';
import type { Flow as FlowDef, QuestionNode } from '../bot/flow/schema';
import { formatDateTime } from '../lib/time';
import { Answer } from '../models/answer';
import { Procedure } from '../models/procedure';
import { Response } from '../models/response';
import { Unit } from '../models/unit';
import { answerLabel, storedValue } from './answer-labels';

const BATCH = 500;

const DOSSIER_CHANNEL: Record<string, string> = {
  in_person: 'Trực tiếp',
  online: 'Trực tuyến',
  post: 'Bưu chính',
};
const SURVEY_CHANNEL: Record<string, string> = { telegram: 'Telegram', zalo: 'Zalo', web: 'Web' };

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
  /** The keys of the free-text questions' columns. */
  freeText: Set<string>;
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
  const freeText = new Set<string>();
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
      if (node.type === 'free_text') freeText.add(column.key);
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
  return { columns, byVersion, newest, freeText };
}

/** What an export holds beyond the ratings and choices. */
export interface ExportOptions {
  /**
   * The citizens' free text (free-text questions, "other, please say" columns): the CLI's
   * operator and callers with freeText:read who asked for it; otherwise those columns are absent.
   */
  freeText: boolean;
}

export interface ResponseTable {
  columns: Array<{ key: string; header: string }>;
  /** One row per response (completedAt, responseId ascending), answers as labels in their own version. */
  rows(): AsyncGenerator<Record<string, unknown>>;
}

/**
 * The completed responses of `filter` (a Response query, already limited to the caller's
 * units) as a table: Vietnamese headers, one row per response, one column per question and
 * wording (questionColumns), answers as their labels in their own version (answer-labels.ts).
 * Rows are read from a cursor, answers fetched per batch.
 */
export async function responseTable(
  filter: Record<string, unknown>,
  opts: ExportOptions,
): Promise<ResponseTable> {
  const all = await questionColumns(filter, new FlowRepository());
  const { byVersion, newest } = all;
  const questions = opts.freeText
    ? all.columns
    : all.columns.filter((q) => !all.freeText.has(q.key)).map((q) => ({ ...q, otherKey: null }));
  const kept = new Set(questions.flatMap((q) => [q.key, ...(q.otherKey ? [q.otherKey] : [])]));
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

  async function* rowsOf(batch: Array<Record<string, unknown>>): AsyncGenerator<Record<string, unknown>> {
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
        if (!column || !kept.has(column.key)) continue;
        if (a.type === 'free_text') row[column.key] = a.text ?? '';
        else row[column.key] = q ? answerLabel(q.node, a.value) : storedValue(a.value);
        if (column.otherKey && a.text && kept.has(column.otherKey)) row[column.otherKey] = a.text;
      }
      yield row;
    }
  }

  return {
    columns,
    async *rows() {
      const cursor = Response.find(filter)
        .sort({ completedAt: 1, responseId: 1 })
        .lean()
        .cursor({ batchSize: BATCH });
      let batch: Array<Record<string, unknown>> = [];
      for await (const r of cursor) {
        batch.push(r);
        if (batch.length >= BATCH) {
          yield* rowsOf(batch);
          batch = [];
        }
      }
      if (batch.length) yield* rowsOf(batch);
    },
  };
}

/**
 * The table as CSV: UTF-8 with BOM and CRLF (Excel opens it with the Vietnamese intact). Free
 * text comes from citizens: a cell starting with = + - @ is escaped so a spreadsheet never runs
 * it as a formula (csv-stringify's escape_formulas, as the audit log's CSV).
 */
export async function writeResponsesCsv(
  out: NodeJS.WritableStream,
  filter: Record<string, unknown>,
  opts: ExportOptions,
): Promise<{ rows: number }> {
  const table = await responseTable(filter, opts);
  const csv = stringify({
    bom: true,
    header: true,
    columns: table.columns,
    record_delimiter: 'windows',
    escape_formulas: true,
  });
  csv.pipe(out);
  let rows = 0;
  for await (const row of table.rows()) {
    if (!csv.write(row)) await once(csv, 'drain');
    rows++;
  }
  csv.end();
  await once(csv, 'end');
  return { rows };
}

/**
 * The table as one XLSX sheet, streamed (exceljs's WorkbookWriter). Every value is written as a
 * string or number cell, never a formula, so citizens' text cannot run in a spreadsheet.
 */
export async function writeResponsesXlsx(
  out: NodeJS.WritableStream,
  filter: Record<string, unknown>,
  opts: ExportOptions,
): Promise<{ rows: number }> {
  const table = await responseTable(filter, opts);
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out as Writable,
    useSharedStrings: false,
    useStyles: true,
  });
  const ws = wb.addWorksheet('Phiếu trả lời', { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = table.columns.map((c) => ({ key: c.key, header: c.header, width: 18 }));
  ws.getRow(1).font = { bold: true };
  ws.getRow(1).commit();
  let rows = 0;
  for await (const row of table.rows()) {
    ws.addRow(row).commit();
    rows++;
  }
  ws.commit();
  await wb.commit();
  return { rows };
}
