import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import { Telegram } from 'telegraf';
import type { Logger } from '../../../lib/logger';
import { linkedSignal } from '../../../lib/linked-signal';
import { countPlatformCall } from '../../../lib/metrics';
import {
  TelegramRateLimitedError,
  TelegramRefusedError,
  TelegramUnreachableError,
  telegramErrorOf,
  type BotApiErrorBody,
} from './errors';

export interface TelegramClientOptions {
  token: string;
  apiRoot: string;
  /** Retries after a 5xx or a network error (exponential backoff with jitter); also bounds 429 waits. */
  maxRetries: number;
  /** A 429 asking to wait longer than this fails at once as TelegramRateLimitedError. */
  maxRetryAfterS: number;
  /** Wait out a 429 inline (conversations, default). Off for queue workers, which pause the queue instead. */
  waitOnRateLimit?: boolean;
  /** Base of the exponential backoff after 5xx/network errors, ms (default 300). */
  backoffMs?: number;
  /** Upper bound of one backoff delay, ms (default 30 s). */
  maxBackoffMs?: number;
  /**
   * How long one call may go unanswered before it counts as a network error and is retried
   * (default 10 s; getUpdates: its long-poll timeout on top). telegraf's own is 500 s, so a Bot API
   * that accepts a connection and never answers held a chat's turn, a broadcast slot or a
   * shutdown for minutes (test/load/fault-platform.test.ts).
   */
  timeoutMs?: number;
  /**
   * Aborted when the process stops: the call in flight and its retries give up at once with
   * TelegramUnreachableError, so a drain does not wait out a platform that hangs or fails
   * (the process's shutdown aborts it once the work in flight had its grace, lib/shutdown.ts).
   */
  stopSignal?: AbortSignal;
  log: Logger;
}

const DEFAULT_TIMEOUT_MS = 10_000;

const keepAliveAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 256 });

type CallApi = Telegram['callApi'];

/**
 * telegraf's Telegram client with what telegraf lacks: outbound retries. 429 → wait
 * `retry_after` (bounded), 5xx and network errors → exponential backoff with jitter, any other
 * 4xx → refused at once. Failures surface as TelegramRefusedError / TelegramUnreachableError /
 * TelegramRateLimitedError, so callers never see telegraf's own error type. Every telegraf
 * method (sendMessage, answerCbQuery, …) goes through callApi, so all of them retry.
 */
class RetryingTelegram extends Telegram {
  constructor(private readonly retry: TelegramClientOptions) {
    // webhookReply off: we acknowledge webhooks ourselves and want every call's result.
    super(retry.token, { apiRoot: retry.apiRoot, webhookReply: false });
    // telegraf drops its keep-alive agent for http:// roots (a local Bot API server, our fakes),
    // and node-fetch then closes the connection after every call. Keep connections open.
    if (retry.apiRoot.startsWith('http://'))
      (this as unknown as { options: { agent?: http.Agent } }).options.agent = keepAliveAgent;
  }

  override callApi: CallApi = (async (
    method: Parameters<CallApi>[0],
    payload: Parameters<CallApi>[1],
    opts: Parameters<CallApi>[2],
  ) => {
    const own = opts?.signal as AbortSignal | undefined;
    const stop = this.retry.stopSignal;
    // Only a long poll (getUpdates) has a signal of its own besides the process's stop signal.
    const both = own && stop ? linkedSignal([own, stop]) : null;
    try {
      return await this.attempts(method, payload, opts, own, both?.signal ?? own ?? stop);
    } finally {
      both?.release();
    }
  }) as CallApi;

  /** callApi's attempts; `signal` ends them (the caller's `own`, or the process stopping). */
  private async attempts(
    method: Parameters<CallApi>[0],
    payload: Parameters<CallApi>[1],
    opts: Parameters<CallApi>[2],
    own: AbortSignal | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Awaited<ReturnType<CallApi>>> {
    const { maxRetries, maxRetryAfterS, log } = this.retry;
    const backoff = this.retry.backoffMs ?? 300;
    const maxBackoff = this.retry.maxBackoffMs ?? 30_000;
    const stop = this.retry.stopSignal;
    const stopped = () => new TelegramUnreachableError(method, 'process stopping');
    const poll =
      method === 'getUpdates' ? Number((payload as { timeout?: number } | undefined)?.timeout ?? 0) : 0;
    const timeoutMs = (this.retry.timeoutMs ?? DEFAULT_TIMEOUT_MS) + poll * 1000;
    for (let attempt = 0; ; attempt++) {
      if (stop?.aborted) throw stopped();
      try {
        const result = await this.attempt(method, payload, opts, signal, timeoutMs);
        countPlatformCall('telegram', method, null);
        return result;
      } catch (err) {
        // An aborted call (shutdown of a long poll) is not a failure to retry or classify.
        if (own?.aborted) throw err;
        if (stop?.aborted) throw stopped();
        const body = (err as { response?: BotApiErrorBody }).response;
        countPlatformCall('telegram', method, { code: body?.error_code ?? 'network' });
        const e = telegramErrorOf(method, body, err);
        if (e instanceof TelegramRateLimitedError) {
          const after = e.retryAfterSeconds;
          if (this.retry.waitOnRateLimit === false || after > maxRetryAfterS || attempt >= maxRetries)
            throw e;
          log.warn({ method, retryAfter: after, attempt }, 'telegram 429: waiting');
          await sleep(after * 1000, undefined, signal ? { signal } : {}).catch((e: unknown) => {
            throw stop?.aborted && !own?.aborted ? stopped() : e;
          });
          continue;
        }
        if (e instanceof TelegramRefusedError || attempt >= maxRetries) throw e;
        // Full backoff times a random factor in [0.5, 1): processes that failed together spread out.
        const delay = Math.min(maxBackoff, backoff * 2 ** attempt) * (0.5 + Math.random() / 2);
        log.warn(
          { method, attempt, delayMs: Math.round(delay), code: body?.error_code ?? 'network' },
          'telegram call failed: retrying',
        );
        await sleep(delay, undefined, signal ? { signal } : {}).catch((e: unknown) => {
          throw stop?.aborted && !own?.aborted ? stopped() : e;
        });
      }
    }
  }

  /** One call to the Bot API, given up after `timeoutMs` or when `signal` aborts. */
  private async attempt(
    method: Parameters<CallApi>[0],
    payload: Parameters<CallApi>[1],
    opts: Parameters<CallApi>[2],
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<Awaited<ReturnType<CallApi>>> {
    const call = linkedSignal([signal], timeoutMs);
    try {
      return await Telegram.prototype.callApi.call(this, method, payload, {
        ...opts,
        // node-fetch (telegraf's) takes the platform's AbortSignal; its typings name another.
        signal: call.signal as unknown as NonNullable<Parameters<CallApi>[2]>['signal'],
      });
    } finally {
      call.release();
    }
  }
}

/** The one way the bot talks to the Bot API (telegraf stays behind this file). */
export function createTelegramClient(opts: TelegramClientOptions): Telegram {
  return new RetryingTelegram(opts);
}
