import { z } from 'zod';
import { defineJob } from '../registry';
import { recomputeBucket } from './recompute';

/** Rebuilds one unit-day rollup from the raw answers. jobId: see schedule.ts. */
export const rollupRecompute = defineJob({
  name: 'rollup.recompute',
  queue: 'aggregate',
  schema: z.object({
    unitCode: z.string().min(1).max(64),
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  }),
  async handle(p, ctx) {
    const r = await recomputeBucket({ redis: ctx.redis, prefix: ctx.prefix }, p.unitCode, p.day);
    ctx.log.debug({ unitCode: p.unitCode, day: p.day, version: r.version, written: r.written }, 'rollup recomputed');
  },
});
