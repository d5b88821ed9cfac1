import type { Logger } from '../../../lib/logger';
import { ZaloTokenError } from './errors';
import type { ZaloTokenProvider } from './token-store';

/**
 * Keeps the Zalo token pair alive without traffic: every `everyMs` it asks the store for the
 * access token, which refreshes it once it is within the refresh-ahead margin (one process does,
 * under the store's Redis lock; the others find the new pair). Without this, an OA nobody wrote
 * to for 25 hours would meet its first citizen with an expired token, and one quiet for three
 * months would have lost its refresh token for good. Failures are the store's to report: it
 * logs them and alerts the admins.
 */
export const ZALO_TOKEN_CHECK_MS = 10 * 60_000;

export function keepZaloTokenFresh(
  tokens: Pick<ZaloTokenProvider, 'getAccessToken'>,
  log: Logger,
  everyMs = ZALO_TOKEN_CHECK_MS,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const check = async (): Promise<void> => {
    try {
      await tokens.getAccessToken();
    } catch (err) {
      if (err instanceof ZaloTokenError)
        log.warn({ err: err.message }, 'zalo token check: channel not usable');
      else
        log.warn({ err: (err as Error).message }, 'zalo token check failed; next check in the next interval');
    }
  };
  const timer = setInterval(() => {
    running = running.then(check);
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
