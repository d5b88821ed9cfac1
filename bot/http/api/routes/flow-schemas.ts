import { z } from 'zod';
import { flowSchema } from '../../../flow/schema';
import type { FlowIssue } from '../../../flow/validate';
import { FlowValidationError } from '../../../flow/repository';
import { ApiError, conflict, invalid } from '../errors';
import { DraftConflictError } from '../../../flow/drafts';
import { NotPublishedError } from '../../../flow/assignments';

/** Shared pieces of the flows, drafts, assignments and preview schemas. */

export const flowKey = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a flow key (a-z, 0-9, _ -)')
  .describe('flow family, e.g. default');
export const flowVersion = z.coerce.number().int().min(1).describe('a published version number');
export const procedureCode = z.string().min(1).max(64).describe('procedure code of the national catalogue');

/** A published definition, as bot/flow/schema.ts defines it. */
export const flowDefinition = flowSchema.meta({ id: 'FlowDefinition' });
/** A definition being written: any object (validate the draft to learn what is wrong). */
export const draftDefinition = z
  .record(z.string(), z.unknown())
  .describe('a flow definition, valid or not (docs/flows.md); key and version are set on publish');

export const issue = z.object({
  path: z.string().describe('dotted path inside the definition, as validateFlow() gives it'),
  message: z.string(),
});

/** The version is asked for by its number in the path or query. */
export const keyAndVersion = z.object({ key: flowKey, version: flowVersion });

export const invalidFlow = (issues: FlowIssue[]) =>
  invalid(
    issues.map((i) => ({ path: i.path, message: i.message })),
    'Quy trình câu hỏi chưa hợp lệ. / The flow is not valid.',
  );

/** The flow modules' errors by cause, as the one error shape. */
export function flowApiError(err: unknown): unknown {
  if (err instanceof FlowValidationError) return invalidFlow(err.issues);
  if (err instanceof DraftConflictError)
    return conflict(
      'Bản nháp vừa được người khác thay đổi; xin tải lại. / The draft was changed by someone else; reload it.',
    );
  if (err instanceof NotPublishedError)
    return invalid(
      [{ path: 'version', in: 'body', message: err.message }],
      'Phiên bản này chưa được ban hành. / That version is not published.',
    );
  return err;
}

/** Runs a handler's work with the flow modules' errors mapped (an ApiError passes as is). */
export async function mappingFlowErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof ApiError ? err : flowApiError(err);
  }
}

const action = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pick'), step: z.number().int(), node: z.string(), value: z.string() }),
  z.object({ kind: z.literal('toggle'), step: z.number().int(), node: z.string(), value: z.string() }),
  z.object({ kind: z.literal('done'), step: z.number().int(), node: z.string() }),
  z.object({ kind: z.literal('skip'), step: z.number().int(), node: z.string() }),
]);

/** What a tester sends a preview: typed text, a button's action (as the question gave it), a command. */
export const inbound = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('text'), text: z.string().min(1).max(2000) }),
    z.object({ kind: z.literal('action'), action }),
    z.object({
      kind: z.literal('command'),
      name: z.enum(['help', 'lang', 'stop']),
      arg: z.string().max(16).optional(),
    }),
  ])
  .describe('an input: used in requests and answers alike, so it carries no component id');

const choice = z.object({ label: z.string(), action, selected: z.boolean().optional() });

/** What the engine says (bot/engine/types.ts Outbound), as every channel renders it. */
export const outbound = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('text'), text: z.string() }),
    z.object({
      kind: z.literal('question'),
      node: z.string(),
      step: z.number().int(),
      text: z.string(),
      expects: z.enum(['choice', 'multi', 'text', 'number']),
      choices: z.array(z.array(choice)),
      optional: z.boolean(),
      maxLength: z.number().int().optional(),
      progress: z.object({ index: z.number(), total: z.number(), label: z.string() }).optional(),
      typedHint: z.string().optional(),
    }),
  ])
  .meta({ id: 'EngineMessage' });

export const recordedAnswer = z.object({
  questionId: z.string(),
  element: z.string().nullable(),
  type: z.string(),
  value: z.union([z.number(), z.string(), z.array(z.string()), z.null()]),
  text: z.string().nullable(),
});
