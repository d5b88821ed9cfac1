import type { FastifyInstance } from 'fastify';
import { ApiRefused, SessionEnded, type ApiErrorBody } from '../api';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { dossiers } from '../messages/dossiers';
import { overview } from '../messages/overview';
import { signedInPage } from '../page';
import { sendPage } from '../render';
import { readUnitNames, unitNamer, type UnitName } from './unit-names';
import { when } from './cases-model';
import {
  DOSSIER_CHANNELS,
  ELEMENTS,
  responseFilters,
  SCORES,
  scoresOf,
  SURVEY_CHANNELS,
  timeline,
  withQuery,
  type DossierDetail,
  type FilterQuery,
  type ResponseList,
} from './dossiers-model';
import { periodOptions, treeOptions, type UnitRow } from './overview-model';

const enc = encodeURIComponent;
/** The invitation channels with a label (survey.*); another is shown as its code. */
const VIA = new Set(['telegram', 'zalo', 'web', 'zns']);

/**
 * Hồ sơ & Phiếu: a dossier looked up by its code with its survey's path (GET /dossiers/:code;
 * a dossier of another unit is "not found", as the API answers), and the responses browsed with
 * the API's filters, a page at a time, with the filtered CSV/XLSX downloads
 * (/responses/export.*). Free text only for freeText:read and only when asked (?text=1, which
 * the API audits).
 */
export function dossierPages(app: FastifyInstance): void {
  app.get(
    '/admin/dossiers',
    signedInPage<{ code?: string }>(async ({ me, api, req, reply, query }) => {
      const t = translator(langOf(req), dossiers, overview, common);
      const code = (query.code ?? '').trim().slice(0, 100);
      let dossier: DossierDetail | null = null;
      let notFound = false;
      let unitName: UnitName = (u) => u;
      if (code) {
        const [r, names] = await Promise.all([
          api.call<DossierDetail>('GET', `/dossiers/${enc(code)}`),
          readUnitNames(api),
        ]);
        unitName = names;
        // 404 for an unknown code and for another unit's dossier alike; other refusals are the error page.
        if (r.status === 404) notFound = true;
        else if (r.status === 401) throw new SessionEnded();
        else if (r.status >= 400) throw new ApiRefused(r.status, r.body as unknown as ApiErrorBody);
        else dossier = r.body;
      }
      const can = new Set(me.user.permissions);
      return sendPage(req, reply, 'dossiers', {
        title: 'dossiers.title',
        me,
        csrf: me.csrfToken,
        messages: [dossiers, overview],
        status: notFound ? 404 : undefined,
        data: {
          tab: 'lookup',
          canLookup: can.has('dossiers:read'),
          canResponses: can.has('responses:read'),
          code,
          dossier,
          unitName,
          notFound,
          steps: dossier ? timeline(dossier) : [],
          when,
          via: (ch: string) => (VIA.has(ch) ? t(`survey.${ch}`) : ch),
          responseLink:
            dossier?.responseId && can.has('responses:read')
              ? withQuery('/admin/dossiers/responses', { responseId: dossier.responseId })
              : null,
        },
      });
    }),
  );

  app.get(
    '/admin/dossiers/responses',
    signedInPage<FilterQuery & { cursor?: string; text?: string; responseId?: string }>(
      async ({ me, api, req, reply, query }) => {
        const t = translator(langOf(req), dossiers, overview, common);
        const can = new Set(me.user.permissions);
        const filters = responseFilters(query);
        const one = query.responseId?.trim().slice(0, 100) || undefined;
        const text = query.text === '1' && can.has('freeText:read');
        const [list, units] = await Promise.all([
          api.get<ResponseList>('/responses', {
            ...filters,
            ...(one ? { responseId: one } : {}),
            ...(text ? { includeText: 'true' } : {}),
            ...(query.cursor ? { cursor: query.cursor } : {}),
            limit: '50',
          }),
          api.get<{ units: UnitRow[] }>('/units'),
        ]);
        // One response asked for by its id (a dossier's link): an unknown id and another unit's
        // response alike are a 404, and the page does not repeat the id.
        const notFound = one !== undefined && list.responses.length === 0;
        const here = { ...filters, responseId: notFound ? undefined : one };
        const periods = periodOptions(t, filters.period ?? '');
        if (filters.period && !periods.some((p) => p.key === filters.period))
          periods.unshift({ key: filters.period, label: filters.period });
        const download = (ext: string) =>
          withQuery(`/api/v1/responses/export.${ext}`, {
            ...here,
            ...(text ? { includeText: 'true' } : {}),
          });
        return sendPage(req, reply, 'dossiers-responses', {
          title: 'dossiers.title',
          me,
          csrf: me.csrfToken,
          messages: [dossiers, overview],
          status: notFound ? 404 : undefined,
          data: {
            tab: 'responses',
            notFound,
            canLookup: can.has('dossiers:read'),
            canResponses: true,
            filters,
            responseId: notFound ? null : (one ?? null),
            list,
            text,
            canText: can.has('freeText:read'),
            units: treeOptions(units.units, t),
            unitName: unitNamer(units.units),
            periods,
            channels: DOSSIER_CHANNELS,
            surveyChannels: SURVEY_CHANNELS,
            scores: SCORES,
            elements: ELEMENTS,
            scoresOf,
            when,
            next: list.nextCursor
              ? withQuery('/admin/dossiers/responses', {
                  ...here,
                  text: text ? '1' : undefined,
                  cursor: list.nextCursor,
                })
              : null,
            first: query.cursor
              ? withQuery('/admin/dossiers/responses', { ...here, text: text ? '1' : undefined })
              : null,
            toggleText: withQuery('/admin/dossiers/responses', {
              ...here,
              text: text ? undefined : '1',
            }),
            csv: download('csv'),
            xlsx: download('xlsx'),
            lookup: (c: string) => withQuery('/admin/dossiers', { code: c }),
          },
        });
      },
    ),
  );
}
