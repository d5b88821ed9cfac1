import mongoose from 'mongoose';
import { hcmDay } from '../../lib/time';
import { Answer } from '../../models/answer';
import { Dossier } from '../../models/dossier';
import { finishedDayOf } from '../../workers/aggregation/rollups/dossiers';
import { Response } from '../../models/response';

/**
 * Survey data in bulk for the benchmarks (aggregation, dashboard): completed responses with six
 * scale answers each, written with insertMany in the shape the ingest path leaves them (answers
 * stamped with unit and day), from a seeded generator so that two runs write the same data.
 */
export const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
/** 2024-01-01 00:00 in Huế. */
export const YEAR_2024 = Date.UTC(2023, 11, 31, 17, 0);

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

export function scaleValue(rand: () => number, element: string): number {
  return element === 'PAKN' && rand() < 0.5 ? 0 : 1 + Math.floor(rand() ** 0.5 * 5);
}

export function dossierChannel(rand: () => number): {
  dossierChannel: 'in_person' | 'online' | 'post';
  onlineLevel: number | null;
} {
  const x = rand();
  if (x < 0.6) return { dossierChannel: 'in_person', onlineLevel: null };
  if (x < 0.95) return { dossierChannel: 'online', onlineLevel: x < 0.8 ? 3 : 4 };
  return { dossierChannel: 'post', onlineLevel: null };
}

export interface GenerateOptions {
  total: number;
  /** Unit codes the responses are spread over, uniformly. */
  units: readonly string[];
  /** The first instant of the 366 days the completions are spread over. */
  yearStart: number;
  seed?: number;
  /**
   * Also the finished dossier of each response, and one finished dossier in three that was never
   * answered: what the response rate and the Decision 766 ratio read.
   */
  dossiers?: boolean;
  /** Called every fourth batch of 5,000 with the number written so far. */
  progress?: (done: number) => void;
  /** Write the answers too (default true); either way `onBatch` sees them. */
  answers?: boolean;
  /** Each batch's responses, answers and dossiers as they are written (to roll them up in the process). */
  onBatch?: (
    responses: ReadonlyArray<Record<string, unknown>>,
    answers: ReadonlyArray<Record<string, unknown>>,
    dossiers: ReadonlyArray<Record<string, unknown>>,
  ) => void;
}

/** Writes the responses; returns the completed responses per `unit|day`. */
export async function generateResponses(o: GenerateOptions): Promise<Map<string, number>> {
  const perBucket = new Map<string, number>();
  const rand = rng(o.seed ?? 42);
  const batch = 5000;
  const db = mongoose.connection.db!;
  const responsesCol = db.collection(Response.collection.collectionName);
  const answersCol = db.collection(Answer.collection.collectionName);
  const dossiersCol = db.collection(Dossier.collection.collectionName);
  let inFlight: Promise<unknown> = Promise.resolve();
  for (let start = 0; start < o.total; start += batch) {
    const responses: Array<Record<string, unknown>> = [];
    const answers: Array<Record<string, unknown>> = [];
    const dossiers: Array<Record<string, unknown>> = [];
    for (let i = start; i < Math.min(o.total, start + batch); i++) {
      const at = new Date(o.yearStart + Math.floor(rand() * 366 * 86400_000));
      const day = hcmDay(at);
      const responseId = `r${String(i).padStart(7, '0')}`;
      const unitCode = o.units[Math.floor(rand() * o.units.length)]!;
      const values = ELEMENTS.map((e) => scaleValue(rand, e));
      const bucket = `${unitCode}|${day}`;
      perBucket.set(bucket, (perBucket.get(bucket) ?? 0) + 1);
      const response = {
        responseId,
        dossierCode: `D${i}`,
        unitCode,
        procedureCode: `P${Math.floor(rand() * 50)}`,
        officerId: `${unitCode}-O${Math.floor(rand() * 6)}`,
        ...dossierChannel(rand),
        surveyChannel: 'zalo',
        flowKey: 'default',
        flowVersion: 1,
        lang: 'vi',
        status: 'completed',
        startedAt: new Date(at.getTime() - 60_000),
        completedAt: at,
        day,
        dissatisfied: values.some((v) => v === 1 || v === 2),
        excluded: { at: null, by: null, reason: null },
        createdAt: at,
        updatedAt: at,
      };
      responses.push(response);
      values.forEach((value, k) =>
        answers.push({
          responseId,
          questionId: `q${k + 1}`,
          element: ELEMENTS[k],
          type: 'scale5',
          value,
          text: null,
          answeredAt: at,
          unitCode,
          day,
          createdAt: at,
          updatedAt: at,
        }),
      );
      // The dossiers take nothing from the generator: the responses are the same with or without them.
      if (o.dossiers) {
        const finishedAt = new Date(at.getTime() - 3_600_000);
        const dossier = (code: string, answered: boolean) => ({
          code,
          procedureCode: response.procedureCode,
          unitCode,
          channel: response.dossierChannel,
          onlineLevel: response.onlineLevel,
          status: 'finished',
          finishedAt,
          finishedDay: finishedDayOf(finishedAt),
          officerId: response.officerId,
          survey: { token: null, issuedAt: null, expiresAt: null, responseId: answered ? responseId : null },
          funnel: { invitedAt: finishedAt, completedAt: answered ? at : null },
          source: 'api',
          createdAt: finishedAt,
          updatedAt: at,
        });
        dossiers.push(dossier(`D${i}`, true));
        if (i % 3 === 0) dossiers.push(dossier(`U${i}`, false));
      }
    }
    o.onBatch?.(responses, answers, dossiers);
    // One batch in flight while the next is generated.
    await inFlight;
    inFlight = Promise.all([
      responsesCol.insertMany(responses, { ordered: false }),
      ...(o.answers === false ? [] : [answersCol.insertMany(answers, { ordered: false })]),
      ...(dossiers.length ? [dossiersCol.insertMany(dossiers, { ordered: false })] : []),
    ]);
    if ((start / batch) % 4 === 0) o.progress?.(Math.min(o.total, start + batch));
  }
  await inFlight;
  return perBucket;
}
