import type { FastifyInstance } from 'fastify';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { overview } from '../messages/overview';
import { signedInPage } from '../page';
import { sendPage } from '../render';
import {
  defaultPeriod,
  ELEMENTS,
  pathTo,
  periodOptions,
  roots,
  treeOptions,
  type IndexReport,
  type Ranking,
  type UnitRow,
} from './overview-model';

type Query = { unit?: string; period?: string; procedure?: string; officer?: string };

/**
 * Tổng quan: the index of a unit subtree and period with n and interval, each element, the
 * trend, the ranking of the units below, response rate, the Decision 766 ratio and cases;
 * drill down unit → commune → procedure / officer. Three API reads: units, indices, ranking,
 * at once when the unit is in the query.
 * An htmx request (the filter form) gets the form and figures (views/overview-body.eta) only.
 */
export function overviewPages(app: FastifyInstance): void {
  app.get(
    '/admin',
    signedInPage<Query>(async ({ me, api, req, reply, query }) => {
      const t = translator(langOf(req), overview, common);
      const period = query.period || defaultPeriod();
      const filter: Record<string, string> = query.procedure
        ? { procedure: query.procedure }
        : query.officer
          ? { officer: query.officer }
          : {};
      const figures = (unit: string) =>
        Promise.all([
          api.get<IndexReport>('/indices', { unit, period, ...filter }),
          api.get<Ranking>('/indices/ranking', { unit, period }),
        ]);
      // With the unit in the query the three reads are independent: they run together, so the
      // page waits for the slowest, not the sum. Without it the default unit comes from the list.
      const [{ units }, asked] = await Promise.all([
        api.get<{ units: UnitRow[] }>('/units'),
        query.unit ? figures(query.unit) : null,
      ]);
      const unit = query.unit || roots(units)[0]?.code;
      const page = {
        title: 'overview.title',
        me,
        csrf: me.csrfToken,
        messages: [overview],
        scripts: ['chart.umd.min.js', 'overview.js'],
      };
      if (!unit) return sendPage(req, reply, 'overview', { ...page, data: { empty: true } });
      const [report, ranking] = asked ?? (await figures(unit));
      const periods = periodOptions(t, period);
      if (!periods.some((p) => p.key === period)) periods.unshift({ key: period, label: period });
      const hasChildren = units.some((u) => u.parentCode === unit);
      const can = new Set(me.user.permissions);
      const q = (extra: Record<string, string>) =>
        `/admin?${new URLSearchParams({ unit, period, ...extra }).toString()}`;
      const exportUrl = can.has('reports:export')
        ? `/api/v1/reports/export.xlsx?${new URLSearchParams({ unit, period, ...filter }).toString()}`
        : null;
      const chart = {
        trend: (report.trend ?? []).map((p) => ({ label: p.period, index: p.index, n: p.responses })),
        ranking: ranking.rows.map((r) => ({ label: r.name, index: r.index, ranked: r.rank !== null })),
        labels: { index: t('overview.share'), ranking: t('overview.ranking'), trend: t('overview.trend') },
      };
      return sendPage(req, reply, 'overview', {
        ...page,
        fragment: 'overview-body',
        data: {
          empty: false,
          unit,
          period,
          filter,
          report,
          ranking,
          elements: ELEMENTS.filter((e) => report.elements[e]),
          units: treeOptions(units, t),
          periods,
          path: pathTo(units, unit),
          hasChildren,
          minN: ranking.minN,
          link: q,
          exportUrl,
          chart: JSON.stringify(chart).replace(/</g, '\\u003c'),
        },
      });
    }),
  );
}
