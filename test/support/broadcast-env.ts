import { parseEnv, type Env } from '../../config/env';

/**
 * The configuration broadcast tests and benchmarks run with: Telegram at the fake Bot API, and
 * no quiet hours (start = end), so a broadcast goes out whatever the hour of the run.
 */
export function broadcastTestEnv(fake: { token: string; apiRoot: string }): Env {
  return parseEnv({
    NODE_ENV: 'test',
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    QUIET_HOURS_START: '00:00',
    QUIET_HOURS_END: '00:00',
  });
}
