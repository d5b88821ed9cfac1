/**
 * Dashboard benchmark (issue 19; not a test): the console's overview (Tổng quan) of a district
 * with BENCH_DASHBOARD_RESPONSES completed responses (default 200,000) over 2024, spread over its
 * 11 communes, with their dossiers; written in bulk by the aggregation benchmark's generator
 * (bench/support/survey-data.ts) and rolled up by the real rebuild. The whole http role serves
 * it; a district official signed in asks, one request at a time, BENCH_DASHBOARD_REQUESTS times
 * each (default 200, after 10 warm-ups):
 *  - GET /admin?unit=477&period=2024 (the page), and the same as the period filter's htmx swap;
 *  - the three API reads the page makes: /api/v1/units, /indices, /indices/ranking;
 *  - the baseline, in the same run: GET /healthz and a static asset of the console.
 * Prints p50 and p99 of each; target: the page's p99 under 300 ms.
 *
 *   bash scripts/with-services.sh npx tsx bench/dashboard.ts
 *   BENCH_DASHBOARD_RESPONSES=5000 BENCH_DASHBOARD_REQUESTS=20 bash scripts/with-services.sh npx tsx bench/dashboard.ts
 *
 * Uses a fresh database and Redis prefix and drops them at the end.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { startApp } from '../app/start';
import { defaultFlow } from '../bot/flow/default-flow';
import { FlowRepository } from '../bot/flow/repository';
import { assetUrl } from '../bot/http/console/assets';
import { SEED_UNITS } from '../cli/seed-data/units';
import { parseEnv } from '../config/env';
import { Accounts } from '../lib/auth/accounts';
import { SessionStore } from '../lib/auth/sessions';
import { Unit } from '../models/unit';
import { rebuildRollups } from '../workers/aggregation/rollups/rebuild';
import { freePort } from '../test/support/app';
import { clearPrefix } from '../test/support/services';
import { loadAverage, pct } from './support/fleet';
import { generateResponses, YEAR_2024 } from './support/survey-data';

const TOTAL = Number(process.env.BENCH_DASHBOARD_RESPONSES ?? 200_000);
const REQUESTS = Number(process.env.BENCH_DASHBOARD_REQUESTS ?? 200);
const WARMUP = 10;
const TARGET_MS = 300;
const DISTRICT = '477';
const COMMUNES = SEED_UNITS.filter((u) => u.parentCode === DISTRICT).map((u) => u.code);
const USER = 'bench.huyen';
const PASSWORD = 'Sông Hương núi Ngự 1/7/2025';

async function main(): Promise<void> {
  const port = await freePort();
  const prefix = `{bench${randomBytes(4).toString('hex')}}`;
  const base = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017');
  base.pathname = `/bench_dash_${randomBytes(4).toString('hex')}`;
  const env = parseEnv({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    MONGODB_URI: base.toString(),
    REDIS_PREFIX: prefix,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const app = await startApp({ env, roles: ['http'] });
  const loadStart = loadAverage();
  try {
    await new FlowRepository().ensure(defaultFlow);
    await Unit.insertMany(SEED_UNITS);
    console.log(
      `dashboard benchmark: district ${DISTRICT}, ${COMMUNES.length} communes, ${TOTAL} responses over 2024; ${REQUESTS} requests each; ${os.cpus().length} CPUs, load ${loadStart}`,
    );
    const g0 = performance.now();
    await generateResponses({
      total: TOTAL,
      units: COMMUNES,
      yearStart: YEAR_2024,
      dossiers: true,
      progress: (done) => process.stderr.write(`  generated ${done}/${TOTAL} (load ${loadAverage()})\n`),
    });
    const rb = await rebuildRollups({ redis: app.ctx.redis, prefix });
    console.log(
      `generated and rolled up (${rb.buckets} unit-day rollups, ${rb.responses} responses) in ${((performance.now() - g0) / 1000).toFixed(1)} s`,
    );
    if (rb.responses !== TOTAL) throw new Error(`rolled up ${rb.responses} responses of ${TOTAL}`);

    await new Accounts(
      new SessionStore(app.ctx.redis, prefix, { idleMs: 3_600_000, maxMs: 3_600_000 }),
    ).create(
      { username: USER, password: PASSWORD, role: 'district', unitCodes: [DISTRICT] },
      { actor: 'bench' },
    );
    const login = await fetch(`${baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: USER, password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`sign-in: ${login.status}`);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .filter((c) => c.split('=')[0]!.endsWith('hl_session'))
      .join('; ');

    const q = `unit=${DISTRICT}&period=2024`;
    const targets: Array<{ name: string; path: string; headers?: Record<string, string>; check?: string }> = [
      { name: 'baseline GET /healthz', path: '/healthz' },
      { name: 'baseline static console.css', path: assetUrl('console.css') },
      { name: 'GET /admin (overview page)', path: `/admin?${q}`, check: 'data-testid="overall-index"' },
      {
        name: 'GET /admin, htmx period swap',
        path: `/admin?${q}`,
        headers: { 'hx-request': 'true' },
        check: 'data-testid="overall-index"',
      },
      { name: 'API /api/v1/units', path: '/api/v1/units' },
      { name: 'API /api/v1/indices', path: `/api/v1/indices?${q}` },
      { name: 'API /api/v1/indices/ranking', path: `/api/v1/indices/ranking?${q}` },
    ];
    const results: Record<string, { p50: number; p99: number }> = {};
    for (const t of targets) {
      const get = async () => {
        const t0 = performance.now();
        const res = await fetch(`${baseUrl}${t.path}`, { headers: { cookie, ...t.headers } });
        const body = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${t.name}: ${res.status}`);
        if (t.check && !body.includes(t.check)) throw new Error(`${t.name}: no ${t.check} in the page`);
        return ms;
      };
      for (let i = 0; i < WARMUP; i++) await get();
      const times: number[] = [];
      for (let i = 0; i < REQUESTS; i++) times.push(await get());
      times.sort((x, y) => x - y);
      results[t.name] = { p50: pct(times, 50), p99: pct(times, 99) };
      console.log(
        `${t.name.padEnd(32)} p50 ${pct(times, 50).toFixed(1).padStart(7)} ms   p99 ${pct(times, 99).toFixed(1).padStart(7)} ms`,
      );
    }
    const page = results['GET /admin (overview page)']!;
    const baseline = results['baseline GET /healthz']!;
    console.log(
      `page p50 / healthz p50: ${(page.p50 / baseline.p50).toFixed(1)}x; target (page p99 < ${TARGET_MS} ms): ${page.p99 < TARGET_MS ? 'MET' : 'NOT MET'}; load at the end ${loadAverage()}`,
    );
    console.log(
      JSON.stringify({ responses: TOTAL, requests: REQUESTS, loadStart, loadEnd: loadAverage(), results }),
    );
  } finally {
    await app.stop().catch(() => undefined);
    const conn = await mongoose.createConnection(env.MONGODB_URI).asPromise();
    await conn.dropDatabase();
    await conn.close();
    // The app's own connection closed with it.
    const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
    await clearPrefix(redis, prefix);
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
