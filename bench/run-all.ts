/**
 * `npm run bench [-- NAME…]`: runs the benchmarks one after the other, each in its own process
 * (they must not share the machine with each other). NAME is a file of bench/ without `.ts`
 * (bot-turns, ingest, aggregation, broadcast, fanout, timer-early, redis-queue-ceiling, load, soak); none runs
 * them all. Needs the services: the npm script wraps it in scripts/with-services.sh. The soak runs
 * 3 minutes here (BENCH_SOAK_S, unless set): its full length is 30 minutes, run on its own
 * (bench/RESULTS.md, "soak").
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ALL = [
  'bot-turns',
  'ingest',
  'aggregation',
  'broadcast',
  'fanout',
  'timer-early',
  'redis-queue-ceiling',
  'load',
  'soak',
];
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL;
const unknown = names.filter((n) => !ALL.includes(n) || !existsSync(path.join(__dirname, `${n}.ts`)));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${ALL.join(', ')})`);
  process.exit(2);
}
let failed = 0;
for (const name of names) {
  console.log(`\n== bench/${name}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, `${name}.ts`)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_SOAK_S: process.env.BENCH_SOAK_S ?? '180' },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
