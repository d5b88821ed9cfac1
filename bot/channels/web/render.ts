import type { Lang } from '../../flow/schema';
import { encodeAction } from '../../engine/callback-data';
import type { Choice, Outbound } from '../../engine/types';
import type { TurnReply } from '../channel';

/**
 * Renders channel-neutral replies as HTML: buttons are real <button>s in a <form method="post">,
 * so the page works without JavaScript; assets/chat.js only submits the same forms with fetch
 * and appends the returned fragment. Everything from a flow or a citizen is escaped.
 */
export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const UI = {
  title: { vi: 'Đánh giá mức độ hài lòng', en: 'Satisfaction survey' },
  subtitle: {
    vi: 'Ý kiến của Ông/Bà giúp cơ quan phục vụ tốt hơn.',
    en: 'Your opinion helps the office serve you better.',
  },
  answer: { vi: 'Câu trả lời của Ông/Bà', en: 'Your answer' },
  send: { vi: 'Gửi', en: 'Send' },
  privacy: {
    vi: 'Không cần đăng nhập. Ý kiến được lưu tách biệt với danh tính, chỉ dùng để cải thiện phục vụ.',
    en: 'No login needed. Answers are stored apart from your identity and used only to improve services.',
  },
  switchLang: { vi: 'English', en: 'Tiếng Việt' },
  selected: { vi: 'đã chọn', en: 'selected' },
} as const;

export function ui(key: keyof typeof UI, lang: Lang): string {
  return UI[key][lang];
}

/** What the page needs to redraw a multi-choice question whose buttons changed (a toggle). */
export interface QuestionContext {
  text: string;
  multi: boolean;
  hint?: string;
}

let seq = 0;
function choiceButtons(choices: Choice[][], lang: Lang): string {
  return choices
    .map(
      (row) =>
        `<div class="row">${row
          .map((c) => {
            const pressed =
              c.action.kind === 'toggle' ? ` aria-pressed="${c.selected ? 'true' : 'false'}"` : '';
            const sr = c.selected ? `<span class="sr"> (${ui('selected', lang)})</span>` : '';
            // Chat apps show ☐/☑ in the label; here aria-pressed and the stylesheet show the state.
            const label = c.action.kind === 'toggle' ? c.label.replace(/^[☐☑]\s*/u, '') : c.label;
            return `<button type="submit" name="a" value="${esc(encodeAction(c.action))}"${pressed}>${esc(label)}${sr}</button>`;
          })
          .join('')}</div>`,
    )
    .join('');
}

function question(action: string, q: QuestionContext, choices: Choice[][], lang: Lang): string {
  const id = `q${Date.now().toString(36)}${(seq++).toString(36)}`;
  const ctx = `<input type="hidden" name="qt" value="${esc(q.text)}"><input type="hidden" name="qm" value="${q.multi ? '1' : '0'}">`;
  const body =
    choices.length > 0
      ? `<fieldset><legend class="sr">${esc(q.text)}</legend>${choiceButtons(choices, lang)}</fieldset>`
      : `<label for="${id}-t">${ui('answer', lang)}</label><textarea id="${id}-t" name="text" rows="3" maxlength="1000" required></textarea><button type="submit" class="primary">${ui('send', lang)}</button>`;
  return (
    `<section class="msg bot q" aria-labelledby="${id}"><h2 id="${id}" tabindex="-1">${esc(q.text)}</h2>` +
    (q.hint && q.multi ? `<p class="hint">${esc(q.hint)}</p>` : '') +
    `<form method="post" action="${esc(action)}">${ctx}${body}</form></section>`
  );
}

function message(action: string, m: Outbound, lang: Lang): string {
  if (m.kind === 'text') return `<p class="msg bot">${esc(m.text).replace(/\n/g, '<br>')}</p>`;
  return question(
    action,
    { text: m.text, multi: m.multi, ...(m.typedHint ? { hint: m.typedHint } : {}) },
    m.choices,
    lang,
  );
}

/** The HTML of one turn: acknowledgement, messages, and the redrawn question of a toggle. */
export function renderTurn(action: string, reply: TurnReply, pressed: QuestionContext | null): string {
  const parts: string[] = [];
  if (reply.ack) parts.push(`<p class="msg ack">${esc(reply.ack)}</p>`);
  const asks = reply.messages.some((m) => m.kind === 'question');
  if (!asks && pressed && reply.updateChoices)
    parts.push(question(action, pressed, reply.updateChoices, reply.lang));
  for (const m of reply.messages) parts.push(message(action, m, reply.lang));
  return parts.join('');
}

export function renderPage(p: { action: string; lang: Lang; turn: string; echo?: string | null }): string {
  const { lang } = p;
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${ui('title', lang)}</title>
<link rel="stylesheet" href="/s/assets/chat.css">
<script src="/s/assets/chat.js" defer></script>
</head>
<body>
<header><h1>${ui('title', lang)}</h1><p>${ui('subtitle', lang)}</p></header>
<main id="chat">
<div id="log" aria-live="polite">${p.echo ? `<p class="msg me">${esc(p.echo)}</p>` : ''}${p.turn}</div>
</main>
<footer>
<p>${ui('privacy', lang)}</p>
<form method="post" action="${esc(p.action)}" class="lang"><button type="submit" name="cmd" value="lang" lang="${lang === 'vi' ? 'en' : 'vi'}">${ui('switchLang', lang)}</button></form>
</footer>
</body>
</html>`;
}
