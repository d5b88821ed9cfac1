import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CRUISER = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
// Each test runs dependency-cruiser over the whole tree in a child process: a CPU-bound pass that
// outlasts the default minute when the unit project shares two cores with the services project.
jest.setTimeout(180_000);

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** The violations dependency-cruiser reports with the project's rules, run as `npm run arch` runs it. */
async function violations(cwd: string, dirs: string[]): Promise<string[]> {
  const out = await run(process.execPath, [CRUISER, '--config', CONFIG, '--output-type', 'json', ...dirs], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  const report = JSON.parse(out.stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations
    .map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\/([^/]+)\/.*$/, '$1')}`)
    .sort();
}

test('every rule reports its forbidden import in the fixture tree, and a type-only cycle passes', async () => {
  const found = await violations(path.join(ROOT, 'test/fixtures/architecture'), [
    'app',
    'bot',
    'indices',
    'lib',
    'models',
    'workers',
  ]);
  expect(found).toEqual([
    'engine-is-pure-core: bot/engine/step.ts -> fs',
    'engine-is-pure: bot/engine/redis-step.ts -> ioredis',
    'engine-is-pure: bot/engine/step.ts -> models/thing.ts',
    'indices-read-side: indices/figures.ts -> workers/queue.ts',
    'lib-is-generic: lib/clock.ts -> workers/queue.ts',
    'models-are-schemas: models/thing.ts -> workers/queue.ts',
    'no-circular: workers/ping.ts -> workers/pong.ts',
    'workers-below-app: workers/queue.ts -> app/context.ts',
  ]);
});

test('the source tree breaks none of the rules', async () => {
  const dirs = ['app', 'bin', 'bot', 'cli', 'config', 'indices', 'lib', 'models', 'privacy', 'workers'];
  expect(await violations(ROOT, dirs)).toEqual([]);
});
