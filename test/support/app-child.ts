/**
 * One process of the app with the roles in ROLES (http, bot, workers), for tests that run several
 * processes sharing Redis and MongoDB, run with `node --import tsx`. Env: the app's own variables.
 * Tells its port (null without the http role) to the parent over IPC once started; SIGTERM stops it.
 */
import { startApp } from '../../app/start';
import { parseEnv } from '../../config/env';

async function main(): Promise<void> {
  const env = parseEnv({ PORT: '0', HOST: '127.0.0.1', ...process.env, NODE_ENV: 'test' });
  const app = await startApp({ env, handleSignals: true });
  process.send?.({ port: app.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
