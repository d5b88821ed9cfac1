import { DateTime } from 'luxon';
import { z } from 'zod';
import { normalisePhone } from '../../lib/phone';

/**
 * The dossier event a one-stop system posts (docs/sipas-method.md, "Dossiers"), parsed with zod so that a bad
 * event is refused with the path of each wrong field and nothing is stored.
 * Dates are ISO 8601; a date without an offset is read in Asia/Ho_Chi_Minh.
 */
const TZ = 'Asia/Ho_Chi_Minh';

export function parseDate(s: string): Date | null {
  const t = s.trim();
  let d = DateTime.fromISO(t, { zone: TZ });
  // National portal exports: yyyyMMddHHmmss, or dd/MM/yyyy[ HH:mm[:ss]].
  if (!d.isValid && /^\d{14}$/.test(t)) d = DateTime.fromFormat(t, 'yyyyMMddHHmmss', { zone: TZ });
  if (!d.isValid && /^\d{1,2}\/\d{1,2}\/\d{4}/.test(t)) {
    for (const f of ['d/M/yyyy H:mm:ss', 'd/M/yyyy H:mm', 'd/M/yyyy']) {
      d = DateTime.fromFormat(t, f, { zone: TZ });
      if (d.isValid) break;
    }
  }
  return d.isValid ? d.toJSDate() : null;
}

const date = z.string().transform((s, ctx) => {
  const d = parseDate(s);
  if (d === null) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date, e.g. 2025-03-14T09:30:00+07:00' });
    return z.NEVER;
  }
  return d;
});
const optionalDate = date
  .nullable()
  .optional()
  .transform((d) => d ?? null);
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .nullable()
    .optional()
    .transform((s) => (s ? s : null));

export const DOSSIER_STATUSES = ['received', 'processing', 'finished', 'returned', 'cancelled'] as const;
export type DossierStatus = (typeof DOSSIER_STATUSES)[number];
/** Statuses that end a dossier for the citizen: these, and only these, start a survey. */
export const SURVEY_STATUSES: ReadonlySet<DossierStatus> = new Set(['finished', 'returned']);

export const dossierEventSchema = z
  .object({
    // No ':' (BullMQ job ids embed the code) and no spaces; TT 01/2018 codes use [A-Z0-9.-].
    code: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._/-]+$/, 'expected letters, digits and . _ / -'),
    procedureCode: z.string().trim().min(1).max(64),
    procedureName: optionalText(500),
    unitCode: z.string().trim().min(1).max(64),
    channel: z.enum(['in_person', 'online', 'post']),
    onlineLevel: z
      .union([z.literal(2), z.literal(3), z.literal(4), z.null()])
      .optional()
      .transform((v) => v ?? null),
    receivedAt: optionalDate,
    dueAt: optionalDate,
    finishedAt: optionalDate,
    returnedAt: optionalDate,
    status: z.enum(DOSSIER_STATUSES),
    officerId: optionalText(64),
    applicant: z
      .object({
        phone: z
          .string()
          .nullable()
          .optional()
          .refine(
            (p) => p === null || p === undefined || p.trim() === '' || normalisePhone(p) !== null,
            'expected a Vietnamese phone number',
          ),
        telegramChatId: z
          .union([z.number().int(), z.string().regex(/^-?\d{1,20}$/, 'expected a numeric chat id')])
          .nullable()
          .optional(),
        zaloUserId: z
          .string()
          .regex(/^\d{1,32}$/, 'expected a numeric Zalo user id')
          .nullable()
          .optional(),
      })
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (e.status === 'finished' && !e.finishedAt)
      ctx.addIssue({ code: 'custom', path: ['finishedAt'], message: 'required when status is finished' });
    if (e.status === 'returned' && !e.returnedAt)
      ctx.addIssue({ code: 'custom', path: ['returnedAt'], message: 'required when status is returned' });
    if (e.channel !== 'online' && e.onlineLevel !== null)
      ctx.addIssue({ code: 'custom', path: ['onlineLevel'], message: 'only online dossiers have a level' });
  });

export type DossierEvent = z.output<typeof dossierEventSchema>;

export interface FieldIssue {
  path: string;
  message: string;
  /** For a unit that no longer existed on the dossier's date: the units that took it over. */
  successors?: string[];
}

export function issuesOf(error: z.ZodError, rename: (path: string) => string = (p) => p): FieldIssue[] {
  return error.issues.map((i) => ({
    path: rename(i.path.map(String).join('.')) || '(body)',
    message: i.message,
  }));
}

export type ParsedEvent = { ok: true; event: DossierEvent } | { ok: false; issues: FieldIssue[] };

export function parseDossierEvent(body: unknown): ParsedEvent {
  const r = dossierEventSchema.safeParse(body);
  return r.success ? { ok: true, event: r.data } : { ok: false, issues: issuesOf(r.error) };
}
