import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { parseEnv, type Env } from '../../config/env';
import { logger } from '../../lib/logger';
import { Broadcast } from '../../models/broadcast';
import { broadcastSenders } from '../../workers/broadcast/channels';
import {
  startBroadcastWorkers,
  type BroadcastWorkers,
  type BroadcastWorkersOptions,
} from '../../workers/broadcast/start';
import { testRedis } from './services';

/**
 * The configuration broadcast tests and benchmarks run with: Telegram at the fake Bot API, and
 * no quiet hours (start = end), so a broadcast goes out whatever the hour of the run.
 */
export function broadcastTestEnv(fake: { token: string; apiRoot: string }, extra: Record<string, string | undefined> = {}): Env {
  return parseEnv({
    NODE_ENV: 'test',
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    QUIET_HOURS_START: '00:00',
    QUIET_HOURS_END: '00:00',
    ...extra,
  });
}

/**
 * Broadcast workers on the channels' own senders against the fake (broadcastTestEnv), finisher
 * every 200 ms; `opts` adds limits and the rest of startBroadcastWorkers' options.
 */
export async function startTestBroadcastWorkers(
  fake: { token: string; apiRoot: string },
  redis: Redis,
  prefix: string,
  opts: Omit<BroadcastWorkersOptions, 'ctx' | 'senders' | 'createConnection'> & {
    createConnection?: () => Redis;
  } = {},
): Promise<{ env: Env; workers: BroadcastWorkers }> {
  const env = broadcastTestEnv(fake);
  const ctx = { env, log: logger, redis, prefix };
  const workers = await startBroadcastWorkers({
    createConnection: testRedis,
    finishIntervalMs: 200,
    ...opts,
    ctx,
    senders: broadcastSenders(ctx),
  });
  return { env, workers };
}

/** Polls the broadcast until its status is one of `statuses`; throws after `timeoutMs`. */
export async function waitBroadcastStatus(id: string, statuses: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const bc = await Broadcast.findById(id, { status: 1 }).lean();
    if (bc && statuses.includes(bc.status)) return;
    if (Date.now() > until) throw new Error(`broadcast ${id} still ${bc?.status}`);
    await sleep(100);
  }
}
