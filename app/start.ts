import type { FastifyInstance } from 'fastify';
import { env as loadEnv, type Env } from '../config/env';
import { logger } from '../lib/logger';
import { connectMongo, disconnectMongo } from '../lib/mongo';
import { createProducerConnection, createWorkerConnection } from '../lib/redis';
import { createShutdown } from '../lib/shutdown';
import { buildIndexes, buildsIndexesAtStart, requireIndexes } from '../lib/db/indexes';
import { setReadSidePreference } from '../lib/db/read-side';
import { startFlowChangeBus } from '../bot/flow/change-bus';
import { FlowRepository } from '../bot/flow/repository';
import { requireDefaultFlow } from '../bot/flow/ensure-default';
import { createHttpServer } from '../bot/http/server';
import { rateLimitsOf } from '../bot/http/rate-limit';
import { healthzRoute } from '../bot/http/routes/healthz';
import { metricsRoute } from '../bot/http/routes/metrics';
import { operatorAuth } from '../bot/http/operator-auth';
import { QueueCatalogue } from '../bot/http/queue-catalogue';
import { queueDashboard } from '../bot/http/queue-dashboard';
import { startPlatformHealthPublisher } from '../lib/platform-health';
import { dossierRoutes } from '../bot/http/routes/dossiers';
import { reportRoutes } from '../bot/http/routes/reports';
import { apiPlugin } from '../bot/http/api/plugin';
import { consolePlugin } from '../bot/http/console/plugin';
import { publicResultsRoutes } from '../bot/http/public/routes';
import { scheduleCaseEscalation } from '../workers/aggregation/cases/schedule-escalation';
import { setCaseZaloClient } from '../workers/aggregation/cases/case-jobs';
import { scheduleDigest } from '../workers/aggregation/digest/schedule';
import { scheduleRetention } from '../workers/jobs/privacy-retention';
import { surveyPageRoutes } from '../bot/http/routes/survey-pages';
import { webChatRoutes } from '../bot/channels/web/routes';
import { Outreach } from '../workers/jobs/invitation-queue';
import {
  telegramInvitationSender,
  zaloInvitationSender,
  znsInvitationSender,
  znsProactiveSender,
  type InvitationSender,
} from '../workers/jobs/invitation-senders';
import { broadcastSenders } from '../workers/broadcast/channels';
import { startBroadcastWorkers } from '../workers/broadcast/start';
import { JobProducer } from '../workers/producer';
import { REGISTRY_QUEUES, startWorkers } from '../workers/runner';
import type { AppContext } from '../lib/app-context';
import { jobAnswerSink } from '../workers/answer-sink';
import { applyRolePriority } from './priority';
import { heartbeatFresh, startHeartbeat } from './heartbeat';
import { learnBotUsername, startTelegram } from './telegram';
import { startZalo } from './zalo';
import { createConversation } from './conversation';

export type Role = 'http' | 'bot' | 'workers';
export const ALL_ROLES: readonly Role[] = ['http', 'bot', 'workers'];

export interface StartOptions {
  roles?: Role[];
  env?: Env;
  /** Handle SIGTERM/SIGINT (the CLI does; tests do not). */
  handleSignals?: boolean;
}

export interface RunningApp {
  ctx: AppContext;
  /** The app's server, or the operators' server of a process without the http role. */
  http: FastifyInstance | null;
  /** The bound port when the http role runs. */
  port: number | null;
  /** The operators' port of a process without the http role, when OPS_PORT is set. */
  opsPort: number | null;
  stop(): Promise<void>;
}

/**
 * Composes a process from its roles: `http` (webhooks, API, pages), `bot` (applies chat updates),
 * `workers` (BullMQ consumers): those given, else ROLES, else all three in this one process.
 * `hailong start` without roles runs the workers apart instead (app/layout.ts).
 */
export async function startApp(opts: StartOptions = {}): Promise<RunningApp> {
  const configured = opts.env ?? loadEnv();
  const roles = new Set<Role>(opts.roles ?? configured.ROLES ?? ALL_ROLES);
  const log = logger.child({ roles: [...roles].join(',') });
  // Everything below reads the bot's username from here (deep links): learned when not set.
  const env = await learnBotUsername(configured, log);
  applyRolePriority(roles, env.WORKERS_NICE, log);
  const shutdown = createShutdown(log);

  await connectMongo(env.MONGODB_URI);
  setReadSidePreference(env.MONGO_READ_PREFERENCE);
  shutdown.add('mongodb', disconnectMongo, 100);
  // Unique indexes make ingest idempotent: present before anything writes (lib/db/indexes.ts).
  if (buildsIndexesAtStart(env)) await buildIndexes();
  else await requireIndexes();
  const flows = new FlowRepository();
  // A citizen's /start needs a published flow: put the default in place (as `seed` does) or refuse.
  if (roles.has('bot') || roles.has('http')) await requireDefaultFlow(flows);

  const redis = createProducerConnection(env);
  shutdown.add('redis', async () => void (await redis.quit()), 90);
  const ctx: AppContext = { env, log, redis, prefix: env.REDIS_PREFIX, stopSignal: shutdown.stopSignal };
  // A flow assigned or published in one process reaches every other's cache at once.
  const flowBus = await startFlowChangeBus(redis, ctx.prefix, log);
  shutdown.add('flow-change-bus', () => flowBus.close(), 85);
  const producer = new JobProducer(redis, ctx.prefix);
  shutdown.add('producer', () => producer.close(), 80);

  const sink = jobAnswerSink(producer);
  // Invitations and reminders; its senders are filled in once the channels exist.
  const senders: Partial<Record<'telegram' | 'zalo' | 'zns', InvitationSender>> = {};
  const outreach = new Outreach({ ctx, senders });
  shutdown.add('outreach', () => outreach.close(), 20);
  const service = createConversation({
    ctx,
    producer,
    sink,
    flows,
    hooks: outreach.hooks(),
    shutdown,
    turns: roles.has('bot') || roles.has('http'),
  });

  // The queues this process consumes (WORKER_QUEUES), when it has the workers role.
  const consumes = new Set(roles.has('workers') ? env.WORKER_QUEUES : []);
  const registryQueues = REGISTRY_QUEUES.filter((q) => consumes.has(q));
  if (registryQueues.length > 0) {
    const workers = await startWorkers({
      ctx,
      producer,
      createConnection: () => createWorkerConnection(env),
      queues: registryQueues,
    });
    shutdown.add('workers', () => workers.close(), 20);
  }
  if (consumes.has('aggregate')) {
    await scheduleCaseEscalation(producer.getQueue('aggregate'));
    await scheduleDigest(producer.getQueue('aggregate'), env.DIGEST_AT);
    await scheduleRetention(producer.getQueue('aggregate'), env.RETENTION_AT, env.RETENTION_DAYS);
  }

  const telegram = await startTelegram({ ctx, service, roles, shutdown, producer });
  const adminChat = env.ADMIN_TELEGRAM_CHAT_ID;
  const tg = telegram.telegram;
  const zalo = startZalo({
    ctx,
    service,
    sink,
    hooks: outreach.hooks(),
    roles,
    shutdown,
    ...(adminChat && tg
      ? { alertAdmins: async (text: string) => void (await tg.sendMessage(adminChat, text)) }
      : {}),
  });
  if (telegram.telegram) senders.telegram = telegramInvitationSender(telegram.telegram);
  if (zalo) senders.zalo = zaloInvitationSender(zalo.proactive, log);
  // Case follow-ups to Zalo citizens go through this process's Zalo client (workers/aggregation/cases/case-jobs.ts).
  setCaseZaloClient(zalo?.client ?? null);
  if (zalo && env.INVITE_CHANNEL_ORDER.includes('zns'))
    senders.zns = znsInvitationSender(znsProactiveSender(ctx, zalo.client), log);
  if (consumes.has('outreach')) await outreach.startWorker();
  if (consumes.has('broadcast')) {
    const broadcasts = await startBroadcastWorkers({
      ctx,
      createConnection: () => createWorkerConnection(env),
      senders: broadcastSenders(ctx, { zaloClient: zalo?.client ?? null }),
    });
    shutdown.add('broadcasts', () => broadcasts.close(), 20);
  }

  let http: FastifyInstance | null = null;
  let port: number | null = null;
  let opsPort: number | null = null;
  // Operators' instruments (docs/observability.md), on the app's server or, in a process without
  // the http role, on OPS_PORT: one set of queue handles for all of them.
  const serveOperators = async (server: FastifyInstance) => {
    const operators = operatorAuth(ctx);
    const catalogue = new QueueCatalogue(redis, ctx.prefix);
    shutdown.add('queue-catalogue', () => catalogue.close(), 80);
    const heartbeatFile = env.HEALTH_FILE;
    await server.register(
      healthzRoute({
        redis,
        log,
        detail: {
          env,
          prefix: ctx.prefix,
          auth: operators,
          catalogue,
          ...(heartbeatFile ? { heartbeat: () => heartbeatFresh(heartbeatFile) } : {}),
        },
      }),
    );
    await server.register(metricsRoute({ auth: operators, catalogue }));
    return { operators, catalogue };
  };
  const httpServer = () =>
    createHttpServer({
      bodyLimit: env.HTTP_BODY_LIMIT,
      trustProxy: env.TRUST_PROXY,
      log,
      rateLimits: { redis, prefix: ctx.prefix, limits: rateLimitsOf(env), hashKey: env.PHONE_HASH_KEY },
    });
  if (roles.has('http')) {
    http = httpServer();
    const { operators, catalogue } = await serveOperators(http);
    await http.register(queueDashboard({ auth: operators, catalogue, publicUrl: env.PUBLIC_URL }));
    if (telegram.route) await http.register(telegram.route);
    if (zalo?.routes) await http.register(zalo.routes);
    await http.register(dossierRoutes({ ctx, outreach }));
    await http.register(reportRoutes({ ctx }));
    await http.register(apiPlugin({ ctx }));
    await http.register(consolePlugin({ ctx }));
    await http.register(publicResultsRoutes({ env }));
    await http.register(
      surveyPageRoutes({
        env,
        webChat: webChatRoutes({ service, env, log, marks: { redis, prefix: ctx.prefix } }),
      }),
    );
    const address = await http.listen({ port: env.PORT, host: env.HOST });
    port = Number(new URL(address).port);
    shutdown.add('http', () => http!.close(), 0);
    log.info({ port }, 'http server listening');
  } else if (env.OPS_PORT !== undefined) {
    http = httpServer();
    await serveOperators(http);
    const address = await http.listen({ port: env.OPS_PORT, host: env.HOST });
    opsPort = Number(new URL(address).port);
    shutdown.add('http', () => http!.close(), 0);
    log.info({ opsPort }, 'operators server listening');
  }
  await telegram.afterListen();

  if (env.HEALTH_FILE) {
    const heartbeat = startHeartbeat({
      file: env.HEALTH_FILE,
      intervalMs: env.HEALTH_INTERVAL_S * 1000,
      redis,
      log,
    });
    shutdown.add('heartbeat', () => Promise.resolve(heartbeat.stop()), 0);
  }
  // The last successful platform call, shared through Redis for any process's health detail.
  const platformHealth = startPlatformHealthPublisher({ redis, prefix: ctx.prefix, intervalMs: 15_000, log });
  shutdown.add('platform-health', () => platformHealth.stop(), 85);
  if (opts.handleSignals) shutdown.onSignals();
  log.info({ port, opsPort }, 'process started');
  return { ctx, http, port, opsPort, stop: () => shutdown.run() };
}
