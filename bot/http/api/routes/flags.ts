import { z } from 'zod';
import { Flag, FLAG_REASONS } from '../../../../models/flag';
import { Response } from '../../../../models/response';
import { excludeResponse, ExclusionReasonError } from '../../../../workers/aggregation/integrity/bursts';
import { listFlags } from '../../../../indices/flag-list';
import { ApiError, invalid, notFound } from '../errors';
import { scheduleDeps } from '../producers';
import { defineRoute } from '../route';
import { day, isoDate, unitCode } from '../schemas';

const flagBody = z
  .object({
    responseId: z.string(),
    unitCode: z.string(),
    day: z.string(),
    reason: z.enum(FLAG_REASONS),
    params: z
      .record(z.string(), z.number())
      .nullable()
      .describe(
        'the counts behind the reason: identical_burst {count, windowMin}; shared_contact {applicants, windowHours}; counter_network {}',
      ),
    detail: z.string().nullable().describe('flags stored before params: their counts in an English sentence'),
    createdAt: isoDate,
    excluded: z.boolean().describe('whether the response is already left out of the indices'),
  })
  .meta({ id: 'Flag' });

export const flagRoutes = [
  defineRoute({
    id: 'flags.list',
    method: 'GET',
    path: '/flags',
    tag: 'flags',
    summary: 'Phiếu nghi vấn / responses the integrity rules flagged, in a unit subtree between two days',
    description:
      'identical_burst: identical answers in a burst; shared_contact: one chat answering for many applicants; ' +
      'counter_network: a web-chat answer from the one-stop shop’s own network. A flag changes no figure.',
    auth: 'any',
    permission: 'flags:read',
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query: z.object({ unit: unitCode, from: day, to: day }).refine((q) => q.from <= q.to, {
      message: 'Ngày bắt đầu sau ngày kết thúc / from is after to',
      path: ['from'],
    }),
    response: z.object({ flags: z.array(flagBody) }),
    handler: async ({ query: q, scope }) => {
      const rows = await listFlags({ units: await scope.within(q.unit), from: q.from, to: q.to });
      return {
        flags: rows.map((r) => ({
          ...r,
          params: r.params ?? null,
          detail: r.detail ?? null,
          createdAt: r.createdAt.toISOString(),
        })),
      };
    },
  }),

  defineRoute({
    id: 'flags.exclude',
    method: 'POST',
    path: '/flags/:responseId/exclude',
    tag: 'flags',
    summary: 'Loại phiếu khỏi chỉ số / leave a flagged response out of the indices, with a written reason',
    description:
      'The reason (5 characters or more) and who decided go to the audit log; the response’s day is counted ' +
      'again at once. 409 when it is already excluded.',
    auth: 'user',
    permission: 'flags:write',
    scope: { kind: 'object' },
    params: z.object({ responseId: z.string().min(1).max(100) }),
    body: z.object({
      reason: z
        .string()
        .trim()
        .min(5, 'Lý do phải có ít nhất 5 ký tự. / The reason must be at least 5 characters.')
        .max(1000),
    }),
    errors: [409],
    response: z.object({
      responseId: z.string(),
      excluded: z.object({ at: isoDate, by: z.string(), reason: z.string() }),
    }),
    handler: async ({ params, body, scope, caller, deps }) => {
      const flagged = await Flag.findOne({ responseId: params.responseId }, { _id: 0, unitCode: 1 }).lean();
      await scope.require(flagged?.unitCode ?? null);
      if (!flagged) throw notFound();
      const done = await excludeResponse(
        scheduleDeps(deps.ctx),
        params.responseId,
        caller.actor,
        body.reason,
      ).catch((err: unknown) => {
        if (err instanceof ExclusionReasonError)
          throw invalid([
            { path: 'reason', in: 'body', message: 'a written reason of 5 characters or more' },
          ]);
        throw err;
      });
      if (!done)
        throw new ApiError(
          409,
          'already_excluded',
          'Phiếu đã được loại trước đó. / The response is already excluded.',
        );
      const r = await Response.findOne({ responseId: params.responseId }, { _id: 0, excluded: 1 }).lean();
      return {
        responseId: params.responseId,
        excluded: { at: r!.excluded!.at!.toISOString(), by: r!.excluded!.by!, reason: r!.excluded!.reason! },
      };
    },
  }),
];
