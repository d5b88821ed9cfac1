import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A fake Telegram Bot API server on loopback, written from the Bot API documentation and
 * docs/platform-limits.md. It serves `/bot<token>/<method>` (JSON or form bodies) with the
 * real reply shapes (`{ok:true,result}` / `{ok:false,error_code,description,parameters?}`),
 * records every call with a timestamp, delivers updates by webhook (with the secret header, one
 * request in flight per chat, retries on failure) or by getUpdates, and can produce 429 with
 * retry_after, 5xx, dropped connections and the dead-recipient errors.
 *
 * Methods served: getMe, setWebhook (secret_token 1-256 of A-Za-z0-9_-), deleteWebhook,
 * getWebhookInfo, getUpdates (offset/limit/timeout; 409 while a webhook is set or when a newer
 * getUpdates replaces a pending one), sendMessage (text 1-4096 after HTML parsing,
 * inline_keyboard with callback_data 1-64 bytes or url, or force_reply), sendPhoto (photo URL or file_id),
 * answerCallbackQuery (text 0-200; "query is too old" when answered twice or unknown),
 * editMessageReplyMarkup / editMessageText ("message is not modified", "message to edit not
 * found"), deleteMessage.
 *
 * API for tests:
 *   const fake = await FakeTelegram.start({ token? });
 *   fake.apiRoot / fake.token / fake.botId       pass apiRoot as TELEGRAM_API_ROOT
 *   fake.setWebhook(url, secret?)                 as if setWebhook had been called
 *   fake.webhookInfo                              { url, secret } | null
 *   const u = fake.user(1001, { languageCode: 'vi' });
 *     await u.send(text, o?)  await u.command('/start', payload?, o?)
 *     await u.tap(callbackData, messageId, o?)    await u.tapLabel(buttonLabel, o?)
 *     o = { copies?: n (same update delivered n times), concurrent?: true (bypass the
 *     per-chat webhook queue: races like double taps and retries) }. Each resolves with the
 *     update_id once the update was delivered (2xx or retries exhausted) or queued.
 *   const m = fake.groupMember(-100198, 555);     an official in a (super)group
 *     await m.command('/ketnoi CODE')  await m.send(text)  await m.replyTo(botMessageId, text)
 *     await m.tapLabel(buttonLabel)                presses a button of the bot's last message in the group that has it
 *     await m.tap(callbackData, messageId)         a press with any data (forged, or on a forwarded message)
 *   fake.updates (update_id → update), await fake.redeliver(updateId)   a late retry of an old update
 *   fake.deliverUpdate(body, chatId, o?)          any other update (e.g. my_chat_member)
 *   fake.calls: {method, params, at, outcome}[]   every call, in arrival order
 *   fake.callsOf(method), fake.sentTo(chatId), fake.lastMessageTo(chatId), fake.callbackAnswers()
 *   fake.webhookDeliveries: {updateId, status, at}[]
 *   fake.failNext(method, {code: 429, retryAfter} | {code: 500|502|503} | {code: 'drop'} | {code: 'hang', ms}, times?)
 *   fake.faultFor(ms, faults, methods?)            an outage: for `ms`, every call of `methods` (default: every
 *     method but getMe) answers the next fault of `faults` in turn (e.g. 502, 429, a timeout); `fake.outage` is it
 *   fake.setWebhookTargets(urls, secret?)          several bot processes behind a load balancer: each delivery
 *     attempt goes to the next URL in turn, so a retry after a failed attempt reaches another process
 *     ({code: 'pass'} lets one call through: failNext(m, pass) then failNext(m, 502) fails the second)
 *   fake.block(chatId, 'blocked' | 'deactivated' | 'not_found' | 'kicked'), fake.unblock(chatId)
 *   fake.rateLimit = { globalPerSecond?, perChatPerSecond?, retryAfter? }   (sends only)
 *   fake.sendLatencyMs = { min, max }             random delay before a send is stamped (jitter)
 *   fake.webhookRetryBaseMs (default 50), fake.webhookMaxAttempts (default 8)
 *   await fake.waitFor(() => boolean, timeoutMs?), await fake.waitForCall(call => boolean, timeoutMs?)
 *   await fake.postRaw(url, body, headers?)       a raw webhook POST (bad secrets, bad bodies)
 *   await fake.close()
 */

export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** The reply given: ok, or the error code. */
  outcome: 'ok' | number;
}

export interface SentMessage {
  chatId: string;
  messageId: number;
  text: string;
  replyMarkup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string; url?: string }>> };
  /** Sent with reply_markup.force_reply (the client opens a reply to it). */
  forceReply?: boolean;
  at: number;
}

export type Fault =
  | { code: 429; retryAfter: number }
  | { code: 500 | 502 | 503 }
  | { code: 'drop' }
  | { code: 'pass' }
  /** A timeout: the request is held `ms`, then its connection is closed without an answer. */
  | { code: 'hang'; ms: number };

export interface DeliveryOptions {
  /** Deliver the same update this many times (duplicate delivery). */
  copies?: number;
  /** Skip the per-chat webhook queue: the update races the chat's other deliveries. */
  concurrent?: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const DEAD_ERRORS = {
  blocked: { error_code: 403, description: 'Forbidden: bot was blocked by the user' },
  deactivated: { error_code: 403, description: 'Forbidden: user is deactivated' },
  not_found: { error_code: 400, description: 'Bad Request: chat not found' },
  kicked: { error_code: 403, description: 'Forbidden: bot was kicked from the group chat' },
} as const;

/** A parameter as text: form bodies give strings, JSON bodies numbers or strings. */
function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : JSON.stringify(v);
}

/** Text length as Telegram counts it: after HTML parsing; null when the HTML does not parse. */
function visibleLength(text: string, parseMode: unknown): number | null {
  if (parseMode !== 'HTML') return text.length;
  const allowed =
    /^<\/?(b|strong|i|em|u|ins|s|strike|del|a|code|pre|tg-spoiler|span|blockquote)(\s[^>]*)?>$/i;
  const tags = text.match(/<[^>]*>/g) ?? [];
  if (tags.some((t) => !allowed.test(t))) return null;
  return text.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot|#\d+);/g, '_').length;
}

export class FakeTelegram {
  readonly calls: RecordedCall[] = [];
  readonly sent: SentMessage[] = [];
  readonly webhookDeliveries: Array<{ updateId: number; status: number | 'error'; at: number }> = [];
  rateLimit: { globalPerSecond?: number; perChatPerSecond?: number; retryAfter?: number } = {};
  /** Network delay before a send arrives (uniform in [min, max] ms): the call is stamped after it. */
  sendLatencyMs: { min: number; max: number } | null = null;
  /** Base of the webhook retry backoff (Telegram: at once, then 2, 4, 8 s…); short in tests. */
  webhookRetryBaseMs = 50;
  webhookMaxAttempts = 8;

  private server!: http.Server;
  private port = 0;
  private nextUpdateId = 100_000;
  private webhook: { url: string; secret?: string } | null = null;
  private readonly queue: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<() => void> = [];
  private readonly faults = new Map<string, Fault[]>();
  /** Every update pushed to the bot, by update_id: a test delivers one again (`redeliver`). */
  readonly updates = new Map<number, Record<string, unknown>>();
  /** The outage in force (faultFor): until when, the faults in turn, which methods. */
  outage: { until: number; faults: Fault[]; methods: Set<string> | null; n: number } | null = null;
  private webhookTargets: string[] = [];
  private webhookTurn = 0;
  private readonly dead = new Map<string, keyof typeof DEAD_ERRORS>();
  private readonly messages = new Map<string, Map<number, SentMessage>>();
  private readonly nextMessageId = new Map<string, number>();
  private readonly callbackQueries = new Map<string, { answered: boolean }>();
  private readonly chatQueues = new Map<string, Promise<void>>();
  private readonly windows = new Map<string, number[]>();
  private cqSeq = 0;
  private closed = false;
  /** The getUpdates request waiting now; a newer one ends it with 409, as Telegram does. */
  private activePoll: { conflict: boolean; gone: boolean; wake: () => void } | null = null;

  private constructor(readonly token: string) {}

  static async start(opts: { token?: string } = {}): Promise<FakeTelegram> {
    const fake = new FakeTelegram(opts.token ?? '123456:TEST-token-abcdefghijklmnopqrstuv');
    fake.server = http.createServer((req, res) => void fake.route(req, res));
    fake.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as { port: number }).port;
    return fake;
  }

  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get botId(): number {
    return Number(this.token.split(':')[0]);
  }

  get webhookInfo(): { url: string; secret?: string } | null {
    return this.webhook;
  }

  /** Points webhook delivery at a URL directly (as setWebhook would). */
  setWebhook(url: string, secret?: string): void {
    this.webhook = { url, ...(secret ? { secret } : {}) };
  }

  /** Spreads webhook deliveries over several URLs (a load balancer in front of several bot processes). */
  setWebhookTargets(urls: string[], secret?: string): void {
    if (urls.length === 0) throw new Error('setWebhookTargets: no URL');
    this.webhookTargets = urls;
    this.setWebhook(urls[0]!, secret);
  }

  /** For `ms` from now, calls of `methods` (default every method but getMe) answer `faults` in turn. */
  faultFor(ms: number, faults: Fault[], methods?: string[]): void {
    if (faults.length === 0) throw new Error('faultFor: no fault');
    this.outage = { until: Date.now() + ms, faults, methods: methods ? new Set(methods) : null, n: 0 };
  }

  failNext(method: string, fault: Fault, times = 1): void {
    const list = this.faults.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push(fault);
    this.faults.set(method, list);
  }

  block(chatId: number | string, kind: keyof typeof DEAD_ERRORS = 'blocked'): void {
    this.dead.set(String(chatId), kind);
  }

  unblock(chatId: number | string): void {
    this.dead.delete(String(chatId));
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  sentTo(chatId: number | string): SentMessage[] {
    return this.sent.filter((m) => m.chatId === String(chatId));
  }

  lastMessageTo(chatId: number | string): SentMessage | undefined {
    return this.sentTo(chatId).at(-1);
  }

  callbackAnswers(): RecordedCall[] {
    return this.callsOf('answerCallbackQuery').filter((c) => c.outcome === 'ok');
  }

  async waitFor(predicate: () => boolean, timeoutMs = 10_000, label = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`FakeTelegram: timed out waiting for ${label}`);
      await sleep(5);
    }
  }

  /** Resolves with the first recorded call (past or future) that matches. */
  async waitForCall(predicate: (call: RecordedCall) => boolean, timeoutMs = 10_000): Promise<RecordedCall> {
    let found: RecordedCall | undefined;
    await this.waitFor(
      () => (found = this.calls.find(predicate)) !== undefined,
      timeoutMs,
      'a matching call',
    );
    return found!;
  }

  user(chatId: number, opts: { languageCode?: string; firstName?: string } = {}) {
    const from = {
      id: chatId,
      is_bot: false,
      first_name: opts.firstName ?? 'Công dân',
      language_code: opts.languageCode ?? 'vi',
    };
    const chat = { id: chatId, type: 'private', first_name: from.first_name };
    const botFrom = { id: this.botId, is_bot: true, first_name: 'Hài Lòng', username: 'hailong_test_bot' };
    const message = (text: string, entities?: unknown[]) => ({
      message_id: this.allocMessageId(String(chatId)),
      from,
      chat,
      date: Math.floor(Date.now() / 1000),
      text,
      ...(entities ? { entities } : {}),
    });
    return {
      send: (text: string, o: DeliveryOptions = {}) =>
        this.push({ message: message(text) }, String(chatId), o),
      command: (cmd: string, arg?: string, o: DeliveryOptions = {}) => {
        const text = arg ? `${cmd} ${arg}` : cmd;
        return this.push(
          { message: message(text, [{ type: 'bot_command', offset: 0, length: cmd.length }]) },
          String(chatId),
          o,
        );
      },
      /** Presses an inline button of a message the bot sent. */
      tap: (data: string, messageId: number, o: DeliveryOptions = {}) => {
        const id = `${chatId}${++this.cqSeq}`;
        this.callbackQueries.set(id, { answered: false });
        const msg = this.messages.get(String(chatId))?.get(messageId);
        return this.push(
          {
            callback_query: {
              id,
              from,
              chat_instance: `ci${chatId}`,
              data,
              message: {
                message_id: messageId,
                chat,
                date: Math.floor(Date.now() / 1000),
                text: msg?.text ?? '',
                from: botFrom,
              },
            },
          },
          String(chatId),
          o,
        );
      },
      /** Taps the button whose label contains `label` on the last message that has buttons. */
      tapLabel: (label: string, o: DeliveryOptions = {}) => {
        const msg = [...this.sentTo(chatId)]
          .reverse()
          .find((m) => m.replyMarkup?.inline_keyboard.flat().some((b) => b.text.includes(label)));
        const button = msg?.replyMarkup?.inline_keyboard.flat().find((b) => b.text.includes(label));
        if (!msg || !button?.callback_data) throw new Error(`no button "${label}" sent to ${chatId}`);
        const id = `${chatId}${++this.cqSeq}`;
        this.callbackQueries.set(id, { answered: false });
        return this.push(
          {
            callback_query: {
              id,
              from,
              chat_instance: `ci${chatId}`,
              data: button.callback_data,
              message: {
                message_id: msg.messageId,
                chat,
                date: Math.floor(msg.at / 1000),
                text: msg.text,
                from: botFrom,
              },
            },
          },
          String(chatId),
          o,
        );
      },
    };
  }

  /** An official in group `groupId` (a supergroup): messages, commands, replies to the bot, button presses. */
  groupMember(groupId: number, userId: number, opts: { firstName?: string } = {}) {
    const from = { id: userId, is_bot: false, first_name: opts.firstName ?? 'Cán bộ', language_code: 'vi' };
    const chat = { id: groupId, type: 'supergroup', title: 'Nhóm đơn vị' };
    const botFrom = { id: this.botId, is_bot: true, first_name: 'Hài Lòng', username: 'hailong_test_bot' };
    const key = String(groupId);
    const message = (text: string, extra: Record<string, unknown> = {}) => ({
      message_id: this.allocMessageId(key),
      from,
      chat,
      date: Math.floor(Date.now() / 1000),
      text,
      ...extra,
    });
    const press = (data: string, messageId: number, text: string, at: number) => {
      const id = `g${userId}-${++this.cqSeq}`;
      this.callbackQueries.set(id, { answered: false });
      return this.push(
        {
          callback_query: {
            id,
            from,
            chat_instance: `ci${groupId}`,
            data,
            message: { message_id: messageId, chat, date: Math.floor(at / 1000), text, from: botFrom },
          },
        },
        key,
        {},
      );
    };
    return {
      send: (text: string) => this.push({ message: message(text) }, key, {}),
      command: (text: string) =>
        this.push(
          {
            message: message(text, {
              entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }],
            }),
          },
          key,
          {},
        ),
      /** Replies to a message the bot sent in the group. */
      replyTo: (messageId: number, text: string) => {
        const original = this.messages.get(key)?.get(messageId);
        if (!original) throw new Error(`no bot message ${messageId} in ${groupId}`);
        const replied = {
          message_id: messageId,
          from: botFrom,
          chat,
          date: Math.floor(original.at / 1000),
          text: original.text,
        };
        return this.push({ message: message(text, { reply_to_message: replied }) }, key, {});
      },
      /** Presses the button whose label contains `label` on the bot's last message in the group that has it. */
      tapLabel: (label: string) => {
        const msg = [...this.sentTo(groupId)]
          .reverse()
          .find((m) => m.replyMarkup?.inline_keyboard.flat().some((b) => b.text.includes(label)));
        const button = msg?.replyMarkup?.inline_keyboard.flat().find((b) => b.text.includes(label));
        if (!msg || !button?.callback_data) throw new Error(`no button "${label}" in ${groupId}`);
        return press(button.callback_data, msg.messageId, msg.text, msg.at);
      },
      /** A press with any data on message `messageId` of the group (a forged or forwarded button). */
      tap: (data: string, messageId: number) => press(data, messageId, '', Date.now()),
    };
  }

  /** Creates an update with the next update_id and delivers it (webhook) or queues it (getUpdates). */
  deliverUpdate(
    body: Record<string, unknown>,
    chatId: number | string,
    o: DeliveryOptions = {},
  ): Promise<number> {
    return this.push(body, String(chatId), o);
  }

  /** Delivers an update pushed earlier again, as it was (a late retry by the platform); resolves once delivered. */
  async redeliver(updateId: number): Promise<void> {
    const update = this.updates.get(updateId);
    if (!update) throw new Error(`redeliver: no update ${updateId}`);
    await this.deliverOne(update);
  }

  /** Resolves with the update_id once delivered (or retries exhausted) or queued. */
  private async push(body: Record<string, unknown>, chatId: string, o: DeliveryOptions): Promise<number> {
    const update = { update_id: ++this.nextUpdateId, ...body };
    this.updates.set(update.update_id, update);
    const copies = o.copies ?? 1;
    if (!this.webhook) {
      for (let i = 0; i < copies; i++) this.queue.push(update);
      this.waiters.splice(0).forEach((w) => w());
      return update.update_id;
    }
    const sendAll = () =>
      Promise.all(Array.from({ length: copies }, () => this.deliverOne(update))).then(() => undefined);
    if (o.concurrent) {
      await sendAll();
      return update.update_id;
    }
    // Telegram's per-chat queue: a chat's next update waits until the previous one was acknowledged.
    const prev = this.chatQueues.get(chatId) ?? Promise.resolve();
    const next = prev.then(sendAll);
    this.chatQueues.set(
      chatId,
      next.catch(() => undefined),
    );
    await next;
    return update.update_id;
  }

  private async deliverOne(update: Record<string, unknown>): Promise<void> {
    const start = this.webhookTurn++;
    for (let attempt = 0; attempt < this.webhookMaxAttempts && !this.closed; attempt++) {
      // Telegram: first retry at once, then 2, 4, 8 s…; here the base is short.
      if (attempt > 1) await sleep(this.webhookRetryBaseMs * 2 ** (attempt - 2));
      const hook = this.webhook;
      if (!hook) return;
      // A load balancer: deliveries take the targets in turn, and a retry goes to the next one.
      const url =
        this.webhookTargets.length > 1
          ? this.webhookTargets[(start + attempt) % this.webhookTargets.length]!
          : hook.url;
      const status = await this.post({ ...hook, url }, update);
      this.webhookDeliveries.push({ updateId: update.update_id as number, status, at: Date.now() });
      if (typeof status === 'number' && status >= 200 && status < 300) return;
    }
  }

  private post(
    hook: { url: string; secret?: string },
    update: Record<string, unknown>,
  ): Promise<number | 'error'> {
    const body = Buffer.from(JSON.stringify(update));
    const url = new URL(hook.url);
    return new Promise((resolve) => {
      const req = http.request(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            ...(hook.secret ? { 'x-telegram-bot-api-secret-token': hook.secret } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.setTimeout(60_000, () => req.destroy());
      req.on('error', () => resolve('error'));
      req.end(body);
    });
  }

  /** Sends a raw webhook request (e.g. with a wrong secret or a bad body) and returns the HTTP status. */
  async postRaw(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<number> {
    const u = new URL(url);
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          hostname: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': buf.length, ...headers },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(buf);
    });
  }

  private allocMessageId(chatId: string): number {
    const id = (this.nextMessageId.get(chatId) ?? 0) + 1;
    this.nextMessageId.set(chatId, id);
    return id;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!m) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    if (m[1] !== this.token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2];
    let params: Record<string, unknown> = {};
    try {
      if (raw.length > 0) {
        params = (req.headers['content-type'] ?? '').includes('application/json')
          ? (JSON.parse(raw) as Record<string, unknown>)
          : Object.fromEntries(new URLSearchParams(raw));
      }
    } catch {
      return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
    }
    const lat = this.sendLatencyMs;
    if (lat && (method === 'sendMessage' || method === 'sendPhoto'))
      await sleep(lat.min + Math.random() * (lat.max - lat.min));
    const at = Date.now();
    const record = (outcome: 'ok' | number) => this.calls.push({ method, params, at, outcome });

    const o = this.outage;
    const inOutage =
      o !== null && at < o.until && method !== 'getMe' && (o.methods === null || o.methods.has(method));
    const fault = inOutage ? o.faults[o.n++ % o.faults.length] : this.faults.get(method)?.shift();
    if (fault && fault.code !== 'pass') {
      record(fault.code === 'drop' || fault.code === 'hang' ? 0 : fault.code);
      if (fault.code === 'drop') return void req.socket.destroy();
      if (fault.code === 'hang') {
        // close() ends held connections at once (closeAllConnections); the timer keeps nothing alive.
        await new Promise((r) => setTimeout(r, fault.ms).unref());
        return void req.socket.destroy();
      }
      if (fault.code === 429) {
        return reply(429, {
          ok: false,
          error_code: 429,
          description: `Too Many Requests: retry after ${fault.retryAfter}`,
          parameters: { retry_after: fault.retryAfter },
        });
      }
      return reply(fault.code, {
        ok: false,
        error_code: fault.code,
        description: STATUS_TEXT[fault.code] ?? 'Internal Server Error',
      });
    }
    if (method === 'getUpdates') {
      if (this.webhook) {
        record(409);
        return reply(409, {
          ok: false,
          error_code: 409,
          description:
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        });
      }
      const end = await this.waitForUpdates(
        Number(params.offset ?? 0),
        Math.min(Number(params.timeout ?? 0), 50) * 1000,
        res,
      );
      // The client went away (an aborted long poll): nothing to answer, nothing confirmed.
      if (end === 'gone') return;
      if (end === 'conflict') {
        record(409);
        return reply(409, {
          ok: false,
          error_code: 409,
          description:
            'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
        });
      }
    }
    const result = this.handle(method, params, at);
    if ('error_code' in result) {
      record(result.error_code);
      return reply(result.error_code, { ok: false, ...result });
    }
    record('ok');
    return reply(200, { ok: true, result: result.result });
  }

  private limited(chatId: string | null, at: number): boolean {
    const check = (key: string, limit: number | undefined) => {
      if (!limit) return false;
      const w = (this.windows.get(key) ?? []).filter((t) => t > at - 1000);
      this.windows.set(key, w);
      return w.length >= limit;
    };
    if (
      check('global', this.rateLimit.globalPerSecond) ||
      (chatId && check(`c${chatId}`, this.rateLimit.perChatPerSecond))
    )
      return true;
    (this.windows.get('global') ?? this.windows.set('global', []).get('global')!).push(at);
    if (chatId)
      (this.windows.get(`c${chatId}`) ?? this.windows.set(`c${chatId}`, []).get(`c${chatId}`)!).push(at);
    return false;
  }

  private handle(
    method: string,
    p: Record<string, unknown>,
    at: number,
  ): { result: unknown } | { error_code: number; description: string; parameters?: unknown } {
    const bad = (description: string) => ({ error_code: 400, description: `Bad Request: ${description}` });
    const chatId = p.chat_id !== undefined ? str(p.chat_id) : null;
    switch (method) {
      case 'getMe':
        return {
          result: {
            id: Number(this.token.split(':')[0]),
            is_bot: true,
            first_name: 'Hài Lòng',
            username: 'hailong_test_bot',
            can_join_groups: false,
            can_read_all_group_messages: false,
            supports_inline_queries: false,
          },
        };
      case 'setWebhook': {
        const secret = p.secret_token as string | undefined;
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
          return bad('secret token contains unallowed characters');
        if (typeof p.url !== 'string') return bad('url is required');
        if (p.url === '') this.webhook = null;
        else this.webhook = { url: p.url, ...(secret ? { secret } : {}) };
        return { result: true };
      }
      case 'deleteWebhook':
        this.webhook = null;
        return { result: true };
      case 'getWebhookInfo':
        return {
          result: {
            url: this.webhook?.url ?? '',
            has_custom_certificate: false,
            pending_update_count: this.queue.length,
          },
        };
      case 'getUpdates':
        return { result: this.takeUpdates(p) };
      case 'sendMessage':
      case 'sendPhoto': {
        if (!chatId) return bad('chat_id is empty');
        const dead = this.dead.get(chatId);
        if (dead) return DEAD_ERRORS[dead];
        if (method === 'sendPhoto' && (typeof p.photo !== 'string' || p.photo.length === 0))
          return bad('there is no photo in the request');
        const text = str(method === 'sendPhoto' ? p.caption : p.text);
        const visible = visibleLength(text, p.parse_mode);
        if (visible === null) return bad("can't parse entities: unsupported start tag");
        if (method === 'sendMessage' && (visible === 0 || visible > 4096))
          return bad(visible === 0 ? 'message text is empty' : 'message is too long');
        if (method === 'sendPhoto' && visible > 1024) return bad('message caption is too long');
        const markupError = this.checkMarkup(p.reply_markup);
        if (markupError) return bad(markupError);
        if (this.limited(chatId, at)) {
          const retry = this.rateLimit.retryAfter ?? 1;
          return {
            error_code: 429,
            description: `Too Many Requests: retry after ${retry}`,
            parameters: { retry_after: retry },
          };
        }
        const messageId = this.allocMessageId(chatId);
        const markup = this.parseMarkup(p.reply_markup);
        const forceReply = (markup as { force_reply?: unknown } | undefined)?.force_reply === true;
        const msg: SentMessage = {
          chatId,
          messageId,
          text,
          ...(markup && !forceReply ? { replyMarkup: markup } : {}),
          ...(forceReply ? { forceReply } : {}),
          at,
        };
        this.sent.push(msg);
        (this.messages.get(chatId) ?? this.messages.set(chatId, new Map()).get(chatId)!).set(messageId, msg);
        return {
          result: {
            message_id: messageId,
            date: Math.floor(at / 1000),
            chat: { id: Number(chatId), type: 'private' },
            text,
          },
        };
      }
      case 'answerCallbackQuery': {
        const q = this.callbackQueries.get(str(p.callback_query_id));
        if (!q || q.answered)
          return bad('query is too old and response timeout expired or query ID is invalid');
        if (p.text !== undefined && str(p.text).length > 200) return bad('MESSAGE_TOO_LONG');
        q.answered = true;
        return { result: true };
      }
      case 'editMessageReplyMarkup':
      case 'editMessageText': {
        if (!chatId) return bad('chat_id is empty');
        const msg = this.messages.get(chatId)?.get(Number(p.message_id));
        if (!msg) return bad('message to edit not found');
        const markup = this.parseMarkup(p.reply_markup) ?? { inline_keyboard: [] };
        const markupError = this.checkMarkup(p.reply_markup);
        if (markupError) return bad(markupError);
        const newText = method === 'editMessageText' ? str(p.text) : msg.text;
        if (
          newText === msg.text &&
          JSON.stringify(markup) === JSON.stringify(msg.replyMarkup ?? { inline_keyboard: [] })
        ) {
          return bad(
            'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        msg.text = newText;
        msg.replyMarkup = markup;
        return {
          result: {
            message_id: msg.messageId,
            chat: { id: Number(chatId), type: 'private' },
            date: Math.floor(msg.at / 1000),
            text: msg.text,
          },
        };
      }
      case 'deleteMessage': {
        const chatMessages = chatId ? this.messages.get(chatId) : undefined;
        if (!chatMessages?.delete(Number(p.message_id))) return bad('message to delete not found');
        return { result: true };
      }
      default:
        return { error_code: 404, description: 'Not Found: method not found' };
    }
  }

  private parseMarkup(m: unknown): SentMessage['replyMarkup'] | undefined {
    if (m === undefined) return undefined;
    const v = typeof m === 'string' ? (JSON.parse(m) as unknown) : m;
    return v as SentMessage['replyMarkup'];
  }

  private checkMarkup(m: unknown): string | null {
    if (m === undefined) return null;
    const markup = this.parseMarkup(m) as { inline_keyboard?: unknown; force_reply?: unknown } | undefined;
    if (markup?.force_reply === true) return null;
    if (!markup || !Array.isArray(markup.inline_keyboard)) return 'unsupported reply markup';
    for (const row of markup.inline_keyboard as unknown[]) {
      if (!Array.isArray(row))
        return 'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays';
      for (const b of row as Array<{ text?: unknown; callback_data?: unknown; url?: unknown }>) {
        if (typeof b.text !== 'string' || b.text.length === 0) return 'can\'t find field "text"';
        if (b.callback_data !== undefined) {
          const n = Buffer.byteLength(str(b.callback_data));
          if (n < 1 || n > 64) return 'BUTTON_DATA_INVALID';
        } else if (b.url === undefined) return 'BUTTON_TYPE_INVALID';
      }
    }
    return null;
  }

  /** Long poll: waits until an update at or above offset exists, the timeout passes, a newer poll replaces this one, or the client leaves. */
  private async waitForUpdates(
    offset: number,
    timeoutMs: number,
    res: http.ServerResponse,
  ): Promise<'ready' | 'conflict' | 'gone'> {
    if (this.activePoll) {
      this.activePoll.conflict = true;
      this.activePoll.wake();
    }
    const poll = { conflict: false, gone: false, wake: () => undefined as void };
    this.activePoll = poll;
    const onClose = () => {
      poll.gone = true;
      poll.wake();
    };
    res.once('close', onClose);
    const deadline = Date.now() + timeoutMs;
    try {
      while (
        !this.closed &&
        !poll.conflict &&
        !poll.gone &&
        Date.now() < deadline &&
        !this.queue.some((u) => (u.update_id as number) >= offset)
      ) {
        await new Promise<void>((resolve) => {
          poll.wake = resolve;
          this.waiters.push(resolve);
          setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
        });
      }
    } finally {
      res.off('close', onClose);
      if (this.activePoll === poll) this.activePoll = null;
    }
    return poll.gone ? 'gone' : poll.conflict ? 'conflict' : 'ready';
  }

  private takeUpdates(p: Record<string, unknown>): unknown[] {
    const offset = Number(p.offset ?? 0);
    // Confirm (drop) updates below the offset, as Telegram does.
    while (this.queue.length > 0 && (this.queue[0].update_id as number) < offset) this.queue.shift();
    return this.queue.slice(0, Number(p.limit ?? 100));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.splice(0).forEach((w) => w());
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
