/**
 * `npm run bench [-- NAME…]`: runs the benchmarks one after the other, each in its own process
 * (they must not share the machine with each other), then prints a table of every figure each
 * handed over (bench/support/result.ts) and exits 1 when a benchmark failed or ran past its
 * budget. NAME is an entry of BENCHES; none runs them all. Needs the services: the npm script
 * wraps it in scripts/with-services.sh.
 *
 * Every benchmark runs here in the short form given by its `env`/`args` (bench/RESULTS.md,
 * "npm run bench"), so that the whole run stays within 15 minutes; a variable already set in the
 * environment wins. Run one on its own for its full form.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { RESULT_MARK, type BenchFigure } from './support/result';

interface Bench {
  name: string;
  /** Variables of the short form (the bench's own defaults are its full form). */
  env?: Record<string, string>;
  args?: string[];
  /** Wall-clock seconds after which the bench is stopped and counted as failed. */
  budgetS: number;
}

/** In the order they run; each budget is about twice the run's estimate in bench/RESULTS.md. */
const BENCHES: Bench[] = [
  {
    name: 'bot-turns',
    env: { BENCH_WARMUP_S: '5', BENCH_SATURATION_S: '4', BENCH_OPEN_S: '20' },
    budgetS: 240,
  },
  { name: 'ingest', budgetS: 120 },
  {
    name: 'aggregation',
    args: ['--responses', '20000', '--sample', '50', '--query-runs', '10'],
    budgetS: 300,
  },
  { name: 'broadcast', env: { BENCH_RECIPIENTS: '10000', BENCH_WINDOW_S: '20' }, budgetS: 240 },
  { name: 'fanout', budgetS: 120 },
  { name: 'timer-early', budgetS: 60 },
  { name: 'redis-queue-ceiling', env: { BENCH_QUEUE_N: '20000' }, budgetS: 120 },
  { name: 'redis-pipeline', budgetS: 60 },
  { name: 'call-signals', budgetS: 60 },
  { name: 'load', budgetS: 300 },
  { name: 'bursts', budgetS: 180 },
  // 50,000 responses took 113 s of seeding alone on a quiet machine and ran past the budget;
  // 8 s a target keeps its 9 targets within the time its 7 took at 10 s.
  {
    name: 'dashboard',
    env: { BENCH_DASHBOARD_RESPONSES: '20000', BENCH_DASHBOARD_MAX_S: '8', BENCH_DASHBOARD_SCANS: '3' },
    budgetS: 180,
  },
  { name: 'soak', env: { BENCH_SOAK_S: '150', BENCH_SOAK_SAMPLE_S: '5' }, budgetS: 300 },
];

interface Outcome {
  name: string;
  status: 'ok' | 'failed' | 'over budget';
  seconds: number;
  figures: BenchFigure[];
}

/** Runs one bench in a process group of its own, so that its budget stops its children too. */
function runOne(b: Bench): Promise<Outcome> {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(b.env ?? {})) env[k] ??= v;
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, `${b.name}.ts`), ...(b.args ?? [])],
    { stdio: ['ignore', 'pipe', 'inherit'], env, detached: true },
  );
  const figures: BenchFigure[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    console.log(line);
    if (line.startsWith(RESULT_MARK))
      figures.push(...(JSON.parse(line.slice(RESULT_MARK.length)) as { figures: BenchFigure[] }).figures);
  });
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* the group has exited */
    }
  };
  let over = false;
  const budget = setTimeout(() => {
    over = true;
    console.error(`bench/${b.name}.ts ran past its budget of ${b.budgetS} s: stopped`);
    group('SIGTERM');
    setTimeout(() => group('SIGKILL'), 15_000).unref();
  }, b.budgetS * 1000);
  // Ctrl-C reaches only this process (the bench has a group of its own): stop the bench, and the run.
  const interrupt = () => {
    group('SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', interrupt);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(budget);
      process.off('SIGINT', interrupt);
      // Whatever the bench left running (a process it spawned) goes with it.
      group('SIGKILL');
      resolve({
        name: b.name,
        status: over ? 'over budget' : code === 0 ? 'ok' : 'failed',
        seconds: (Date.now() - t0) / 1000,
        figures,
      });
    });
  });
}

function summary(outcomes: Outcome[]): string {
  const num = (x: number) =>
    Number.isInteger(x) || Math.abs(x) >= 100
      ? x.toFixed(0)
      : Math.abs(x) >= 10
        ? x.toFixed(1)
        : x.toFixed(2);
  const rows: string[][] = [['benchmark', 'status', 'time', 'figure', 'value', 'target', 'met']];
  for (const o of outcomes) {
    const head = [o.name, o.status, `${o.seconds.toFixed(0)} s`];
    if (o.figures.length === 0) rows.push([...head, '(no figures)', '', '', '']);
    o.figures.forEach((f, i) =>
      rows.push([
        ...(i === 0 ? head : ['', '', '']),
        f.figure,
        `${num(f.value)} ${f.unit}`,
        f.target ?? '–',
        f.met === null ? '–' : f.met ? 'yes' : 'NO',
      ]),
    );
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}

async function main(): Promise<number> {
  const asked = process.argv.slice(2);
  const known = BENCHES.map((b) => b.name);
  const unknown = asked.filter((n) => !known.includes(n) || !existsSync(path.join(__dirname, `${n}.ts`)));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${known.join(', ')})`);
    return 2;
  }
  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  for (const b of asked.length > 0 ? BENCHES.filter((x) => asked.includes(x.name)) : BENCHES) {
    console.log(`\n== bench/${b.name}.ts ${b.args?.join(' ') ?? ''}`);
    outcomes.push(await runOne(b));
  }
  console.log(
    `\n== summary (${((Date.now() - t0) / 60_000).toFixed(1)} min; ratios are to the same run's baseline)`,
  );
  console.log(summary(outcomes));
  const failed = outcomes.filter((o) => o.status !== 'ok');
  if (failed.length > 0) console.error(`failed: ${failed.map((o) => `${o.name} (${o.status})`).join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

void main().then((code) => process.exit(code));
