/**
 * Renders a broadcast for one recipient: the language (English only when the contact chose it
 * and an English text exists), the unsubscribe path every message carries (a `/stop` line and a
 * button), link buttons and the image. Pure; the senders turn the result into platform calls.
 *
 * Telegram gets HTML parse_mode. Plain text is escaped entirely; the 'html' format accepts only
 * Telegram's simple tags (b, i, u, s, code, a href=http(s)) and is refused otherwise, so a stray
 * "<" in staff text can never break a send for 10,000 people.
 */

export interface BroadcastContent {
  text: string;
  textEn?: string | null;
  format?: 'text' | 'html';
  imageUrl?: string | null;
  buttons?: Array<{ text: string; textEn?: string | null; url: string }>;
}

export interface RenderedMessage {
  lang: 'vi' | 'en';
  /** Telegram HTML (text or caption). */
  html: string;
  /** Plain text (Zalo has no formatting). */
  plain: string;
  imageUrl: string | null;
  links: Array<{ text: string; url: string }>;
  stopButton: string;
}

/** callback_data of the unsubscribe button; the Telegram update mapper reads it as /stop. */
export const STOP_CALLBACK = 'stop';
export const TELEGRAM_TEXT_MAX = 4096;
export const TELEGRAM_CAPTION_MAX = 1024;
export const ZALO_TEXT_MAX = 2000;
const MAX_LINK_BUTTONS = 4;

const FOOTER = {
  vi: 'Nhắn /stop để ngừng nhận thông báo.',
  en: 'Send /stop to stop receiving these messages.',
} as const;
const STOP_LABEL = { vi: 'Ngừng nhận tin', en: 'Unsubscribe' } as const;

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const TAG = /<\/?([a-z]+)(\s[^>]*)?>/gi;
const SIMPLE = new Set(['b', 'strong', 'i', 'em', 'u', 's', 'code']);

/** Checks staff HTML against Telegram's simple subset; returns the problems (empty when fine). */
export function checkHtml(html: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const withoutTags = html.replace(TAG, (whole: string, rawName: string, attrs: string | undefined) => {
    const name = rawName.toLowerCase();
    const closing = whole.startsWith('</');
    if (!SIMPLE.has(name) && name !== 'a') problems.push(`tag <${name}> is not allowed`);
    else if (closing) {
      if (stack.pop() !== name) problems.push(`</${name}> does not close the open tag`);
    } else {
      if (name === 'a' && !/^\s+href="https?:\/\/[^"\s<>]+"\s*$/.test(attrs ?? ''))
        problems.push('<a> needs exactly href="http(s)://…"');
      if (name !== 'a' && attrs && attrs.trim() !== '') problems.push(`<${name}> takes no attributes`);
      stack.push(name);
    }
    return '';
  });
  if (stack.length > 0) problems.push(`unclosed <${stack.join('>, <')}>`);
  if (/[<>]/.test(withoutTags)) problems.push('a bare < or > must be written &lt; / &gt;');
  if (/&(?!(amp|lt|gt|quot);)/.test(withoutTags)) problems.push('a bare & must be written &amp;');
  return problems;
}

function htmlToPlain(html: string): string {
  return html
    .replace(TAG, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** Problems that would make the broadcast fail for everybody; checked when it is created. */
export function validateContent(c: BroadcastContent): string[] {
  const problems: string[] = [];
  if (c.text.trim() === '') problems.push('text is empty');
  if (c.format === 'html') {
    problems.push(...checkHtml(c.text).map((p) => `text: ${p}`));
    if (c.textEn) problems.push(...checkHtml(c.textEn).map((p) => `textEn: ${p}`));
  }
  if ((c.buttons?.length ?? 0) > MAX_LINK_BUTTONS) problems.push(`at most ${MAX_LINK_BUTTONS} link buttons`);
  for (const b of c.buttons ?? []) {
    if (!/^https?:\/\/\S+$/.test(b.url)) problems.push(`button "${b.text}": url must be http(s)`);
    if (b.text.trim() === '' || b.text.length > 64) problems.push('button text must be 1-64 characters');
  }
  if (c.imageUrl && !/^https?:\/\/\S+$/.test(c.imageUrl)) problems.push('image must be an http(s) URL');
  for (const lang of ['vi', 'en'] as const) {
    if (lang === 'en' && !c.textEn) continue;
    const r = renderBroadcast(c, lang);
    const max = c.imageUrl ? TELEGRAM_CAPTION_MAX : TELEGRAM_TEXT_MAX;
    if (htmlToPlain(r.html).length > max)
      problems.push(
        `${lang} text too long for Telegram (${max} characters with the unsubscribe line${c.imageUrl ? ', as a photo caption' : ''})`,
      );
    if (r.plain.length > ZALO_TEXT_MAX) problems.push(`${lang} text too long for Zalo (${ZALO_TEXT_MAX})`);
  }
  return problems;
}

export function renderBroadcast(c: BroadcastContent, contactLang: 'vi' | 'en'): RenderedMessage {
  const lang = contactLang === 'en' && c.textEn ? 'en' : 'vi';
  const body = lang === 'en' ? c.textEn! : c.text;
  const bodyHtml = c.format === 'html' ? body : escapeHtml(body);
  const bodyPlain = c.format === 'html' ? htmlToPlain(body) : body;
  return {
    lang,
    html: `${bodyHtml}\n\n<i>${escapeHtml(FOOTER[lang])}</i>`,
    plain: `${bodyPlain}\n\n${FOOTER[lang]}`,
    imageUrl: c.imageUrl ?? null,
    links: (c.buttons ?? []).map((b) => ({
      text: lang === 'en' && b.textEn ? b.textEn : b.text,
      url: b.url,
    })),
    stopButton: STOP_LABEL[lang],
  };
}
