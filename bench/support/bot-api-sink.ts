import http from 'node:http';

/**
 * A minimal Bot API for benchmarks: answers every method at once and tells the driver when a
 * chat receives a message. No recording beyond counters, so it costs little next to the bot.
 */
export class BotApiSink {
  private server!: http.Server;
  private port = 0;
  private readonly waiting = new Map<string, (at: number) => void>();
  private messageId = 0;
  sent = 0;

  static async start(): Promise<BotApiSink> {
    const s = new BotApiSink();
    s.server = http.createServer((req, res) => s.handle(req, res));
    s.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    s.port = (s.server.address() as { port: number }).port;
    return s;
  }

  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves with the time (performance.now) of the next message sent to the chat. */
  nextMessage(chatId: number): Promise<number> {
    return new Promise((resolve) => this.waiting.set(String(chatId), resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').split('/').pop() ?? '';
      let result: unknown = true;
      if (method === 'sendMessage') {
        const p = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          chat_id: number | string;
          text: string;
        };
        this.sent++;
        result = {
          message_id: ++this.messageId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: Number(p.chat_id), type: 'private' },
          text: p.text,
        };
        const w = this.waiting.get(String(p.chat_id));
        if (w) {
          this.waiting.delete(String(p.chat_id));
          w(performance.now());
        }
      } else if (method === 'getMe') {
        result = { id: 1, is_bot: true, first_name: 'bench', username: 'bench_bot' };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result }));
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
let updateId = 1;

/**
 * Posts a text message update from a citizen to a webhook; resolves with the HTTP status. A
 * request on a kept-alive socket that the server closed at the same moment fails with
 * ECONNRESET before the server read it; it is sent once more, on a new socket, as Node's
 * documentation advises (`request.reusedSocket`) and as the Bot API would redeliver it.
 */
export async function postText(
  url: string,
  secret: string | null,
  chatId: number,
  text: string,
): Promise<number> {
  const isCommand = text.startsWith('/');
  const update = {
    update_id: updateId++,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private', first_name: 'Dân' },
      from: { id: chatId, is_bot: false, first_name: 'Dân', language_code: 'vi' },
      text,
      ...(isCommand
        ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0].length }] }
        : {}),
    },
  };
  const body = Buffer.from(JSON.stringify(update));
  try {
    return await postOnce(url, secret, body);
  } catch (err) {
    if (!(err instanceof ResetOnReusedSocket)) throw err;
    return postOnce(url, secret, body);
  }
}

class ResetOnReusedSocket extends Error {}

function postOnce(url: string, secret: string | null, body: Buffer): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        hostname: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(req.reusedSocket && err.code === 'ECONNRESET' ? new ResetOnReusedSocket(err.message) : err),
    );
    req.end(body);
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
