import { z } from 'zod';
import { buildRanking } from '../../../../indices/ranking';
import { buildReport } from '../../../../indices/report';
import { invalid } from '../errors';
import { defineRoute } from '../route';
import { figureChannel, period, unitCode } from '../schemas';

/**
 * The figures of a unit subtree and period, from the aggregation's read side (one formula:
 * workers/aggregation/formula.ts; docs/indices.md). Self-assessed ("tự đánh giá"), never the
 * official SIPAS.
 */
const interval = z.object({ low: z.number(), high: z.number() }).nullable().describe('95% Wilson interval');
const share = z
  .object({
    n: z.number().int(),
    satisfied: z.number().int(),
    dissatisfied: z.number().int(),
    na: z.number().int(),
    index: z.number().nullable(),
    ci95: interval,
  })
  .meta({ id: 'Share' });
const ratioBody = z
  .object({
    numerator: z.number().int(),
    denominator: z.number().int(),
    value: z.number().nullable(),
    ci95: interval,
  })
  .meta({ id: 'Ratio' });
const figures = {
  responses: z.number().int(),
  dissatisfiedResponses: z.number().int(),
  elements: z
    .record(z.string(), share)
    .describe('by element code (TIEP_CAN, TTHC, CONG_CHUC, KET_QUA, PAKN, TONG_THE)'),
  overall: share.describe('the mean of the five SIPAS elements'),
};
const keyed = z.object({ key: z.string(), ...figures });

const reportBody = z
  .object({
    label: z.string(),
    labelEn: z.string(),
    formulaVersion: z.number().int(),
    unit: z.string(),
    unitName: z.string().nullable(),
    period: z.string(),
    from: z.string(),
    to: z.string(),
    filters: z.object({
      procedure: z.string().nullable(),
      officer: z.string().nullable(),
      channel: z.string().nullable(),
    }),
    unitsIncluded: z.array(z.string()),
    excludedResponses: z.number().int(),
    ...figures,
    responseRate: ratioBody.describe('completed responses over completed dossiers'),
    ratio766: ratioBody
      .extend({
        completedDossiers: z.number().int(),
        dossiersWithDissatisfactionOrOpenCase: z.number().int(),
      })
      .describe(
        'Decision 766: dossiers without dissatisfaction or an unhandled case, over completed dossiers',
      ),
    cases: z
      .object({
        opened: z.number().int(),
        open: z.number().int(),
        overdue: z.number().int(),
        escalated: z.number().int(),
        closed: z.number().int(),
        closedOnTime: z.number().int(),
        onTime: ratioBody,
      })
      .optional(),
    trend: z
      .array(z.object({ period: z.string(), responses: z.number().int(), index: z.number().nullable() }))
      .optional()
      .describe('by month'),
    byChannel: z.array(keyed).optional(),
    byProcedure: z.array(keyed).optional(),
    byOfficer: z
      .object({ minN: z.number().int(), withheld: z.number().int(), rows: z.array(keyed) })
      .optional()
      .describe('officers with fewer than minN responses are withheld'),
  })
  .meta({ id: 'IndexReport' });

const rankingBody = z
  .object({
    parent: z.string(),
    period: z.string(),
    minN: z.number().int(),
    rows: z.array(
      z.object({
        unitCode: z.string(),
        name: z.string(),
        responses: z.number().int(),
        index: z.number().nullable(),
        rank: z.number().int().nullable(),
        status: z.string().describe('ranked, or "chưa đủ dữ liệu" under minN responses'),
        ci95: interval,
      }),
    ),
  })
  .meta({ id: 'Ranking' });

const FIGURES = { tag: 'indices', auth: 'any', permission: 'indices:read' } as const;

export const indexRoutes = [
  defineRoute({
    ...FIGURES,
    id: 'indices.get',
    method: 'GET',
    path: '/indices',
    summary:
      'Chỉ số hài lòng / the index of a unit subtree and period, by element, procedure, officer and channel',
    description:
      'With n and the 95% interval of every share, the Decision 766 ratio, the response rate, case handling ' +
      'and the trend by month. One of procedure, officer or channel may filter the figures.',
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query: z.object({
      unit: unitCode,
      period,
      procedure: z.string().max(64).optional(),
      officer: z.string().max(64).optional(),
      channel: figureChannel.optional(),
    }),
    response: reportBody,
    handler: async ({ query: q, scope, deps }) => {
      if ([q.procedure, q.officer, q.channel].filter(Boolean).length > 1)
        throw invalid([
          { path: 'procedure', in: 'query', message: 'filter by one of procedure, officer or channel' },
        ]);
      return buildReport({
        unit: q.unit,
        period: q.period,
        units: await scope.list(),
        officerMinN: deps.ctx.env.OFFICER_MIN_N,
        cache: deps.monthCache,
        ...(q.procedure ? { procedure: q.procedure } : {}),
        ...(q.officer ? { officer: q.officer } : {}),
        ...(q.channel ? { channel: q.channel } : {}),
      });
    },
  }),

  defineRoute({
    ...FIGURES,
    id: 'indices.ranking',
    method: 'GET',
    path: '/indices/ranking',
    summary: 'Xếp hạng đơn vị trực thuộc / ranking of the child units of a unit for a period',
    description:
      'Units under minN responses are not ranked ("chưa đủ dữ liệu"); only children in the caller’s units.',
    scope: { kind: 'unit', in: 'query', field: 'unit' },
    query: z.object({ unit: unitCode, period, minN: z.coerce.number().int().min(1).max(100_000).optional() }),
    response: rankingBody,
    handler: async ({ query: q, scope, deps }) =>
      buildRanking({
        parent: q.unit,
        period: q.period,
        units: await scope.list(),
        ...(q.minN ? { minN: q.minN } : {}),
        cache: deps.monthCache,
      }),
  }),
];
