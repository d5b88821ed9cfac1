import { z } from 'zod';
import { CHAT_LINK_TTL_S, ChatLinks } from '../../../../lib/auth/chat-link';
import { User } from '../../../../models/user';
import { LINK_START_PREFIX } from '../../../conversation/commands';
import { telegramLink, zaloOaLink } from '../../../survey/links';
import { defineRoute } from '../route';
import { isoDate, noContent } from '../schemas';

/**
 * The caller's own chat for test sends (lib/auth/chat-link.ts): a one-time code proves the
 * official holds the chat. Only the channel is ever shown back, never the chat id.
 */
const NONE = { kind: 'none', why: "the caller's own account" } as const;
const channel = z.enum(['telegram', 'zalo']);
const linkedBody = z.object({ linkedChat: z.object({ channel }).nullable() }).meta({ id: 'LinkedChat' });

export const chatLinkRoutes = [
  defineRoute({
    id: 'me.chatLink.read',
    method: 'GET',
    path: '/me/chat-link',
    tag: 'auth',
    summary: 'Kênh nhận tin thử / which chat the caller’s test sends go to (channel only)',
    auth: 'user',
    permission: null,
    scope: NONE,
    response: linkedBody,
    handler: async ({ caller }) => {
      const me = await User.findById(caller.id, { linkedChat: 1 }).lean();
      return {
        linkedChat: me?.linkedChat ? { channel: me.linkedChat.channel as 'telegram' | 'zalo' } : null,
      };
    },
  }),

  defineRoute({
    id: 'me.chatLink.create',
    method: 'POST',
    path: '/me/chat-link',
    tag: 'auth',
    summary: 'Tạo mã liên kết / a one-time code that links the chat it is sent from to the caller’s account',
    description:
      `Valid ${CHAT_LINK_TTL_S / 60} minutes, once; a new code cancels the previous one. Telegram: open ` +
      '`telegramLink` (null when the bot has no username). Zalo: send `zaloText` to the Official Account ' +
      '(`zaloLink`). The bot answers in the chat; the link then replaces any earlier one. Audited.',
    auth: 'user',
    permission: null,
    scope: NONE,
    status: 201,
    response: z.object({
      code: z.string(),
      expiresAt: isoDate,
      telegramLink: z.string().nullable(),
      zaloText: z.string(),
      zaloLink: z.string().nullable(),
    }),
    handler: async ({ caller, deps, audit }) => {
      const issued = await new ChatLinks(deps.ctx.redis, deps.ctx.prefix).issue(caller.id);
      await audit({ action: 'user.chat_link_issued', targetType: 'user', targetId: caller.id });
      const payload = `${LINK_START_PREFIX}${issued.code}`;
      return {
        code: issued.code,
        expiresAt: issued.expiresAt.toISOString(),
        telegramLink: telegramLink(deps.ctx.env, payload),
        zaloText: `/lienket ${issued.code}`,
        zaloLink: zaloOaLink(deps.ctx.env),
      };
    },
  }),

  defineRoute({
    id: 'me.chatLink.delete',
    method: 'DELETE',
    path: '/me/chat-link',
    tag: 'auth',
    summary: 'Huỷ liên kết / unlink the caller’s chat (test sends answer 409 until linked again)',
    auth: 'user',
    permission: null,
    scope: NONE,
    status: 204,
    response: noContent,
    handler: async ({ caller, audit }) => {
      const r = await User.updateOne({ _id: caller.id }, { $set: { linkedChat: null } });
      await audit({
        action: 'user.chat_unlinked',
        targetType: 'user',
        targetId: caller.id,
        details: { hadLink: r.modifiedCount > 0 },
      });
      return undefined;
    },
  }),
];
