/** The Telegram bot token and webhook secret of every bench's bot (the sink accepts any token). */
export const BENCH_TOKEN = '123456:BENCH-token-abcdefghijklmnopqrstuv';
export const BENCH_SECRET = 'bench_secret';

/**
 * The settings of a production-mode bot whose Telegram is the sink at `apiRoot`, reached by
 * webhook, with its own database and key prefix: what the benches that start the bot share, so
 * that they measure the same bot. A bench adds its own (Redis address, indexes, log level).
 */
export function benchBotEnv(apiRoot: string, mongoUri: string, redisPrefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    PHONE_HASH_KEY: 'bench-only-phone-hash-key',
    MONGODB_URI: mongoUri,
    REDIS_PREFIX: redisPrefix,
    TELEGRAM_BOT_TOKEN: BENCH_TOKEN,
    TELEGRAM_API_ROOT: apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: BENCH_SECRET,
    TELEGRAM_SET_WEBHOOK: 'false',
    ZALO_APP_ID: '',
  };
}
