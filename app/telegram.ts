import type { FastifyPluginAsync } from 'fastify';
import type { Telegram } from 'telegraf';
import { createTelegramClient } from '../bot/channels/telegram/api-client';
import { startPolling, type Poller } from '../bot/channels/telegram/polling';
import { SentMarks } from '../bot/channels/telegram/sent-marks';
import { createTelegramTurnHandler } from '../bot/channels/telegram/turn-handler';
import { createGroupCommandHandler } from '../bot/channels/telegram/group-commands';
import { UpdateInbox } from '../bot/channels/telegram/update-inbox';
import { telegramWebhookRoute } from '../bot/channels/telegram/webhook-route';
import { secretsKeyRingOf } from '../lib/secret-box';
import type { ConversationService } from '../bot/conversation/service';
import type { Env } from '../config/env';
import type { Logger } from '../lib/logger';
import type { Shutdown } from '../lib/shutdown';
import { createCaseGroupActions } from '../workers/aggregation/cases/group-actions';
import { digestForChat } from '../workers/aggregation/digest/figures';
import { renderDigest } from '../workers/aggregation/digest/text';
import type { JobProducer } from '../workers/producer';
import type { AppContext } from '../lib/app-context';
import type { Role } from './start';

export interface TelegramRuntime {
  telegram: Telegram | null;
  inbox: UpdateInbox | null;
  /** POST /webhooks/telegram, when this process serves HTTP in webhook mode. */
  route: FastifyPluginAsync | null;
  /** Registers the webhook (webhook mode) once the HTTP server listens. */
  afterListen(): Promise<void>;
}

/**
 * The Telegram channel of a process. `http` stores incoming updates (webhook); `bot` applies
 * them (drains the inbox, sweeps chats other processes left, polls in polling mode).
 */
export async function startTelegram(opts: {
  ctx: AppContext;
  service: ConversationService;
  roles: Set<Role>;
  shutdown: Shutdown;
  /** For the jobs unit groups start (a case's follow-up to the citizen). */
  producer: JobProducer;
}): Promise<TelegramRuntime> {
  const { ctx, roles, shutdown } = opts;
  const env = ctx.env;
  if (!env.TELEGRAM_BOT_TOKEN) {
    ctx.log.info('Telegram channel off (TELEGRAM_BOT_TOKEN not set)');
    return { telegram: null, inbox: null, route: null, afterListen: async () => undefined };
  }
  const log = ctx.log.child({ channel: 'telegram' });
  const telegram = createTelegramClient({
    token: env.TELEGRAM_BOT_TOKEN,
    apiRoot: env.TELEGRAM_API_ROOT,
    maxRetries: env.TELEGRAM_MAX_RETRIES,
    maxRetryAfterS: env.TELEGRAM_MAX_RETRY_AFTER_S,
    stopSignal: ctx.stopSignal,
    log,
  });
  const botId = env.TELEGRAM_BOT_TOKEN.split(':')[0];
  const sentMarks = new SentMarks(ctx.redis, `${ctx.prefix}:tg:${botId}`);
  const turn = createTelegramTurnHandler({ telegram, service: opts.service, sentMarks, log });
  // Unit groups (`/baocao`, `/ketnoi`, case buttons and replies) apart from the survey (which ignores group chats).
  const groupCommand = createGroupCommandHandler({
    telegram,
    log,
    ...(env.TELEGRAM_BOT_USERNAME ? { botUsername: env.TELEGRAM_BOT_USERNAME } : {}),
    botId: Number(botId),
    cases: createCaseGroupActions({ redis: ctx.redis, prefix: ctx.prefix, producer: opts.producer, log }),
    reportFor: async (chatId, day, now) => {
      const f = await digestForChat(chatId, day, now);
      return f ? renderDigest(f) : null;
    },
  });
  const handler: typeof turn = async (update) => {
    if (!(await groupCommand(update))) await turn(update);
  };
  const inbox = new UpdateInbox(ctx.redis, ctx.prefix, botId, handler, log, {
    retryForMs: env.TELEGRAM_UPDATE_RETRY_FOR_S * 1000,
    deadLetterTtlS: Math.round(env.TELEGRAM_DEAD_LETTER_TTL_DAYS * 86_400),
    secretsKey: secretsKeyRingOf(env),
  });
  const applies = roles.has('bot');
  const onAccepted = (chatKey: string) => {
    if (applies) inbox.kick(chatKey);
  };
  if (applies) inbox.startSweeper();
  // Turns in flight have the shutdown's grace (lib/shutdown.ts STOP_GRACE_MS) to finish. Past it
  // the Bot API is hanging or failing (a call may retry for a minute and more): the process's
  // stop signal abandons their calls, each update stays at the head of its chat with its retry
  // state, and the next process applies it (the messages it had sent are marked, SentMarks, and
  // not sent again). docs/faults.md, "The drain bound".
  shutdown.add('telegram-inbox', () => inbox.stop(), 15);

  let poller: Poller | null = null;
  if (env.TELEGRAM_MODE === 'polling' && applies) {
    poller = startPolling({ telegram, inbox, redis: ctx.redis, prefix: ctx.prefix, onAccepted, log });
    shutdown.add('telegram-polling', () => poller!.stop(), 5);
  }
  const route =
    env.TELEGRAM_MODE === 'webhook' && roles.has('http')
      ? telegramWebhookRoute({ secret: env.TELEGRAM_WEBHOOK_SECRET!, inbox, onAccepted, log })
      : null;

  return {
    telegram,
    inbox,
    route,
    async afterListen() {
      if (env.TELEGRAM_MODE !== 'webhook' || !env.TELEGRAM_SET_WEBHOOK || !roles.has('http')) return;
      await telegram.setWebhook(`${env.PUBLIC_URL.replace(/\/$/, '')}/webhooks/telegram`, {
        secret_token: env.TELEGRAM_WEBHOOK_SECRET!,
        allowed_updates: ['message', 'callback_query', 'my_chat_member'],
        max_connections: 40,
      });
      log.info('webhook registered');
    },
  };
}

/**
 * The bot's username, which deep links need (bot/survey/links.ts): TELEGRAM_BOT_USERNAME, or
 * else asked of the Bot API once at start (getMe). Returns the configuration to build the process
 * from, with the username filled in when it was learned. When neither works the log says so,
 * once, and the links stay null (the web link still works).
 */
export async function learnBotUsername(env: Env, log: Logger, timeoutMs = 10_000): Promise<Env> {
  if (env.TELEGRAM_BOT_USERNAME || !env.TELEGRAM_BOT_TOKEN) return env;
  // A short budget: start-up must not wait on an unreachable Telegram.
  const telegram = createTelegramClient({
    token: env.TELEGRAM_BOT_TOKEN,
    apiRoot: env.TELEGRAM_API_ROOT,
    maxRetries: 2,
    maxRetryAfterS: 5,
    backoffMs: 200,
    log,
  });
  try {
    // telegraf types its signal as the abort-controller polyfill's; Node's own is what it uses at run time.
    const me = await telegram.callApi('getMe', {}, { signal: AbortSignal.timeout(timeoutMs) as never });
    if (!me.username) throw new Error('getMe returned no username');
    log.info({ channel: 'telegram', botUsername: me.username }, 'TELEGRAM_BOT_USERNAME learned from getMe');
    return Object.freeze({ ...env, TELEGRAM_BOT_USERNAME: me.username });
  } catch (err) {
    log.warn(
      { channel: 'telegram', err: (err as Error).message },
      'TELEGRAM_BOT_USERNAME is not set and getMe failed: Telegram deep links are off (telegramLink null) until it is set',
    );
    return env;
  }
}
