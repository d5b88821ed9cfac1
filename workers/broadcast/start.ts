import type { RedisClient } from '../../lib/redis';
import type { Worker } from 'bullmq';
import type { AppContext } from '../../lib/app-context';
import type { BroadcastChannel } from '../../models/broadcast';
import { deliveryFetchers, DELIVERY_SLOTS_PER_FETCHER, deliverySizing } from '../queues';
import { allWorkers, startQueueWorkers, type JobObserver, type RunningWorkers } from '../runner';
import { DeliveryProcessor } from './delivery';
import { fanoutLead } from './fanout';
import { ChannelLimiter } from './limiter';
import { channelLimits, concurrencyFor, rateWindow, type ChannelLimit } from './limits';
import { finishBroadcasts } from './progress';
import { BroadcastQueues, CONTROL_QUEUE, deliveryQueueName } from './queues';
import type { BroadcastSender } from './senders';

export { deliveryFetchers, DELIVERY_SLOTS_PER_FETCHER };

export interface BroadcastWorkersOptions {
  ctx: AppContext;
  /** A blocking connection per worker (maxRetriesPerRequest: null). */
  createConnection: () => RedisClient;
  /** Channels this process delivers on; a channel without a sender is not consumed here. */
  senders: Partial<Record<BroadcastChannel, BroadcastSender>>;
  /** Overrides of the configured limits (tests, bench). */
  limits?: Partial<Record<BroadcastChannel, Partial<ChannelLimit>>>;
  lockDuration?: number;
  stalledInterval?: number;
  /** How often finished broadcasts are marked completed. */
  finishIntervalMs?: number;
  /** Told of every run of a broadcast job (workers/runner.ts). */
  observe?: JobObserver;
}

export interface BroadcastWorkers {
  queues: BroadcastQueues;
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * The broadcast side of a `workers` process: the control worker (fan-out, scheduled starts,
 * quiet-hour resumes) and one delivery worker per channel with its queue-level limiter, plus the
 * finisher. Survey replies never pass through here (they are sent directly by the channel), so
 * a long broadcast cannot delay a conversation; the broadcast rate leaves them a reserve.
 */
export async function startBroadcastWorkers(opts: BroadcastWorkersOptions): Promise<BroadcastWorkers> {
  const { ctx } = opts;
  const log = ctx.log.child({ part: 'broadcast' });
  const queues = new BroadcastQueues(ctx.redis, ctx.prefix);
  // The limits each channel delivers at here, and the fan-out's lead from them (fanout.ts).
  const configured = channelLimits(ctx.env);
  const resolved = new Map<BroadcastChannel, ChannelLimit>();
  for (const channel of Object.keys(opts.senders) as BroadcastChannel[]) {
    const limitPerS = opts.limits?.[channel]?.limitPerS ?? configured[channel].limitPerS;
    const concurrency =
      opts.limits?.[channel]?.concurrency ??
      (opts.limits?.[channel]?.limitPerS ? concurrencyFor(limitPerS) : configured[channel].concurrency);
    resolved.set(channel, { limitPerS, concurrency });
  }
  const lead = Object.fromEntries([...resolved].map(([ch, l]) => [ch, fanoutLead(l.limitPerS)]));
  const deps = { redis: ctx.redis, prefix: ctx.prefix, queues, env: ctx.env, log, lead };
  const common = {
    ctx: { ...ctx, log },
    producer: queues.producer,
    createConnection: opts.createConnection,
    ...(opts.lockDuration ? { lockDuration: opts.lockDuration } : {}),
    ...(opts.stalledInterval ? { stalledInterval: opts.stalledInterval } : {}),
    ...(opts.observe ? { observe: opts.observe } : {}),
  };
  const parts: RunningWorkers[] = [];
  try {
    parts.push(await startQueueWorkers({ ...common, queue: CONTROL_QUEUE, deps }));
    for (const [channel, sender] of Object.entries(opts.senders) as Array<
      [BroadcastChannel, BroadcastSender]
    >) {
      const { limitPerS, concurrency } = resolved.get(channel)!;
      const limiter = new ChannelLimiter(ctx.redis, ctx.prefix, channel, {
        ...rateWindow(channel, limitPerS),
        marginMs: ctx.env.BROADCAST_RATE_MARGIN_MS,
      });
      const processor = new DeliveryProcessor({
        ...deps,
        sender,
        limiter,
        queue: queues.deliveryQueue(channel),
      });
      const sizing = deliverySizing(limitPerS, concurrency);
      parts.push(
        await startQueueWorkers({ ...common, queue: deliveryQueueName(channel), deps: processor, sizing }),
      );
      log.info(
        {
          channel,
          limitPerS,
          concurrency,
          fetchers: sizing.fetchers,
          marginMs: ctx.env.BROADCAST_RATE_MARGIN_MS,
        },
        'broadcast delivery worker started',
      );
    }
  } catch (err) {
    await Promise.all(parts.map((p) => p.close()));
    await queues.close();
    throw err;
  }
  const running = allWorkers(parts);

  let finishing = false;
  const timer = setInterval(() => {
    if (finishing) return;
    finishing = true;
    finishBroadcasts(ctx.redis, ctx.prefix)
      .catch((err: Error) => log.error({ err: err.message }, 'broadcast finisher failed'))
      .finally(() => (finishing = false));
  }, opts.finishIntervalMs ?? 2000);
  timer.unref();

  let closing: Promise<void> | null = null;
  return {
    queues,
    workers: running.workers,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        await running.close();
        await queues.close();
      })();
      return closing;
    },
  };
}
