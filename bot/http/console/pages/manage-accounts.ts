import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiErrorBody } from '../api';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { manage } from '../messages/manage';
import { signedInPage, toSignIn, type PageContext } from '../page';
import { formErrors, ROLES, unitList, type KeyRow, type UserRow } from './manage-model';
import { renderManage } from './manage-render';
import { readUnitNames } from './unit-names';

type Form = Record<string, string | undefined>;
const enc = encodeURIComponent;
const USER_DONE = new Set(['saved', 'reset', 'disabled', 'enabled', 'created']);

async function usersPage(
  ctx: PageContext,
  opts: { errors?: Record<string, string>; values?: Form; status?: number } = {},
): Promise<FastifyReply> {
  const [{ users }, unitName] = await Promise.all([
    ctx.api.get<{ users: UserRow[] }>('/users'),
    readUnitNames(ctx.api),
  ]);
  return renderManage(ctx, 'manage-users', 'users', {
    status: opts.status,
    data: { users, unitName, roles: ROLES, errors: opts.errors ?? {}, values: opts.values ?? {} },
  });
}

async function userPage(
  ctx: PageContext,
  username: string,
  opts: { errors?: Record<string, string>; values?: Form; done?: string; status?: number } = {},
): Promise<FastifyReply> {
  const [user, unitName] = await Promise.all([
    ctx.api.get<UserRow>(`/users/${enc(username)}`),
    readUnitNames(ctx.api),
  ]);
  return renderManage(ctx, 'manage-user', 'users', {
    status: opts.status,
    data: {
      user,
      unitName,
      roles: ROLES,
      errors: opts.errors ?? {},
      values: opts.values ?? {},
      done: opts.done && USER_DONE.has(opts.done) ? opts.done : null,
    },
  });
}

async function keysPage(
  ctx: PageContext,
  opts: {
    errors?: Record<string, string>;
    values?: Form;
    created?: { key: string; signingSecret: string | null; name: string } | null;
    done?: string;
    status?: number;
  } = {},
): Promise<FastifyReply> {
  const [{ keys }, unitName] = await Promise.all([
    ctx.api.get<{ keys: KeyRow[] }>('/api-keys'),
    readUnitNames(ctx.api),
  ]);
  return renderManage(ctx, 'manage-keys', 'keys', {
    status: opts.status,
    data: {
      keys,
      unitName,
      created: opts.created ?? null,
      done: opts.done === 'revoked' ? 'revoked' : null,
      errors: opts.errors ?? {},
      values: opts.values ?? {},
    },
  });
}

/** The refusal of a form as errors by field, keyed `<form>-<field>` (two forms share field names). */
function errorsOf(form: string, body: ApiErrorBody | null, lang: 'vi' | 'en'): Record<string, string> {
  return Object.fromEntries(Object.entries(formErrors(body, lang)).map(([k, v]) => [`${form}-${k}`, v]));
}

/** A destructive form without its confirmation box ticked: refused here, before the API. */
function unconfirmed(ctx: PageContext, form: string, f: Form): Record<string, string> | null {
  if (f.confirm === 'on') return null;
  return { [`${form}-confirm`]: translator(langOf(ctx.req), manage, common)('manage.confirmMissing') };
}

/**
 * Tài khoản and Khoá API (users:manage, keys:manage: admins). Every change is the API's
 * (routes/users.ts, api-keys.ts), which audits it; disabling and revoking need a ticked
 * confirmation. A new key is shown once, in the answer to its form, never in an address.
 */
export function manageAccountPages(app: FastifyInstance): void {
  app.get(
    '/admin/manage/users',
    signedInPage((ctx) => usersPage(ctx)),
  );

  app.post(
    '/admin/manage/users',
    signedInPage<unknown, Form>(async (ctx) => {
      const f = ctx.body;
      const username = (f.username ?? '').trim().toLowerCase();
      const r = await ctx.api.call<ApiErrorBody>('POST', '/users', {
        body: { username, password: f.password ?? '', role: f.role ?? '', unitCodes: unitList(f.unitCodes) },
      });
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 201) {
        const errors = errorsOf('create', r.body, langOf(ctx.req));
        // The password is never sent back into the page.
        return usersPage(ctx, {
          errors,
          values: { ...f, password: '' },
          status: r.status === 409 ? 409 : 422,
        });
      }
      return ctx.reply.redirect(`/admin/manage/users/${enc(username)}?done=created`, 303);
    }),
  );

  app.get(
    '/admin/manage/users/:username',
    signedInPage<{ done?: string }>(async (ctx) => {
      const { username } = ctx.req.params as { username: string };
      return userPage(ctx, username, { done: ctx.query.done });
    }),
  );

  /** One form of the account page: its API call, then back to the page (with errors, or done). */
  const userAction = (
    name: string,
    done: string,
    call: (f: Form) => { method: 'PATCH' | 'POST'; path: string; body: unknown },
    confirm = false,
  ) =>
    app.post(
      `/admin/manage/users/:username/${name}`,
      signedInPage<unknown, Form>(async (ctx) => {
        const { username } = ctx.req.params as { username: string };
        const f = ctx.body;
        const values = { ...f, form: name, password: '' };
        const missing = confirm ? unconfirmed(ctx, name, f) : null;
        if (missing) return userPage(ctx, username, { errors: missing, values, status: 422 });
        const { method, path, body } = call(f);
        const r = await ctx.api.call<ApiErrorBody>(method, `/users/${enc(username)}${path}`, { body });
        if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
        if (r.status !== 200) {
          const errors = errorsOf(name, r.body, langOf(ctx.req));
          return userPage(ctx, username, { errors, values, status: r.status === 409 ? 409 : 422 });
        }
        return ctx.reply.redirect(`/admin/manage/users/${enc(username)}?done=${done}`, 303);
      }),
    );

  userAction('edit', 'saved', (f) => ({
    method: 'PATCH',
    path: '',
    body: { role: f.role, unitCodes: unitList(f.unitCodes) },
  }));
  userAction('reset', 'reset', (f) => ({
    method: 'POST',
    path: '/reset-password',
    body: { password: f.password ?? '' },
  }));
  userAction('disable', 'disabled', () => ({ method: 'PATCH', path: '', body: { disabled: true } }), true);
  userAction('enable', 'enabled', () => ({ method: 'PATCH', path: '', body: { disabled: false } }));

  app.get(
    '/admin/manage/keys',
    signedInPage<{ done?: string }>((ctx) => keysPage(ctx, { done: ctx.query.done })),
  );

  app.post(
    '/admin/manage/keys',
    signedInPage<unknown, Form>(async (ctx) => {
      const f = ctx.body;
      const r = await ctx.api.call<
        ApiErrorBody & { key: string; signingSecret: string | null; name: string }
      >('POST', '/api-keys', {
        body: { name: f.name ?? '', unitCodes: unitList(f.unitCodes), hmac: f.hmac === 'on' },
      });
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 201)
        return keysPage(ctx, { errors: errorsOf('key', r.body, langOf(ctx.req)), values: f, status: 422 });
      // Shown in this answer only: a redirect would have to carry the key in its address.
      const { key, signingSecret, name } = r.body;
      return keysPage(ctx, { created: { key, signingSecret, name }, status: 201 });
    }),
  );

  app.post(
    '/admin/manage/keys/:keyId/revoke',
    signedInPage<unknown, Form>(async (ctx) => {
      const { keyId } = ctx.req.params as { keyId: string };
      const missing = unconfirmed(ctx, `revoke-${keyId}`, ctx.body);
      if (missing) return keysPage(ctx, { errors: missing, status: 422 });
      const r = await ctx.api.call<ApiErrorBody>('DELETE', `/api-keys/${enc(keyId)}`);
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 204)
        return keysPage(ctx, {
          errors: errorsOf(`revoke-${keyId}`, r.body, langOf(ctx.req)),
          status: r.status === 404 ? 404 : 422,
        });
      return ctx.reply.redirect('/admin/manage/keys?done=revoked', 303);
    }),
  );
}
