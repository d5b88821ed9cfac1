import { create as contentDisposition } from 'content-disposition';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../../../lib/app-context';
import { listCases } from '../../../indices/case-list';
import { listFlags } from '../../../indices/flag-list';
import { buildRanking } from '../../../indices/ranking';
import { renderReport } from '../../../indices/report-file';
import { Unit } from '../../../models/unit';
import { scopedUnits, UnitAccessError } from '../../../indices/units';
import { apiCaller } from '../api-caller';

export interface ReportRoutesDeps {
  ctx: AppContext;
  now?: () => Date;
}

const period = z.string().regex(/^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$/, 'expected YYYY, YYYY-Qn or YYYY-MM');
const unit = z.string().min(1).max(64);
const indicesQuery = z.object({
  unit,
  period,
  format: z.enum(['json', 'csv', 'xlsx']).default('json'),
  procedure: z.string().max(64).optional(),
  officer: z.string().max(64).optional(),
  channel: z.enum(['in_person', 'online', 'online_3', 'online_4', 'post', 'unknown']).optional(),
});
const rankingQuery = z.object({ unit, period, minN: z.coerce.number().int().min(1).max(100_000).optional() });
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const flagsQuery = z.object({ unit, from: day, to: day }).refine((q) => q.from <= q.to, {
  message: 'Ngày bắt đầu sau ngày kết thúc / from is after to',
  path: ['from'],
});
const casesQuery = z.object({
  unit,
  period,
  status: z.enum(['open', 'in_progress', 'closed']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/**
 * Read API for indices ("tự đánh giá"), trends, breakdowns, ranking, response rate and cases:
 * GET /api/v1/reports/indices?unit&period[&format=json|csv|xlsx&procedure|officer|channel],
 * /api/v1/reports/ranking?unit&period[&minN], /api/v1/reports/cases?unit&period[&status],
 * /api/v1/reports/flags?unit&from&to (integrity flags, with whether each response is excluded;
 * excluding is `hailong flags exclude`, an operator's command).
 * The caller is an API key (Bearer); it reads only its units and what lies below or was merged
 * into them (an unscoped key reads every unit). 401 bad key, 429 over a budget, 422 bad query,
 * 404 a unit that does not exist (for any key), 403 a unit outside the key's units.
 */
export function reportRoutes(deps: ReportRoutesDeps): FastifyPluginAsync {
  const { ctx } = deps;
  const now = deps.now ?? (() => new Date());

  /** The caller's allowed units, subtree-expanded; null = every unit; undefined = refused (401, 429). */
  async function callerUnits(req: FastifyRequest, reply: FastifyReply): Promise<string[] | null | undefined> {
    const caller = await apiCaller(req, reply, { ctx, now, budget: 'reports' });
    return caller ? caller.units : undefined;
  }

  /** The same answer for any key: a unit that is not in the units collection has no figures. */
  async function knownUnit(code: string, reply: FastifyReply): Promise<boolean> {
    if (await Unit.exists({ code })) return true;
    await reply.status(404).send({ error: 'not_found', message: `no unit ${code}` });
    return false;
  }

  function parse<T>(schema: z.ZodType<T>, req: FastifyRequest, reply: FastifyReply): T | undefined {
    const r = schema.safeParse(req.query);
    if (r.success) return r.data;
    void reply.status(422).send({
      error: 'invalid_query',
      issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
    return undefined;
  }

  async function guarded(reply: FastifyReply, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (err instanceof UnitAccessError) {
        await reply.status(403).send({ error: 'forbidden', message: err.message });
        return;
      }
      if (err instanceof Error && /filter by one/.test(err.message)) {
        await reply.status(422).send({ error: 'invalid_query', message: err.message });
        return;
      }
      throw err;
    }
  }

  return async (app) => {
    app.get('/api/v1/reports/indices', async (req, reply) => {
      const units = await callerUnits(req, reply);
      if (units === undefined) return;
      const q = parse(indicesQuery, req, reply);
      if (!q || !(await knownUnit(q.unit, reply))) return;
      await guarded(reply, async () => {
        const file = await renderReport({
          unit: q.unit,
          period: q.period,
          units,
          format: q.format,
          officerMinN: ctx.env.OFFICER_MIN_N,
          now: now(),
          ...(q.procedure ? { procedure: q.procedure } : {}),
          ...(q.officer ? { officer: q.officer } : {}),
          ...(q.channel ? { channel: q.channel } : {}),
        });
        void reply.header('content-type', file.contentType);
        if (file.format !== 'json')
          void reply.header('content-disposition', contentDisposition(file.filename));
        await reply.send(file.body);
      });
    });

    app.get('/api/v1/reports/ranking', async (req, reply) => {
      const units = await callerUnits(req, reply);
      if (units === undefined) return;
      const q = parse(rankingQuery, req, reply);
      if (!q || !(await knownUnit(q.unit, reply))) return;
      await guarded(reply, async () => {
        await reply.send(
          await buildRanking({
            parent: q.unit,
            period: q.period,
            units,
            ...(q.minN ? { minN: q.minN } : {}),
          }),
        );
      });
    });

    app.get('/api/v1/reports/flags', async (req, reply) => {
      const units = await callerUnits(req, reply);
      if (units === undefined) return;
      const q = parse(flagsQuery, req, reply);
      if (!q || !(await knownUnit(q.unit, reply))) return;
      await guarded(reply, async () => {
        const flags = await listFlags({ units: await scopedUnits(q.unit, units), from: q.from, to: q.to });
        await reply.send({ unit: q.unit, from: q.from, to: q.to, count: flags.length, flags });
      });
    });

    app.get('/api/v1/reports/cases', async (req, reply) => {
      const units = await callerUnits(req, reply);
      if (units === undefined) return;
      const q = parse(casesQuery, req, reply);
      if (!q || !(await knownUnit(q.unit, reply))) return;
      await guarded(reply, async () => {
        const cases = await listCases({
          unit: q.unit,
          period: q.period,
          units,
          limit: q.limit,
          ...(q.status ? { status: q.status } : {}),
        });
        await reply.send({ unit: q.unit, period: q.period, count: cases.length, cases });
      });
    });
  };
}
