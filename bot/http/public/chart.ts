import { DateTime } from 'luxon';
import { esc } from '../../channels/web/render';
import type { PublishedPeriod } from './published';

/**
 * The trend by month as an inline SVG, drawn on the server: no script, no third-party asset, and
 * it scales with the page (viewBox). Published months are points joined by a line, with their 95%
 * interval as a whisker; months below the minimum are a grey mark on the axis; each "you said, we
 * did" note is a dashed line at its day, numbered as in the list beside the chart.
 */
const W = 640;
const H = 260;
const M = { left: 44, right: 12, top: 22, bottom: 42 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;

export interface ChartNote {
  /** The number shown on the chart and in the list. */
  label: number;
  date: string;
}

const pct = (v: number) => `${Math.round(v * 100)}%`;
const f1 = (v: number) => v.toFixed(1);

export function trendSvg(
  points: readonly PublishedPeriod[],
  notes: readonly ChartNote[],
  title: string,
): string {
  const slot = PLOT_W / Math.max(points.length, 1);
  const x = (i: number) => M.left + (i + 0.5) * slot;
  const y = (v: number) => M.top + (1 - v) * PLOT_H;
  const parts: string[] = [];
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${f1(y(v))}" y2="${f1(y(v))}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${M.left - 6}" y="${f1(y(v) + 4)}" text-anchor="end" font-size="11" fill="#57606a">${pct(v)}</text>`,
    );
  }
  points.forEach((p, i) => {
    const m = DateTime.fromFormat(p.key, 'yyyy-LL');
    const label = m.month === 1 || i === 0 ? `${m.toFormat('LL')}/${m.toFormat('yy')}` : m.toFormat('LL');
    parts.push(
      `<text x="${f1(x(i))}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11" fill="#57606a">${label}</text>`,
    );
  });
  // Notes first, so the points are drawn over their lines.
  const first = points[0] ? DateTime.fromFormat(points[0].key, 'yyyy-LL') : null;
  for (const n of notes) {
    if (!first) break;
    const d = DateTime.fromISO(n.date);
    const i = (d.year - first.year) * 12 + (d.month - first.month);
    if (i < 0 || i >= points.length) continue;
    const nx = M.left + (i + (d.day - 0.5) / d.daysInMonth!) * slot;
    parts.push(
      `<line x1="${f1(nx)}" x2="${f1(nx)}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="#9a6700" stroke-width="1.5" stroke-dasharray="4 3"/>`,
      `<circle cx="${f1(nx)}" cy="${M.top - 10}" r="8" fill="#9a6700"/>`,
      `<text x="${f1(nx)}" y="${M.top - 6}" text-anchor="middle" font-size="11" font-weight="bold" fill="#ffffff">${n.label}</text>`,
    );
  }
  // A line joins consecutive published months only: a gap is not drawn across.
  let d = '';
  let run = false;
  points.forEach((p, i) => {
    const v = p.overall;
    if (!v) {
      run = false;
      parts.push(
        `<line x1="${f1(x(i) - 5)}" x2="${f1(x(i) + 5)}" y1="${f1(y(0))}" y2="${f1(y(0))}" stroke="#8c959f" stroke-width="3"/>`,
      );
      return;
    }
    d += `${run ? 'L' : 'M'}${f1(x(i))},${f1(y(v.index))}`;
    run = true;
    parts.push(
      `<line x1="${f1(x(i))}" x2="${f1(x(i))}" y1="${f1(y(v.ci95.high))}" y2="${f1(y(v.ci95.low))}" stroke="#0a3069" stroke-opacity="0.45" stroke-width="2"/>`,
    );
  });
  if (d) parts.push(`<path d="${d}" fill="none" stroke="#0a3069" stroke-width="2.5"/>`);
  points.forEach((p, i) => {
    if (p.overall)
      parts.push(
        `<circle cx="${f1(x(i))}" cy="${f1(y(p.overall.index))}" r="4.5" fill="#0a3069"><title>${esc(`${p.key}: ${(p.overall.index * 100).toFixed(1)}%`)}</title></circle>`,
      );
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title"><title id="chart-title">${esc(title)}</title>${parts.join('')}</svg>`;
}
