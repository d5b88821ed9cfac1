#!/usr/bin/env node
/**
 * Container health check for a process of any role (Dockerfile HEALTHCHECK): exits 0 when the
 * process's heartbeat file (HEALTH_FILE, app/heartbeat.ts) is fresh, 1 otherwise. Reads only that
 * variable: it must not fail on the rest of the configuration, nor load the app.
 */
import { heartbeatFresh } from '../app/heartbeat';

const file = process.env.HEALTH_FILE;
if (!file) {
  console.error('HEALTH_FILE is not set: no heartbeat to check');
  process.exit(1);
}
heartbeatFresh(file).then(
  (r) => {
    if (!r.ok) console.error(r.reason);
    process.exit(r.ok ? 0 : 1);
  },
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
