import type { ChatLinks } from '../../lib/auth/chat-link';
import type { Logger } from '../../lib/logger';
import type { InboundEvent, TurnReply } from '../channels/channel';
import { LINK_START_PREFIX } from './commands';
import type { ConversationService } from './service';

/**
 * An official's chat-link code (`/start l_<code>` from the console's deep link, or `/lienket
 * <code>` typed to the Zalo OA) is taken here, before the survey: it creates no contact and no
 * session, and the chat's survey state is left as it was. Everything else goes to the service.
 */

// A link code is 13 characters (with a dash 14); survey tokens are 32, so one that happens to
// begin with "l_" is never taken for a link code.
const MAX_LINK_ARG = 20;

const TEXTS = {
  linked: {
    vi: 'Đã liên kết cuộc trò chuyện này với tài khoản cán bộ {u}. Tin gửi thử của thông báo sẽ được gửi đến đây.',
    en: 'This chat is now linked to the official account {u}. Test sends of broadcasts will come here.',
  },
  refused: {
    vi: 'Mã liên kết không đúng, đã được dùng hoặc đã hết hạn. Đề nghị Ông/Bà tạo mã mới trên trang quản trị và gửi lại trong vòng 10 phút.',
    en: 'The link code is wrong, already used or expired. Please create a new code in the console and send it within 10 minutes.',
  },
} as const;

/** The link code of this event, or null when it is not a chat-link start from Telegram or Zalo. */
export function linkCodeOf(ev: InboundEvent): string | null {
  if (ev.channel === 'web' || ev.input.kind !== 'start' || !ev.input.token) return null;
  const token = ev.input.token;
  if (!token.startsWith(LINK_START_PREFIX)) return null;
  const arg = token.slice(LINK_START_PREFIX.length);
  return arg.length <= MAX_LINK_ARG ? arg : null;
}

/** Makes `service.handle` take chat-link codes first; returns the same service. */
export function withChatLinks(
  service: ConversationService,
  links: ChatLinks,
  log: Logger,
): ConversationService {
  const handle = service.handle.bind(service);
  service.handle = async (ev: InboundEvent): Promise<TurnReply> => {
    const code = linkCodeOf(ev);
    if (code === null) return handle(ev);
    const lang = ev.langHint?.toLowerCase().startsWith('en') ? 'en' : 'vi';
    const r = await links.redeem(ev.channel as 'telegram' | 'zalo', ev.userId, code);
    log.info({ channel: ev.channel, linked: r.ok }, 'chat link code received');
    const text = r.ok ? TEXTS.linked[lang].replace('{u}', r.username) : TEXTS.refused[lang];
    return { messages: [{ kind: 'text', text }], lang };
  };
  return service;
}
