/**
 * The bot role (`http,bot`) of one checkout as a process of its own, for bench/bot-turns-ab.ts:
 * `node --import tsx bench/support/bot-role-process.ts <checkout>` starts the app of <checkout>
 * (default: this one) with the settings in its environment, makes sure its default flow exists,
 * and prints `BOT_ROLE_READY <port>` on stdout. SIGTERM stops it.
 *
 * The checkout's modules are loaded from its own path, so each resolves its own node_modules: an
 * older tree runs with the dependencies it was written for. Only what every tree since the
 * restructuring has (parseEnv, startApp with roles, FlowRepository.ensure, defaultFlow) is used.
 */
import path from 'node:path';

interface Checkout {
  parseEnv(raw: NodeJS.ProcessEnv): unknown;
  startApp(opts: { env: unknown; roles: string[] }): Promise<{ port: number | null; stop(): Promise<void> }>;
  FlowRepository: new () => { ensure(flow: unknown): Promise<unknown> };
  defaultFlow: unknown;
}

function load(root: string): Checkout {
  /* eslint-disable @typescript-eslint/no-require-imports -- the checkout is chosen at run time */
  return {
    ...(require(path.join(root, 'config/env')) as Pick<Checkout, 'parseEnv'>),
    ...(require(path.join(root, 'app/start')) as Pick<Checkout, 'startApp'>),
    ...(require(path.join(root, 'bot/flow/repository')) as Pick<Checkout, 'FlowRepository'>),
    ...(require(path.join(root, 'bot/flow/default-flow')) as Pick<Checkout, 'defaultFlow'>),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

async function main(): Promise<void> {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '../..'));
  const c = load(root);
  const app = await c.startApp({ env: c.parseEnv(process.env), roles: ['http', 'bot'] });
  await new c.FlowRepository().ensure(c.defaultFlow);
  process.stdout.write(`BOT_ROLE_READY ${app.port}\n`);
  process.once('SIGTERM', () => {
    void app.stop().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
