import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Breakdowns } from './period-sum';

/**
 * The text a month document keeps its breakdowns in (models/rollup-month.ts `breakdowns`): their
 * JSON deflated (raw deflate, no header) and base64-encoded behind a format tag. FerretDB 1.24
 * pays for every byte of every document it reads, and a unit-month's breakdowns are tens of kB of
 * JSON, a few kB deflated (bench/RESULTS.md, "dashboard").
 */
const DEFLATED = 'dr1:';

export function packBreakdowns(b: Breakdowns): string {
  return DEFLATED + deflateRawSync(JSON.stringify(b)).toString('base64');
}

/**
 * The one decoder of a month's breakdowns text, for every reader: the deflated form written since
 * 2026-12-04, or the plain JSON text written before (it starts with `{`; production holds such
 * documents until their month job runs again).
 */
export function unpackBreakdowns(text: string): Breakdowns {
  if (text.startsWith(DEFLATED))
    return JSON.parse(
      inflateRawSync(Buffer.from(text.slice(DEFLATED.length), 'base64')).toString('utf8'),
    ) as Breakdowns;
  if (text.startsWith('{')) return JSON.parse(text) as Breakdowns;
  throw new Error(`month breakdowns in an unknown format (starting ${JSON.stringify(text.slice(0, 8))})`);
}
