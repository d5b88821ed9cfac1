/**
 * The bot of one checkout as a process of its own, for bench/bot-turns-ab.ts and bench/bot-turns.ts:
 * `node --import tsx bench/support/bot-role-process.ts [<checkout> [<layout>]]` starts the app of
 * <checkout> (default: this one) with the settings in its environment, makes sure its default
 * flow exists, and says it is ready: `BOT_ROLE_READY <port>` on stdout, or, when forked with an
 * IPC channel (startBotProcess), a message, after which it runs the bench's instruments on
 * request (bench/support/watched-process.ts). SIGTERM stops it.
 *
 * <layout>: a list of roles run in this one process (default `http,bot`, the bot role alone), or
 * `start`: what `hailong start` without `--roles` runs (the README's), through the same function
 * as the command.
 *
 * The checkout's modules are loaded from its own path, so each resolves its own node_modules: an
 * older tree runs with the dependencies it was written for. Only what every tree since the
 * restructuring has (parseEnv, startApp with roles, FlowRepository.ensure, defaultFlow) is used
 * for a list of roles.
 */
import path from 'node:path';
import type { Connection } from 'mongoose';
import { forkWatched, serveWatch, type WatchedProcess } from './watched-process';

interface Running {
  port: number | null;
  stop(): Promise<void>;
}

interface Checkout {
  parseEnv(raw: NodeJS.ProcessEnv): unknown;
  startApp(opts: { env: unknown; roles: string[] }): Promise<Running>;
  FlowRepository: new () => { ensure(flow: unknown): Promise<unknown> };
  defaultFlow: unknown;
}

/* eslint-disable @typescript-eslint/no-require-imports -- the checkout is chosen at run time */
function load(root: string): Checkout {
  return {
    ...(require(path.join(root, 'config/env')) as Pick<Checkout, 'parseEnv'>),
    ...(require(path.join(root, 'app/start')) as Pick<Checkout, 'startApp'>),
    ...(require(path.join(root, 'bot/flow/repository')) as Pick<Checkout, 'FlowRepository'>),
    ...(require(path.join(root, 'bot/flow/default-flow')) as Pick<Checkout, 'defaultFlow'>),
  };
}

/** `hailong start` without --roles, as cli/commands/start.ts runs it. */
function startAsCommand(root: string, env: unknown): Promise<Running> {
  const { startLayout } = require(path.join(root, 'app/layout')) as {
    startLayout(opts: { env: unknown }): Promise<Running>;
  };
  return startLayout({ env });
}

/** The checkout's own mongoose connection (its node_modules), for the MongoDB command watch. */
function mongoClientOf(root: string): ReturnType<Connection['getClient']> {
  const mongoose = require(require.resolve('mongoose', { paths: [root] })) as {
    connection: Connection;
  };
  return mongoose.connection.getClient();
}
/* eslint-enable @typescript-eslint/no-require-imports */

const HERE = path.resolve(__dirname, '../..');

/**
 * The bot of this checkout in a process of its own, in `layout` (see above), its instruments
 * at the bench's call. `env` is the whole environment of the process; for the MongoDB command
 * watch its MONGODB_URI carries `monitorCommands=true`.
 */
export function startBotProcess(layout: string, env: NodeJS.ProcessEnv): Promise<WatchedProcess> {
  // BENCH_BOT_NODE_FLAGS: Node or V8 flags of the bot's process (and so of the workers' child it
  // supervises in the `start` layout), for trying them; space-separated.
  const nodeFlags = (process.env.BENCH_BOT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return forkWatched(`bot (${layout})`, __filename, [HERE, layout], { cwd: HERE, env, nodeFlags });
}

async function main(): Promise<void> {
  const root = path.resolve(process.argv[2] ?? HERE);
  const layout = process.argv[3] ?? 'http,bot';
  const c = load(root);
  const env = c.parseEnv(process.env);
  const app =
    layout === 'start'
      ? await startAsCommand(root, env)
      : await c.startApp({ env, roles: layout.split(',') });
  await new c.FlowRepository().ensure(c.defaultFlow);
  if (process.send) {
    serveWatch({
      port: app.port ?? 0,
      mongoClient: mongoClientOf(root),
      redisUrl: process.env.REDIS_URL,
      stop: () => app.stop(),
    });
    return;
  }
  process.stdout.write(`BOT_ROLE_READY ${app.port}\n`);
  process.once('SIGTERM', () => {
    void app.stop().then(() => process.exit(0));
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
