import { z } from 'zod';

/** Payload pieces shared by the ingest jobs. Mirrors bot/conversation/ports.ts ResponseMeta. */
export const responseMetaSchema = z.object({
  dossierCode: z.string().nullable(),
  unitCode: z.string().nullable(),
  procedureCode: z.string().nullable(),
  officerId: z.string().nullable(),
  dossierChannel: z.enum(['in_person', 'online', 'post']).nullable(),
  onlineLevel: z.number().int().nullable(),
  surveyChannel: z.enum(['telegram', 'zalo', 'web']),
  flowKey: z.string(),
  flowVersion: z.number().int().min(1),
  lang: z.enum(['vi', 'en']),
  startedAt: z.iso.datetime(),
});

export const recordedAnswerSchema = z.object({
  questionId: z.string().min(1).max(64),
  element: z.string().nullable(),
  type: z.string(),
  value: z.union([z.number(), z.string(), z.array(z.string()), z.null()]),
  text: z.string().max(4000).nullable(),
});

/**
 * A completed response with all its answers (the `response.complete` job). Here rather than in
 * the job's file: the steps it runs (workers/aggregation) read the type, and the job imports them.
 */
export const responseCompleteSchema = z.object({
  responseId: z.string().min(8).max(64),
  meta: responseMetaSchema,
  answers: z.array(recordedAnswerSchema).max(500),
  completedAt: z.iso.datetime(),
});
export type ResponseCompletePayload = z.output<typeof responseCompleteSchema>;
