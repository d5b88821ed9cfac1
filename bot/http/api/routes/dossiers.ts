import { z } from 'zod';
import { Dossier, type DossierDoc } from '../../../../models/dossier';
import { notFound } from '../errors';
import { defineRoute } from '../route';
import { iso, isoDate, unitCode } from '../schemas';

const STAGES = ['not_invited', 'invited', 'reminded', 'opened', 'started', 'answered', 'expired'] as const;

const funnelBody = z
  .object({
    stage: z.enum(STAGES).describe('the furthest stage reached; expired: the survey link ran out unanswered'),
    invitedAt: isoDate.nullable(),
    invitationChannel: z.string().nullable().describe('telegram, zalo, zns… or null'),
    invitationSkipped: z.string().nullable().describe('why no invitation went out (a code)'),
    reminders: z.number().int().describe('reminders sent'),
    openedAt: isoDate.nullable(),
    startedAt: isoDate.nullable(),
    answeredAt: isoDate.nullable(),
    expiresAt: isoDate.nullable(),
    expired: z.boolean(),
  })
  .meta({ id: 'DossierFunnel' });

const dossierBody = z
  .object({
    code: z.string(),
    unitCode,
    procedureCode: z.string(),
    procedureName: z.string().nullable(),
    channel: z.enum(['in_person', 'online', 'post']),
    onlineLevel: z.number().int().nullable(),
    status: z.enum(['received', 'processing', 'finished', 'returned', 'cancelled']),
    officerId: z.string().nullable(),
    receivedAt: isoDate.nullable(),
    dueAt: isoDate.nullable(),
    finishedAt: isoDate.nullable(),
    responseId: z.string().nullable(),
    funnel: funnelBody,
  })
  .meta({ id: 'Dossier' });

/** The dossier's survey funnel; ids, times and codes only (no phone, no contact). */
export function funnelOf(
  d: Pick<DossierDoc, 'funnel' | 'invitation' | 'survey'>,
  now: Date,
): z.output<typeof funnelBody> {
  const f = d.funnel;
  const inv = d.invitation;
  const invitedAt = f?.invitedAt ?? inv?.sentAt ?? null;
  const reminders = inv?.remindersSent ?? 0;
  const expiresAt = d.survey?.expiresAt ?? null;
  const expired = !f?.completedAt && !!expiresAt && expiresAt < now;
  const stage = f?.completedAt
    ? 'answered'
    : expired
      ? 'expired'
      : f?.startedAt
        ? 'started'
        : f?.openedAt
          ? 'opened'
          : reminders > 0
            ? 'reminded'
            : invitedAt
              ? 'invited'
              : 'not_invited';
  return {
    stage,
    invitedAt: iso(invitedAt),
    invitationChannel: inv?.channel ?? null,
    invitationSkipped: inv?.skipped ?? null,
    reminders,
    openedAt: iso(f?.openedAt),
    startedAt: iso(f?.startedAt),
    answeredAt: iso(f?.completedAt),
    expiresAt: iso(expiresAt),
    expired,
  };
}

export const dossierRoutes = [
  defineRoute({
    id: 'dossiers.get',
    method: 'GET',
    path: '/dossiers/:code',
    tag: 'dossiers',
    summary: 'Hồ sơ theo mã / one dossier by its code, with its survey funnel',
    description:
      'The funnel: invited, reminded, opened, started, answered, expired. Never the applicant’s phone or contact.',
    auth: 'any',
    permission: 'dossiers:read',
    scope: { kind: 'object' },
    params: z.object({ code: z.string().min(1).max(100) }),
    response: dossierBody,
    handler: async ({ params, scope }) => {
      const d = await Dossier.findOne({ code: params.code }, { applicantPhoneHash: 0, contactIds: 0 }).lean();
      await scope.require(d?.unitCode ?? null);
      if (!d) throw notFound();
      return {
        code: d.code,
        unitCode: d.unitCode,
        procedureCode: d.procedureCode,
        procedureName: d.procedureName ?? null,
        channel: d.channel,
        onlineLevel: d.onlineLevel ?? null,
        status: d.status,
        officerId: d.officerId ?? null,
        receivedAt: iso(d.receivedAt),
        dueAt: iso(d.dueAt),
        finishedAt: iso(d.finishedAt),
        responseId: d.survey?.responseId ?? null,
        funnel: funnelOf(d, new Date()),
      };
    },
  }),
];
