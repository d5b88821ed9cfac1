import { z } from 'zod';
import { parsePeriod } from '../../../../lib/time';
import { Unit, type UnitDoc } from '../../../../models/unit';
import { notFound } from '../errors';
import { defineRoute } from '../route';
import { day, iso, isoDate, unitCode } from '../schemas';

const LEVELS = ['province', 'district', 'commune', 'ward', 'town', 'agency'] as const;

const unitBody = z
  .object({
    code: unitCode,
    name: z.string(),
    level: z.enum(LEVELS),
    parentCode: unitCode.nullable(),
    validFrom: isoDate.nullable().describe('first moment the unit exists (null: always did)'),
    validTo: isoDate.nullable().describe('last moment the unit exists (null: still does)'),
    successorCode: unitCode.nullable().describe('the unit that took it over when it was merged'),
  })
  .meta({ id: 'Unit' });

const unitOut = (u: UnitDoc): z.output<typeof unitBody> => ({
  code: u.code,
  name: u.name,
  level: u.level,
  parentCode: u.parentCode ?? null,
  validFrom: iso(u.validFrom),
  validTo: iso(u.validTo),
  successorCode: u.successorCode ?? null,
});

/** Whether a unit existed at some moment of the Asia/Ho_Chi_Minh day. */
function existedOn(u: UnitDoc, dayKey: string): boolean {
  const { start, end } = parsePeriod(dayKey);
  return (!u.validFrom || u.validFrom < end) && (!u.validTo || u.validTo >= start);
}

export const unitRoutes = [
  defineRoute({
    id: 'units.list',
    method: 'GET',
    path: '/units',
    tag: 'units',
    summary: 'Đơn vị / the units the caller answers for, with their history (effective-dated tree)',
    description:
      'Every unit in scope: the caller’s units, the units below them and the units merged into them. ' +
      '`at` keeps the units that existed on that day; `parent` the children of one unit.',
    auth: 'any',
    permission: 'units:read',
    scope: { kind: 'list' },
    query: z.object({ at: day.optional(), parent: unitCode.optional(), level: z.enum(LEVELS).optional() }),
    response: z.object({ units: z.array(unitBody) }),
    handler: async ({ query, scope }) => {
      const filter: Record<string, unknown> = { ...(await scope.filter('code')) };
      if (query.parent) filter.parentCode = query.parent;
      if (query.level) filter.level = query.level;
      const units = await Unit.find(filter).sort({ code: 1 }).lean();
      const at = query.at;
      return { units: (at ? units.filter((u) => existedOn(u, at)) : units).map(unitOut) };
    },
  }),

  defineRoute({
    id: 'units.get',
    method: 'GET',
    path: '/units/:code',
    tag: 'units',
    summary: 'Một đơn vị / one unit, its children and the units merged into it',
    auth: 'any',
    permission: 'units:read',
    scope: { kind: 'unit', in: 'params', field: 'code' },
    params: z.object({ code: unitCode }),
    response: unitBody.extend({ children: z.array(unitCode), mergedFrom: z.array(unitCode) }),
    handler: async ({ params, scope }) => {
      const unit = await Unit.findOne({ code: params.code }).lean();
      if (!unit) throw notFound();
      const inScope = await scope.filter('code');
      const [children, merged] = await Promise.all([
        Unit.find({ parentCode: unit.code, ...inScope }, { code: 1 })
          .sort({ code: 1 })
          .lean(),
        Unit.find({ successorCode: unit.code, ...inScope }, { code: 1 })
          .sort({ code: 1 })
          .lean(),
      ]);
      return {
        ...unitOut(unit),
        children: children.map((c) => c.code),
        mergedFrom: merged.map((c) => c.code),
      };
    },
  }),
];
