/**
 * One more process of the app (the http role only), for tests that need two processes sharing
 * Redis and MongoDB, run with `node --import tsx`. Env: the app's own variables (MONGODB_URI
 * with the test database, REDIS_URL, REDIS_PREFIX, AUTH_*). Tells its port to the parent over IPC;
 * SIGTERM stops it.
 */
import { startApp } from '../../app/start';
import { parseEnv } from '../../config/env';

async function main(): Promise<void> {
  const env = parseEnv({ ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test', ROLES: 'http' });
  const app = await startApp({ env, roles: ['http'], handleSignals: true });
  process.send?.({ port: app.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
