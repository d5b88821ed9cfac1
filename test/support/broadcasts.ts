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
import { FakeTelegram } from '../fakes/telegram-server';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from './services';

/**
 * The configuration broadcast tests and benchmarks run with: Telegram at the fake Bot API, and
 * no quiet hours (start = end), so a broadcast goes out whatever the hour of the run.
 */
export function broadcastTestEnv(
  fake: { token: string; apiRoot: string },
  extra: Record<string, string | undefined> = {},
): Env {
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

export interface TelegramBroadcastHarness {
  /** This file's own key prefix. */
  readonly prefix: string;
  readonly redis: Redis;
  /** The fake Bot API, started before the file's tests. */
  readonly fake: FakeTelegram;
  /** startTestBroadcastWorkers against the fake; the workers stop after the file. */
  startWorkers(
    opts?: Parameters<typeof startTestBroadcastWorkers>[3],
  ): Promise<{ env: Env; workers: BroadcastWorkers }>;
}

/**
 * What the Telegram broadcast test files share: a fresh database, a key prefix and the fake Bot
 * API, started in `beforeAll`; the fake, the workers started through the harness, the keys and
 * the database cleaned up after.
 */
export function telegramBroadcastHarness(label: string): TelegramBroadcastHarness {
  const prefix = testPrefix(label);
  const redis = testRedis();
  let fake: FakeTelegram | null = null;
  const started: BroadcastWorkers[] = [];
  beforeAll(async () => {
    await connectTestDb(label);
    fake = await FakeTelegram.start();
  });
  afterAll(async () => {
    for (const w of started) await w.close();
    await fake?.close();
    await clearPrefix(redis, prefix);
    await redis.quit();
    await dropTestDb();
  });
  return {
    prefix,
    redis,
    get fake(): FakeTelegram {
      if (!fake) throw new Error('the fake Bot API starts in beforeAll');
      return fake;
    },
    async startWorkers(opts = {}) {
      const r = await startTestBroadcastWorkers(this.fake, redis, prefix, opts);
      started.push(r.workers);
      return r;
    },
  };
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
