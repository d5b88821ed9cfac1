import { Queue } from 'bullmq';
import { startTestApp, type TestApp } from '../support/app';

/**
 * A process that runs only the workers role serves no webhooks or pages, but with OPS_PORT it
 * serves the operators' instruments, so that its own counters (the jobs it ran) can be scraped
 * (app/start.ts, docs/observability.md).
 */
const METRICS_TOKEN = 'ops-port-metrics-token-0123456789';

let workers: TestApp;

const opsUrl = (path: string) => `http://127.0.0.1:${workers.app.opsPort}${path}`;

async function metricsText(): Promise<string> {
  const res = await fetch(opsUrl('/metrics'), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

/** The sum of the samples of `name` whose labels hold every one of `labels`. */
function sample(text: string, name: string, labels: string[]): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)))
    .reduce((total, l) => total + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

// One app at a time (one mongoose connection per test file): each describe starts and stops its own.
describe('with OPS_PORT', () => {
  beforeAll(async () => {
    workers = await startTestApp('opsport', { METRICS_TOKEN, OPS_PORT: '0' }, ['workers']);
  });

  afterAll(async () => {
    await workers?.stop();
  });

  test('a workers process with OPS_PORT serves /healthz and /metrics, behind the token, and nothing else', async () => {
    expect(workers.app.port).toBeNull();
    expect(workers.app.opsPort).toEqual(expect.any(Number));
    expect((await fetch(opsUrl('/healthz'))).status).toBe(200);
    expect((await fetch(opsUrl('/metrics'))).status).toBe(401);
    const detail = await fetch(opsUrl('/healthz/detail'), {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(detail.status).toBe(200);
    for (const path of ['/webhooks/telegram', '/admin', '/api/v1/units', '/khao-sat/x'])
      expect((await fetch(opsUrl(path))).status).toBe(404);
  });

  test('the jobs this process runs are counted in its own metrics', async () => {
    const before = sample(await metricsText(), 'hailong_job_duration_seconds_count', [
      'queue="ingest"',
      'outcome="failed"',
    ]);
    const ingest = new Queue('ingest', { connection: workers.redis, prefix: workers.app.ctx.prefix });
    try {
      await ingest.add('no.such-job', {});
      const deadline = Date.now() + 20_000;
      let after = before;
      while (after === before && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        after = sample(await metricsText(), 'hailong_job_duration_seconds_count', [
          'queue="ingest"',
          'outcome="failed"',
        ]);
      }
      expect(after - before).toBe(1);
    } finally {
      await ingest.close();
    }
  });
});

test('without OPS_PORT a workers process listens on nothing', async () => {
  const quiet = await startTestApp('opsport-off', {}, ['workers']);
  try {
    expect(quiet.app.http).toBeNull();
    expect(quiet.app.opsPort).toBeNull();
  } finally {
    await quiet.stop();
  }
});
