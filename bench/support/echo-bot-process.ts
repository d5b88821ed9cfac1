import http from 'node:http';
import path from 'node:path';
import { Telegraf } from 'telegraf';
import { BENCH_SECRET, BENCH_TOKEN } from './bot-env';
import { forkWatched, serveWatch, type WatchedProcess } from './watched-process';

/**
 * The baseline of the bot benches: a bare telegraf echo bot (no state, no queue) in webhook
 * mode, replying to every message with its text through the Bot API at `apiRoot`, with the same
 * connection handling as the bot under test (keep-alive to the local Bot API).
 */
export async function startEchoBot(apiRoot: string): Promise<{ url: string; close(): Promise<void> }> {
  const bot = new Telegraf(BENCH_TOKEN, { telegram: { apiRoot, webhookReply: false } });
  (bot.telegram as unknown as { options: { agent?: http.Agent } }).options.agent = new http.Agent({
    keepAlive: true,
    maxSockets: 256,
  });
  bot.botInfo = {
    id: 123456,
    is_bot: true,
    first_name: 'echo',
    username: 'echo_bot',
    can_join_groups: false,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  };
  bot.on('message', async (ctx) => {
    await ctx.reply('text' in ctx.message ? ctx.message.text : 'ok');
  });
  const server = http.createServer(bot.webhookCallback('/webhooks/telegram', { secretToken: BENCH_SECRET }));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/webhooks/telegram`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * The echo bot in a process of its own, as the bot under test runs in its own
 * (bench/support/bot-role-process.ts): the fair baseline, whose process does nothing but echo.
 */
export async function startEchoBotProcess(apiRoot: string): Promise<WatchedProcess & { url: string }> {
  const root = path.resolve(__dirname, '../..');
  const p = await forkWatched('echo bot', __filename, [apiRoot], { cwd: root, env: process.env });
  return { ...p, url: `http://127.0.0.1:${p.port}/webhooks/telegram` };
}

if (require.main === module) {
  void (async () => {
    const echo = await startEchoBot(process.argv[2]!);
    serveWatch({
      port: Number(new URL(echo.url).port),
      mongoClient: null,
      redisUrl: undefined,
      stop: () => echo.close(),
    });
  })();
}
