/**
 * The figures a benchmark hands to `npm run bench` (bench/run-all.ts) for its summary table: one
 * line on stdout, `BENCH_RESULT {json}`, after the bench's own report. A bench run on its own
 * prints the line too; nothing else reads it.
 */
export const RESULT_MARK = 'BENCH_RESULT ';

export interface BenchFigure {
  /** What is compared, e.g. "saturation, bot role / echo". */
  figure: string;
  /** The figure as a ratio to the baseline of the same run, or the absolute figure when it has none. */
  value: number;
  /** How `value` reads: "×" for a ratio, or a unit ("ms", "/s", "MiB/h"). */
  unit: string;
  /** The target, as RESULTS.md states it ("≥ 0.5"), or null for a figure only reported. */
  target: string | null;
  /** Whether the target was met (null without a target). */
  met: boolean | null;
}

export function reportFigures(bench: string, figures: BenchFigure[]): void {
  console.log(RESULT_MARK + JSON.stringify({ bench, figures }));
}
