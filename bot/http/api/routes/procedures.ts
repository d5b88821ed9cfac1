import { z } from 'zod';
import { Procedure } from '../../../../models/procedure';
import { defineRoute } from '../route';

export const procedureRoutes = [
  defineRoute({
    id: 'procedures.list',
    method: 'GET',
    path: '/procedures',
    tag: 'procedures',
    summary: 'Thủ tục hành chính / the procedure catalogue',
    auth: 'any',
    permission: 'procedures:read',
    scope: { kind: 'global', why: 'the national procedure catalogue belongs to no unit' },
    query: z.object({ q: z.string().max(100).optional().describe('part of the code or name') }),
    response: z.object({
      procedures: z.array(z.object({ code: z.string(), name: z.string(), field: z.string().nullable() })),
    }),
    handler: async ({ query }) => {
      const all = await Procedure.find({}, { code: 1, name: 1, field: 1 }).sort({ code: 1 }).lean();
      const q = query.q?.toLowerCase();
      const hit = q
        ? all.filter((p) => p.code.toLowerCase().includes(q) || p.name.toLowerCase().includes(q))
        : all;
      return { procedures: hit.map((p) => ({ code: p.code, name: p.name, field: p.field ?? null })) };
    },
  }),
];
