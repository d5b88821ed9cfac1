import { z } from 'zod';

/**
 * The flow format: a versioned, channel-neutral question graph stored as data.
 * Structural checks that zod cannot express (dangling targets, cycles, platform limits)
 * live in ./validate.ts.
 */
export const LANGS = ['vi', 'en'] as const;
export type Lang = (typeof LANGS)[number];

export const localizedSchema = z.object({
  vi: z.string().min(1, 'Vietnamese text is required'),
  en: z.string().min(1).optional(),
});
export type Localized = z.infer<typeof localizedSchema>;

export const nodeIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,15}$/, 'node id: a-z, 0-9, _ ; at most 16 chars');
/** Option values are short and stable: they are stored in answers and carried in callback data. */
export const optionValueSchema = z
  .string()
  .regex(/^[a-z0-9_]{1,16}$/, 'option value: a-z, 0-9, _ ; at most 16 chars');

export const optionSchema = z.object({
  value: optionValueSchema,
  label: localizedSchema,
  /** "Khác": choosing it asks for free text. */
  other: z.boolean().optional(),
});
export type FlowOption = z.infer<typeof optionSchema>;

/** A branching condition on the answer of the node it belongs to. */
export const conditionSchema = z.union([
  z.object({ in: z.array(z.string()).min(1) }).strict(),
  z.object({ lte: z.number() }).strict(),
  z.object({ gte: z.number() }).strict(),
]);
export type Condition = z.infer<typeof conditionSchema>;

export const branchSchema = z.object({ when: conditionSchema, to: nodeIdSchema }).strict();

const base = {
  id: nodeIdSchema,
  /** Index element code this question measures (e.g. TIEP_CAN), or null. */
  element: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{1,31}$/)
    .nullable()
    .default(null),
  text: localizedSchema,
  /** Default next node. Absent on terminal nodes. */
  next: nodeIdSchema.optional(),
  /** First matching rule wins; otherwise `next`. */
  branches: z.array(branchSchema).default([]),
};

export const singleChoiceSchema = z
  .object({
    ...base,
    type: z.literal('single_choice'),
    options: z.array(optionSchema).min(2).max(12),
    /** Consent question: any answer other than `acceptValue` ends the survey and keeps nothing. */
    consent: z.object({ acceptValue: optionValueSchema, declineTo: nodeIdSchema }).optional(),
  })
  .strict();

export const multiChoiceSchema = z
  .object({
    ...base,
    type: z.literal('multi_choice'),
    options: z.array(optionSchema).min(2).max(12),
    minSelected: z.number().int().min(0).default(1),
  })
  .strict();

export const scale5Schema = z
  .object({
    ...base,
    type: z.literal('scale5'),
    /** Adds a "not applicable" choice with value 0 (excluded from the index denominator). */
    notApplicable: localizedSchema.optional(),
  })
  .strict();

export const ratingSchema = z
  .object({ ...base, type: z.literal('rating'), max: z.number().int().min(2).max(10).default(5) })
  .strict();

export const numberSchema = z
  .object({
    ...base,
    type: z.literal('number'),
    min: z.number().default(0),
    max: z.number().default(1_000_000),
    integer: z.boolean().default(true),
    optional: z.boolean().default(false),
  })
  .strict();

export const freeTextSchema = z
  .object({
    ...base,
    type: z.literal('free_text'),
    optional: z.boolean().default(false),
    maxLength: z.number().int().min(1).max(2000).default(1000),
  })
  .strict();

export const messageSchema = z
  .object({
    ...base,
    type: z.literal('message'),
    /** For a terminal message: what reaching it means for the response. */
    outcome: z.enum(['completed', 'declined']).optional(),
    /**
     * For the terminal thank-you: said instead of `text` when the answers open a complaint case
     * (an element question answered 1 or 2): `reachable` where the unit can follow up through the
     * channel (Telegram, Zalo), `unreachable` where it cannot (the web chat keeps no contact).
     */
    dissatisfied: z.object({ reachable: localizedSchema, unreachable: localizedSchema }).strict().optional(),
  })
  .strict();

export const nodeSchema = z.discriminatedUnion('type', [
  singleChoiceSchema,
  multiChoiceSchema,
  scale5Schema,
  ratingSchema,
  numberSchema,
  freeTextSchema,
  messageSchema,
]);
export type FlowNode = z.infer<typeof nodeSchema>;
export type NodeType = FlowNode['type'];
export type QuestionNode = Exclude<FlowNode, { type: 'message' }>;

export const flowSchema = z
  .object({
    key: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
    version: z.number().int().min(1),
    title: localizedSchema,
    start: nodeIdSchema,
    /** Placeholders the texts may use, filled from the dossier: {ma}, {donvi}, {thutuc}. */
    placeholders: z.array(z.string().regex(/^[a-z_]{1,16}$/)).default(['ma', 'donvi', 'thutuc']),
    nodes: z.array(nodeSchema).min(1).max(200),
  })
  .strict();
export type Flow = z.infer<typeof flowSchema>;
export type FlowInput = z.input<typeof flowSchema>;
