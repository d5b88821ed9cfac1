import type { FastifyReply } from 'fastify';
import { langOf, translator } from '../i18n';
import { common } from '../messages/common';
import { manage } from '../messages/manage';
import { overview } from '../messages/overview';
import type { PageContext } from '../page';
import { sendPage } from '../render';
import { when } from './cases-model';
import { duration, partsFor, type Part } from './manage-model';

/**
 * A page of Quản trị: the layout, the section's own menu (the parts the person's permissions
 * allow, `part` marked current) and the helpers every part's template uses.
 */
export function renderManage(
  ctx: PageContext,
  view: string,
  part: Part | null,
  input: { data?: Record<string, unknown>; status?: number } = {},
): FastifyReply {
  const { me, req, reply } = ctx;
  const t = translator(langOf(req), manage, overview, common);
  return sendPage(req, reply, view, {
    title: part ? `manage.part.${part}` : 'manage.title',
    me,
    csrf: me.csrfToken,
    messages: [manage, overview],
    status: input.status,
    data: {
      parts: partsFor(me.user.permissions),
      part,
      when,
      dur: (s: number) => duration(s, t),
      ...input.data,
    },
  });
}
