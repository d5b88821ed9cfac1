import { z } from 'zod';

/**
 * The whole process configuration, parsed once from the environment.
 * A bad value stops start-up with the variable's name and what was expected.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)');
/** The PHONE_HASH_KEY of NODE_ENV=test; refused anywhere else. */
const TEST_PHONE_HASH_KEY = 'test-only-phone-hash-key';
const PHONE_HASH_KEY_MIN = 16;
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0),
);

/** Comma-separated host:port (Redis Cluster seed nodes, sentinels) into { host, port }[]. */
const hostPorts = (example: string) =>
  csv.pipe(
    z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9._-]+:\d{1,5}$/, `expected comma-separated host:port (e.g. ${example})`)
          .transform((hp) => {
            const at = hp.lastIndexOf(':');
            return { host: hp.slice(0, at), port: Number(hp.slice(at + 1)) };
          })
          .refine((n) => n.port >= 1 && n.port <= 65535, 'expected a port from 1 to 65535'),
      )
      .min(1, 'expected at least one host:port'),
  );

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /**
   * A process without the http role serves no webhooks or pages; with OPS_PORT set it still
   * serves the operators' instruments (`/healthz`, `/healthz/detail`, `/metrics`) on that port, so
   * its own counters (jobs, the workers' platform calls) can be scraped. Ignored with the http
   * role, whose server already has them. Unset: no listener (0 picks a free port).
   */
  OPS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PUBLIC_URL: z.url().default('http://localhost:3000'),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/hailong'),
  /**
   * Where the read side's figures (dashboards, reports, public pages, digests) read on a replica
   * set: `secondaryPreferred` moves them off the primary. The conversation's path and every write
   * stay on the primary whatever this says (lib/db/read-side.ts, docs/operations.md).
   */
  MONGO_READ_PREFERENCE: z
    .enum(['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred', 'nearest'])
    .default('primary'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  /**
   * Redis Cluster seed nodes, host:port comma-separated. Set, it wins over REDIS_URL: every
   * connection (queues, live store, inbox, locks, limiters, sessions, rate limits) is a cluster
   * client (lib/redis.ts). The client learns the other nodes from these.
   */
  REDIS_CLUSTER_NODES: hostPorts('redis-1:6379,redis-2:6379').optional(),
  /**
   * Redis Sentinel, host:port comma-separated (docs/redis-cluster.md, "Sentinel"). Set, every
   * connection asks these sentinels for the master of REDIS_SENTINEL_NAME and follows a failover.
   * Not with REDIS_CLUSTER_NODES.
   */
  REDIS_SENTINELS: hostPorts('sentinel-1:26379,sentinel-2:26379').optional(),
  /** The master's name in the sentinels' configuration (`sentinel monitor <name> …`). */
  REDIS_SENTINEL_NAME: z.string().min(1).default('hailong'),
  /** Password of the sentinels themselves, when they require one (REDIS_PASSWORD is the master's). */
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  /** Password (AUTH) of the Redis Cluster nodes; with REDIS_URL the password goes in the URL. */
  REDIS_PASSWORD: z.string().optional(),
  /** Every Redis key, BullMQ's included, lives under this hash-tagged prefix (Redis Cluster). */
  REDIS_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9_-]+\}(:[A-Za-z0-9_-]+)*$/, 'expected a hash-tagged prefix such as {hl}')
    .default('{hl}'),
  /**
   * Which roles this process runs: any of http, bot, workers. Unset (or empty, as an env file or
   * compose may pass it), `hailong start` runs http and bot itself and the workers in a child
   * process it supervises (app/layout.ts).
   */
  ROLES: csv
    .pipe(z.array(z.enum(['http', 'bot', 'workers'])))
    .optional()
    .transform((roles) => (roles && roles.length > 0 ? roles : undefined)),
  /**
   * Which queues a process with the workers role consumes: ingest, aggregate, outbound (the job
   * registry's queues), outreach (invitations and reminders), broadcast. All by default; a
   * deployment runs a pool per queue (deploy/docker-compose.yml) to scale and isolate them.
   */
  WORKER_QUEUES: csv
    .pipe(z.array(z.enum(['ingest', 'aggregate', 'outbound', 'outreach', 'broadcast'])).min(1))
    .default(['ingest', 'aggregate', 'outbound', 'outreach', 'broadcast']),
  /**
   * CPU priority (nice, 0–19) of a process that runs the workers role without the bot or http
   * role: on a host it shares with the bot, persistence (asynchronous, queued in Redis) yields the
   * CPU to citizens' replies. 0 leaves it as started. See app/priority.ts.
   */
  WORKERS_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /**
   * Liveness file for container health checks (every role, the workers-only ones too, which
   * serve no HTTP): rewritten every HEALTH_INTERVAL_S while this process's Redis and MongoDB
   * connections answer; `node dist/bin/healthcheck.js` fails when it is older than three
   * intervals. Unset: no file (the Dockerfile sets it).
   */
  HEALTH_FILE: z.string().min(1).optional(),
  HEALTH_INTERVAL_S: z.coerce.number().int().min(1).max(300).default(10),
  /**
   * Bearer token of GET /metrics and GET /healthz/detail (Prometheus, operators); an admin's
   * signed-in session works too. Unset: in production only an admin session opens them, unless
   * METRICS_OPEN=true (a private network that needs no token); elsewhere they are open.
   * docs/observability.md.
   */
  METRICS_TOKEN: z
    .string()
    .min(24, 'expected at least 24 characters (e.g. openssl rand -base64 32)')
    .optional(),
  METRICS_OPEN: bool.default(false),
  HTTP_BODY_LIMIT: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024),
  /** Peers allowed to set X-Forwarded-For: `loopback` (a proxy on this host), a list of addresses/CIDRs, `true` or `false`. */
  TRUST_PROXY: z
    .string()
    .min(1)
    .default('loopback')
    .transform((v) => (v === 'true' ? true : v === 'false' ? false : v)),
  /**
   * Requests per minute (0: no limit), shared by every process through Redis (bot/http/rate-limit.ts):
   * per client address on the survey pages (/s/...: web chat, QR codes)...
   */
  RATE_LIMIT_WEB_PER_MIN: z.coerce.number().int().min(0).default(300),
  /** ...per client address on the API (/api/v1/dossiers*, /api/v1/reports/*), refused requests included... */
  RATE_LIMIT_API_PER_MIN: z.coerce.number().int().min(0).default(3000),
  /** ...per API key posting dossiers (a one-stop system's burst of a few hundred passes)... */
  RATE_LIMIT_DOSSIERS_PER_KEY_PER_MIN: z.coerce.number().int().min(0).default(1200),
  /** ...and per API key reading reports (each may aggregate months of answers). */
  RATE_LIMIT_REPORTS_PER_KEY_PER_MIN: z.coerce.number().int().min(0).default(120),

  /** Officials' sign-in (docs/api.md): a session ends after this many minutes without a request... */
  AUTH_SESSION_IDLE_MIN: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(30),
  /** ...and this many hours after sign-in, however active. */
  AUTH_SESSION_MAX_H: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(12),
  /** Failed sign-ins per username, then per client address, within AUTH_LOGIN_WINDOW_MIN... */
  AUTH_LOGIN_MAX_FAILS_PER_USER: z.coerce.number().int().min(1).default(5),
  AUTH_LOGIN_MAX_FAILS_PER_IP: z.coerce.number().int().min(1).default(20),
  /** ...before sign-in is refused for this many minutes (counted in Redis, so across processes). */
  AUTH_LOGIN_WINDOW_MIN: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),

  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'expected a Bot API token like 123456:ABC...')
    .optional(),
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{3,31}$/)
    .optional(),
  TELEGRAM_API_ROOT: z.url().default('https://api.telegram.org'),
  TELEGRAM_MODE: z.enum(['webhook', 'polling']).default('polling'),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, 'expected 1-256 characters of A-Z a-z 0-9 _ -')
    .optional(),
  /** Register the webhook with setWebhook at start-up (off when a proxy or operator does it). */
  TELEGRAM_SET_WEBHOOK: bool.default(true),
  TELEGRAM_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(5),
  /** A 429 asking us to wait longer than this is not waited out inline; the call fails as rate limited. */
  TELEGRAM_MAX_RETRY_AFTER_S: z.coerce.number().int().min(1).default(60),
  /**
   * How long a citizen's update whose handling keeps failing (MongoDB down, Telegram unreachable)
   * is retried, with backoff up to a minute, before it becomes a dead letter. The webhook has
   * answered 200, so Telegram will not resend it; it would have retried for hours (24 h at most).
   */
  TELEGRAM_UPDATE_RETRY_FOR_S: z.coerce.number().int().min(0).max(86_400).default(1800),
  /** How long a dead letter is kept for `hailong telegram dead-letters replay`, then expires. */
  TELEGRAM_DEAD_LETTER_TTL_DAYS: z.coerce.number().positive().max(90).default(14),

  ZALO_APP_ID: z.string().optional(),
  ZALO_APP_SECRET: z.string().optional(),
  ZALO_OA_SECRET_KEY: z.string().optional(),
  ZALO_API_ROOT: z.url().default('https://openapi.zalo.me'),
  ZALO_OAUTH_ROOT: z.url().default('https://oauth.zaloapp.com'),
  ZALO_BUSINESS_API_ROOT: z.url().default('https://business.openapi.zalo.me'),
  ZALO_RATING_TEMPLATE_ID: z.string().optional(),
  /** The Official Account's id: its chat link https://zalo.me/<id> goes on posters (UNCONFIRMED: Zalo documents no start payload for it). */
  ZALO_OA_ID: z
    .string()
    .regex(/^\d{5,25}$/, 'expected the numeric Official Account id')
    .optional(),
  /** Zalo webhook: events older than this are refused (Zalo retries for about 2 h). */
  ZALO_WEBHOOK_MAX_AGE_S: z.coerce.number().int().positive().default(7200),
  /** Zalo webhook: tolerated clock skew for timestamps slightly in the future. */
  ZALO_WEBHOOK_MAX_SKEW_S: z.coerce.number().int().min(0).default(300),
  /** Which secret ends the webhook MAC (UNCONFIRMED: OA secret key per most sources, platform-limits.md). */
  ZALO_SIGNATURE_KEY: z.enum(['oa_secret_key', 'app_secret']).default('oa_secret_key'),
  /** Where the MAC's timestamp comes from (UNCONFIRMED: body per SDKs, some code reads X-ZEvent-Timestamp). */
  ZALO_SIGNATURE_TIMESTAMP: z.enum(['body', 'header']).default('body'),
  /** Refresh the OA access token this long before it expires (25 h token, refresh at ~20 h). */
  ZALO_REFRESH_AHEAD_S: z.coerce
    .number()
    .int()
    .min(0)
    .default(5 * 3600),
  /**
   * Outbound Zalo requests per minute shared by every process (Zalo: 4000 per app), through the
   * BullMQ rate limit of the zalo-api queue in 1 s slices (at least one request per slice: ≥ 62).
   */
  ZALO_RATE_LIMIT_PER_MIN: z.coerce.number().int().min(62).default(4000),
  /** Consultation (CS) messages are allowed this long after the user's last interaction. */
  ZALO_CS_WINDOW_H: z.coerce.number().positive().default(168),
  /** Try the rating template by user id before by phone (UNCONFIRMED: "rating templates may go by UID"). */
  ZALO_TEMPLATE_BY_UID: bool.default(true),
  /** "development" template sends reach only app/OA admins (for acceptance tests on a real OA). */
  ZALO_TEMPLATE_MODE: z.enum(['production', 'development']).default('production'),
  /** template_data parameter names of the approved rating template, as name=variable (UNCONFIRMED). */
  ZALO_RATING_TEMPLATE_PARAMS: csv
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9_]+=[a-z_]+$/, 'expected comma-separated param=variable')))
    .default(['ma_ho_so=ma', 'ten_don_vi=donvi', 'ten_thu_tuc=thutuc']),
  /** 32-byte key (hex or base64) that encrypts OAuth tokens at rest. */
  SECRETS_KEY: z.string().optional(),
  /**
   * Older SECRETS_KEY values (comma-separated), during a rotation: what they sealed still opens
   * until `hailong secrets rotate` has re-sealed it under SECRETS_KEY (lib/secret-box.ts).
   */
  SECRETS_KEY_PREVIOUS: z.string().optional(),
  /**
   * Key of the keyed hashes of phone numbers, web chat devices and client addresses (matching
   * without storing them). Required outside NODE_ENV=test: with a known key anyone could reverse
   * a phone hash by trying the ~10⁹ numbers. The default serves the tests only.
   */
  PHONE_HASH_KEY: z.string().default(TEST_PHONE_HASH_KEY),
  /**
   * Older PHONE_HASH_KEY values (comma-separated) after a change of the key: a citizen's request
   * by phone (`hailong erase --phone`, `access`) also finds what the old keys hashed.
   */
  PHONE_HASH_KEY_PREVIOUS: z.string().optional(),

  TZ_NAME: z.literal('Asia/Ho_Chi_Minh').default('Asia/Ho_Chi_Minh'),
  QUIET_HOURS_START: hhmm.default('21:00'),
  QUIET_HOURS_END: hhmm.default('07:00'),
  SURVEY_TOKEN_TTL_HOURS: z.coerce
    .number()
    .positive()
    .default(24 * 14),
  REMINDER_DELAYS_HOURS: csv
    .pipe(
      z.array(
        z
          .string()
          .regex(/^\d+(\.\d+)?$/, 'expected comma-separated hours')
          .transform(Number),
      ),
    )
    .default([24, 72]),
  INVITE_COOLDOWN_DAYS: z.coerce.number().min(0).default(7),
  /**
   * Proactive invitation channels, tried in this order (admins set it): telegram, zalo (OA) and
   * zns (Zalo ZNS template by phone; needs ZALO_ZNS_TEMPLATE_ID, SECRETS_KEY and the Zalo channel).
   */
  INVITE_CHANNEL_ORDER: csv.pipe(z.array(z.enum(['telegram', 'zalo', 'zns']))).default(['telegram', 'zalo']),
  /** Approved ZNS template sent by phone when INVITE_CHANNEL_ORDER contains zns. */
  ZALO_ZNS_TEMPLATE_ID: z.string().optional(),
  /** template_data parameter names of the ZNS template, as name=variable (ma, donvi, thutuc, link). */
  ZALO_ZNS_TEMPLATE_PARAMS: csv
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9_]+=[a-z_]+$/, 'expected comma-separated param=variable')))
    .default(['ma_ho_so=ma', 'ten_don_vi=donvi', 'ten_thu_tuc=thutuc']),
  /** At most this many reminders per dossier (REMINDER_DELAYS_HOURS beyond it are ignored). */
  REMINDER_MAX: z.coerce.number().int().min(0).default(2),
  /** Broadcasts (issue 6): Telegram messages per second for broadcasts (free tier ~30/s overall). */
  TELEGRAM_BROADCAST_RATE_PER_S: z.coerce.number().positive().default(25),
  /** Part of Telegram's overall limit kept free for survey conversations; caps the broadcast rate. */
  TELEGRAM_CONVERSATION_RESERVE_PER_S: z.coerce.number().min(0).default(5),
  /** Send broadcasts with allow_paid_broadcast (0.1 Star per message above 30/s; enable in @BotFather). */
  TELEGRAM_PAID_BROADCAST: bool.default(false),
  /** Overall Telegram limit with paid broadcasts (Bot API: up to 1000/s). */
  TELEGRAM_PAID_BROADCAST_LIMIT_PER_S: z.coerce.number().positive().max(1000).default(1000),
  /** Zalo requests per minute broadcasts may use (the shared Zalo limiter still caps all traffic). */
  ZALO_BROADCAST_RATE_PER_MIN: z.coerce.number().positive().default(1000),
  /** Broadcasts need a second person's approval before they go out. */
  BROADCAST_REQUIRE_APPROVAL: bool.default(false),
  /**
   * Broadcast rate safety margin (ms): a send holds its rate slot from just before its HTTP call
   * until this long plus 1 s after its reply, so the platform's 1 s windows never hold more than the
   * limit (docs/broadcasts.md). The hold already spans the whole call, wherever in it the platform
   * counts, and a send never starts before its slot (lib/sleep-until.ts); the margin covers clock
   * rounding and the Redis host's clock slew.
   */
  BROADCAST_RATE_MARGIN_MS: z.coerce.number().int().min(0).max(1000).default(5),
  /** Telegram chat (an admins' group) paged when something needs a human (e.g. a failed Zalo token refresh). */
  ADMIN_TELEGRAM_CHAT_ID: z
    .string()
    .regex(/^-?\d+$/, 'expected a numeric Telegram chat id')
    .optional(),
  OFFICER_MIN_N: z.coerce.number().int().min(1).default(5),
  /**
   * Public results (/ket-qua, open data, posters): a unit's figures for a period are published only
   * from this many completed responses up; below it the page says "chưa đủ số phiếu" and nothing
   * of that period is shown (docs/public-results.md).
   */
  PUBLIC_MIN_N: z.coerce.number().int().min(1).default(30),
  /** How long a public results page's figures are reused before the rollups are read again (seconds). */
  PUBLIC_CACHE_S: z.coerce.number().int().min(0).max(3600).default(300),
  CASE_SLA_HOURS: z.coerce.number().positive().default(72),
  /**
   * How long a survey's progress may wait before its MongoDB copy is written (ms); starts and
   * ends are copied within 0.3 s. Only a Redis that lost its data reads the copy mid-survey.
   */
  SESSION_SYNC_LATER_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  /** Daily digest to each unit's Telegram group, at this Asia/Ho_Chi_Minh time (HH:MM), or "off". */
  DIGEST_AT: z.union([hhmm, z.literal('off')]).default('07:30'),
  /** Integrity: one contact (chat, Zalo user, web device) answering for this many different applicants... */
  INTEGRITY_CONTACT_MIN_APPLICANTS: z.coerce.number().int().min(2).default(3),
  /** ...within this many hours is flagged (shared_contact). */
  INTEGRITY_CONTACT_WINDOW_HOURS: z.coerce.number().positive().default(24),
  /** Integrity: the one-stop shops' own networks, CIDR or UNITCODE=CIDR (that unit only); web chat answers from them are flagged. */
  COUNTER_NETWORKS: csv
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^(?:[A-Za-z0-9_.-]+=)?(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9A-Fa-f:]+\/\d{1,3})$/,
            'expected comma-separated CIDR or UNITCODE=CIDR (e.g. 10.1.0.0/16,19870=203.0.113.0/28)',
          ),
      ),
    )
    .default([]),

  /**
   * Whether `hailong start` builds the indexes itself (lib/db/indexes.ts). Unset: yes in
   * development and tests, no in production, where `npx hailong db indexes` builds them at a
   * time the operator chooses and a process without them refuses to start.
   */
  MONGO_BUILD_INDEXES: bool.optional(),
  /**
   * Personal data (docs/personal-data.md): contact data of a citizen silent for this many days is
   * erased by the daily retention job (contact, chat id, phone hashes, sessions' link to answers,
   * free text); the ratings and every index stay. 0 turns the job off.
   */
  RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(365),
  /** When the daily retention job runs, Asia/Ho_Chi_Minh (HH:MM). */
  RETENTION_AT: hhmm.default('02:30'),
});

export type Env = Readonly<z.infer<typeof envSchema>>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment (default process.env) into a frozen config, or throws ConfigError. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') cleaned[k] = v;
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  const env = result.data;
  const problems: string[] = [];
  if (env.TELEGRAM_MODE === 'webhook' && env.TELEGRAM_BOT_TOKEN && !env.TELEGRAM_WEBHOOK_SECRET) {
    problems.push('TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_MODE=webhook');
  }
  if (env.NODE_ENV !== 'test') {
    if (cleaned.PHONE_HASH_KEY === undefined || env.PHONE_HASH_KEY === TEST_PHONE_HASH_KEY)
      problems.push(
        `PHONE_HASH_KEY: required outside NODE_ENV=test: a secret of at least ${PHONE_HASH_KEY_MIN} characters (e.g. openssl rand -base64 32)`,
      );
    else if (env.PHONE_HASH_KEY.length < PHONE_HASH_KEY_MIN)
      problems.push(`PHONE_HASH_KEY: expected at least ${PHONE_HASH_KEY_MIN} characters`);
  }
  if (env.REDIS_CLUSTER_NODES && env.REDIS_SENTINELS)
    problems.push('REDIS_SENTINELS: not with REDIS_CLUSTER_NODES (a cluster fails over by itself)');
  if (env.INVITE_CHANNEL_ORDER.includes('zns')) {
    // ZNS goes by phone: the number is kept encrypted until the invitation is decided.
    for (const k of ['ZALO_ZNS_TEMPLATE_ID', 'SECRETS_KEY', 'ZALO_APP_ID'] as const)
      if (!env[k]) problems.push(`${k}: required when INVITE_CHANNEL_ORDER contains zns`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(env);
}

let cached: Env | undefined;
/** The process-wide config, parsed on first use. */
export function env(): Env {
  cached ??= parseEnv();
  return cached;
}
