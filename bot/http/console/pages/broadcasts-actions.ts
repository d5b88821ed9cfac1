import type { FastifyInstance } from 'fastify';
import { apiText, type ApiErrorBody } from '../api';
import { langOf, translator } from '../i18n';
import { broadcasts } from '../messages/broadcasts';
import { common } from '../messages/common';
import { signedInPage, toSignIn } from '../page';
import { renderBroadcast } from './broadcasts-show';
import { sendAtOfForm } from './broadcasts-model';
import { when } from './cases-model';

type Form = Record<string, string | undefined>;
const enc = encodeURIComponent;

/**
 * A broadcast page's forms: each calls one API route and comes back to the page, with a notice
 * (`?done=`) or the API's refusal shown on it. A test without a linked chat says how to link one;
 * the link form asks POST /me/chat-link and shows the code and links on the same page.
 */
export function broadcastActions(app: FastifyInstance): void {
  const action = (
    name: string,
    done: string,
    toBody: (f: Form) => unknown = () => undefined,
    noticeVars: (body: Record<string, unknown>) => string = () => '',
  ) =>
    app.post(
      `/admin/broadcasts/:id/${name}`,
      signedInPage<unknown, Form>(async (ctx) => {
        const { id } = ctx.req.params as { id: string };
        const body = toBody(ctx.body ?? {});
        const r = await ctx.api.call<Record<string, unknown> & ApiErrorBody>(
          'POST',
          `/broadcasts/${enc(id)}/${name}`,
          body === undefined ? {} : { body },
        );
        if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
        if (r.status !== 200) {
          const lang = langOf(ctx.req);
          const t = translator(lang, broadcasts, common);
          const error =
            r.body?.error === 'no_linked_chat'
              ? t('bc.noChat')
              : [
                  apiText(r.body?.message, lang),
                  ...(r.body?.details ?? []).map((d) => apiText(d.message, lang)),
                ]
                  .filter(Boolean)
                  .join(' ');
          return renderBroadcast(ctx, id, {
            error,
            status: r.status === 404 ? 404 : r.status === 422 ? 422 : 409,
            noChat: r.body?.error === 'no_linked_chat',
          });
        }
        const extra = noticeVars(r.body);
        return ctx.reply.redirect(`/admin/broadcasts/${enc(id)}?done=${done}${extra}`, 303);
      }),
    );

  action('approve', 'approved');
  action(
    'test',
    'tested',
    (f) => ({ lang: f.lang === 'en' ? 'en' : 'vi' }),
    (b) => `&channel=${enc(String(b.channel ?? ''))}`,
  );
  action('schedule', 'scheduled', (f) => ({
    sendAt: sendAtOfForm(f.sendAt),
    ignoreQuietHours: f.ignoreQuietHours === 'on',
  }));
  action('pause', 'paused');
  action('resume', 'resumed');
  action('cancel', 'cancelled');

  app.post(
    '/admin/broadcasts/:id/link',
    signedInPage<unknown, Form>(async (ctx) => {
      const { id } = ctx.req.params as { id: string };
      const r = await ctx.api.call<
        {
          code: string;
          expiresAt: string;
          telegramLink: string | null;
          zaloText: string;
          zaloLink: string | null;
        } & ApiErrorBody
      >('POST', '/me/chat-link', {});
      if (r.status === 401) return toSignIn(ctx.req, ctx.reply);
      if (r.status !== 201)
        return renderBroadcast(ctx, id, { error: apiText(r.body?.message, langOf(ctx.req)), status: 409 });
      return renderBroadcast(ctx, id, {
        done: 'linked',
        link: { ...r.body, expiresAtShown: when(r.body.expiresAt) },
      });
    }),
  );
}
