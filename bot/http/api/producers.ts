import type { AppContext } from '../../../lib/app-context';
import type { ControlDeps } from '../../../workers/broadcast/control';
import { BroadcastQueues } from '../../../workers/broadcast/queues';
import type { ScheduleDeps } from '../../../workers/aggregation/rollups/schedule';
import { JobProducer } from '../../../workers/producer';

/**
 * The queues the API's handlers add jobs to (case follow-ups, rollup recomputes after an
 * exclusion, broadcast fan-outs), on the process's producer connection. One set per context,
 * made on first use and closed with the API plugin (apiPlugin's onClose).
 */
export interface ApiProducers {
  jobs: JobProducer;
  broadcasts: BroadcastQueues;
}

const made = new WeakMap<AppContext, ApiProducers>();

export function producersOf(ctx: AppContext): ApiProducers {
  let p = made.get(ctx);
  if (!p) {
    p = {
      jobs: new JobProducer(ctx.redis, ctx.prefix),
      broadcasts: new BroadcastQueues(ctx.redis, ctx.prefix),
    };
    made.set(ctx, p);
  }
  return p;
}

export async function closeProducers(ctx: AppContext): Promise<void> {
  const p = made.get(ctx);
  if (!p) return;
  made.delete(ctx);
  await Promise.all([p.jobs.close(), p.broadcasts.close()]);
}

/** What the broadcast control functions need (workers/broadcast/control.ts). */
export function controlDeps(ctx: AppContext): ControlDeps {
  return { redis: ctx.redis, prefix: ctx.prefix, queues: producersOf(ctx).broadcasts, env: ctx.env };
}

/** What scheduling a rollup recompute needs (workers/aggregation/schedule.ts). */
export function scheduleDeps(ctx: AppContext): ScheduleDeps {
  const { jobs } = producersOf(ctx);
  return {
    redis: ctx.redis,
    prefix: ctx.prefix,
    enqueue: async (name, payload, opts) => void (await jobs.addByName(name, payload, opts)),
  };
}
