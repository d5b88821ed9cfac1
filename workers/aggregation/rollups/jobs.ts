import { z } from 'zod';
import { defineJob, type JobContext } from '../../registry';
import { monthOf } from '../../../lib/time';
import { recomputeMonth, scheduleMonth } from './month';
import { recomputeBucket } from './recompute';
import { recomputeDossierDay } from './dossiers';
import { aggregationSettings } from '../after-complete';

/** A unit-day's figures were written: its month is summed again (after the write, see month.ts). */
function monthAfterDay(ctx: JobContext, unitCode: string, day: string): Promise<string> {
  return scheduleMonth(
    { redis: ctx.redis, prefix: ctx.prefix, enqueue: (name, payload, o) => ctx.enqueue(name, payload, o) },
    unitCode,
    monthOf(day),
    aggregationSettings.coalesceMs,
  );
}

/**
 * Rebuilds one unit-day rollup from the raw answers, then asks for its month totals to be summed
 * again (after the write, see month.ts). jobId: see schedule.ts.
 */
export const rollupRecompute = defineJob({
  name: 'rollup.recompute',
  queue: 'aggregate',
  schema: z.object({
    unitCode: z.string().min(1).max(64),
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  }),
  async handle(p, ctx) {
    const r = await recomputeBucket({ redis: ctx.redis, prefix: ctx.prefix }, p.unitCode, p.day);
    ctx.log.debug(
      { unitCode: p.unitCode, day: p.day, version: r.version, written: r.written },
      'rollup recomputed',
    );
    // A stale write was superseded by a newer run, which schedules the month itself.
    if (r.written) await monthAfterDay(ctx, p.unitCode, p.day);
  },
});

/**
 * Recounts one unit-day's finished dossiers (dossiers.ts), then asks for its month to be summed
 * again, as rollup.recompute does. jobId: see dossiers.ts.
 */
export const rollupDossiers = defineJob({
  name: 'rollup.dossiers',
  queue: 'aggregate',
  schema: z.object({
    unitCode: z.string().min(1).max(64),
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  }),
  async handle(p, ctx) {
    const r = await recomputeDossierDay({ redis: ctx.redis, prefix: ctx.prefix }, p.unitCode, p.day);
    ctx.log.debug(
      { unitCode: p.unitCode, day: p.day, version: r.version, written: r.written },
      'dossier counts recomputed',
    );
    if (r.written) await monthAfterDay(ctx, p.unitCode, p.day);
  },
});

/** Sums one unit-month's day rollups into its month totals. jobId: see month.ts. */
export const rollupMonth = defineJob({
  name: 'rollup.month',
  queue: 'aggregate',
  schema: z.object({
    unitCode: z.string().min(1).max(64),
    month: z.string().regex(/^\d{4}-\d{2}$/),
  }),
  async handle(p, ctx) {
    const r = await recomputeMonth({ redis: ctx.redis, prefix: ctx.prefix }, p.unitCode, p.month);
    ctx.log.debug(
      { unitCode: p.unitCode, month: p.month, version: r.version, written: r.written, days: r.days },
      'month totals recomputed',
    );
  },
});
