import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiRefused, type ApiErrorBody } from '../api';
import { formatFor, langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { manage } from '../messages/manage';
import { overview } from '../messages/overview';
import { signedInPage, toSignIn, type PageContext } from '../page';
import { manageAccountPages } from './manage-accounts';
import {
  flagDetail,
  auditFilters,
  formErrors,
  lastDays,
  queryOf,
  zaloHealth,
  type AuditRow,
  type FlagRow,
  type Platforms,
  type Verify,
} from './manage-model';
import { dayText, readDays } from './day-input';
import { renderManage } from './manage-render';
import { readUnitNames, unitNamer } from './unit-names';
import { treeOptions, type UnitRow } from './overview-model';

type Query = Record<string, string | undefined>;
type Form = Record<string, string | undefined>;
const enc = encodeURIComponent;

async function flagsPage(
  ctx: PageContext,
  q: Query,
  opts: { errors?: Record<string, string>; values?: Form; done?: string; status?: number } = {},
): Promise<FastifyReply> {
  const { me, api, req } = ctx;
  const t = translator(langOf(req), manage, overview, common);
  const { units } = await api.get<{ units: UnitRow[] }>('/units');
  const options = treeOptions(units, t);
  const range = lastDays(30);
  const typed = { from: q.from?.trim() || range.from, to: q.to?.trim() || range.to };
  const { days, errors: dayErrors } = readDays(typed, ['from', 'to'] as const, t('day.bad'));
  const filter = { unit: q.unit || me.user.unitCodes[0] || options[0]?.code || '', ...typed, ...days };
  // A day that is not one: its error under the field, and the API is not asked.
  const r =
    Object.keys(dayErrors).length > 0
      ? null
      : await api.call<{ flags: FlagRow[] } & ApiErrorBody>('GET', '/flags', { query: filter });
  if (r?.status === 401) return toSignIn(req, ctx.reply);
  if (r && (r.status === 403 || r.status === 404)) throw new ApiRefused(r.status, r.body);
  const filterErrors = !r ? dayErrors : r.status === 200 ? {} : formErrors(r.body, langOf(req));
  return renderManage(ctx, 'manage-flags', 'flags', {
    status: opts.status ?? (r?.status === 200 ? 200 : 422),
    data: {
      units: options,
      unitName: unitNamer(units),
      flagDetail: (row: FlagRow) => flagDetail(row, t, (n) => formatFor(langOf(req)).count(n)),
      filter,
      dayText,
      flags: r?.status === 200 ? r.body.flags : null,
      filterErrors,
      canExclude: me.user.permissions.includes('flags:write'),
      errors: opts.errors ?? {},
      values: opts.values ?? {},
      done: opts.done ?? null,
      back: `/admin/manage/flags${queryOf(filter)}`,
    },
  });
}

/**
 * Quản trị: a menu of the parts the person's role allows; the audit log (filter, CSV export,
 * the chain's check), flagged responses (list, exclude with a reason), the platforms'
 * connections and the queue dashboard's link. Accounts and keys: manage-accounts.ts.
 */
export function managePages(app: FastifyInstance): void {
  app.get(
    '/admin/manage',
    signedInPage(async (ctx) => renderManage(ctx, 'manage', null)),
  );

  app.get(
    '/admin/manage/audit',
    signedInPage<Query>(async (ctx) => {
      const { api, req, query } = ctx;
      const typed = auditFilters(query);
      const t = translator(langOf(req), common);
      const { days, errors: dayErrors } = readDays(typed, ['from', 'to'] as const, t('day.bad'));
      const filters = { ...typed, ...days };
      const badDays = Object.keys(dayErrors).length > 0;
      const before = /^\d+$/.test(query.before ?? '') ? query.before : undefined;
      const [list, verify, unitName] = await Promise.all([
        // A day that is not one: its error under the field, and the API is not asked.
        badDays
          ? Promise.resolve(null)
          : api.call<{ entries: AuditRow[]; nextCursor: number | null } & ApiErrorBody>('GET', '/audit', {
              query: { ...filters, before, limit: '50' },
            }),
        query.verify === '1' ? api.get<Verify>('/audit/verify') : Promise.resolve(null),
        readUnitNames(api),
      ]);
      if (list?.status === 401) return toSignIn(req, ctx.reply);
      if (list && (list.status === 403 || list.status === 404)) throw new ApiRefused(list.status, list.body);
      const ok = list?.status === 200;
      return renderManage(ctx, 'manage-audit', 'audit', {
        status: ok ? 200 : 422,
        data: {
          filters,
          // Not listed (a refused filter): no result at all, not an empty one.
          entries: ok ? list.body.entries : null,
          unitName,
          errors: !list ? dayErrors : ok ? {} : formErrors(list.body, langOf(req)),
          dayText,
          verify,
          exportHref: `/api/v1/audit/export${queryOf(filters)}`,
          verifyHref: `/admin/manage/audit${queryOf({ ...filters, verify: '1' })}`,
          next:
            ok && list.body.nextCursor
              ? `/admin/manage/audit${queryOf({ ...filters, before: String(list.body.nextCursor) })}`
              : null,
        },
      });
    }),
  );

  app.get(
    '/admin/manage/flags',
    signedInPage<Query>((ctx) => flagsPage(ctx, ctx.query, { done: ctx.query.done })),
  );

  app.post(
    '/admin/manage/flags/:responseId/exclude',
    signedInPage<unknown, Form>(async (ctx) => {
      const { responseId } = ctx.req.params as { responseId: string };
      const f = ctx.body;
      const q = { unit: f.unit, from: f.from, to: f.to };
      const key = `exclude-${responseId}`;
      const values = { ...f, form: key };
      if (f.confirm !== 'on') {
        const t = translator(langOf(ctx.req), manage, common);
        return flagsPage(ctx, q, {
          errors: { [`${key}-confirm`]: t('manage.confirmMissing') },
          values,
          status: 422,
        });
      }
      const r = await ctx.api.call<ApiErrorBody>('POST', `/flags/${enc(responseId)}/exclude`, {
        body: { reason: f.reason ?? '' },
      });
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status === 403 || r.status === 404) throw new ApiRefused(r.status, r.body);
      if (r.status !== 200) {
        const errors = Object.fromEntries(
          Object.entries(formErrors(r.body, langOf(ctx.req))).map(([k, v]) => [`${key}-${k}`, v]),
        );
        return flagsPage(ctx, q, { errors, values, status: r.status === 409 ? 409 : 422 });
      }
      return ctx.reply.redirect(`/admin/manage/flags${queryOf({ ...q, done: responseId })}`, 303);
    }),
  );

  app.get(
    '/admin/manage/system',
    signedInPage(async (ctx) => {
      const p = await ctx.api.get<Platforms>('/platforms');
      return renderManage(ctx, 'manage-system', 'system', {
        data: { p, health: zaloHealth(p.zalo.token), queuesHref: '/admin/queues' },
      });
    }),
  );

  manageAccountPages(app);
}
