import type { Lang } from '../../flow/schema';
import { encodeAction } from '../../engine/callback-data';
import type { Choice, Outbound, QuestionOutbound } from '../../engine/types';
import type { TurnReply } from '../channel';

/**
 * Renders channel-neutral replies as HTML: buttons are real <button>s in a <form method="post">,
 * so the page works without JavaScript; assets/chat.js only submits the same forms with fetch
 * and appends the returned fragment. Everything from a flow or a citizen is escaped.
 *
 * Every question is drawn from what it expects (`QuestionOutbound.expects`): option buttons for
 * `choice`, toggle buttons and "Xong" for `multi`, a text box for `text`, a number box for
 * `number`, and a "Bỏ qua" button whenever the engine offers a skip. For screen readers the
 * question's text is on the page once (its heading, read by the conversation's one live region).
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
  number: { vi: 'Nhập một số', en: 'Enter a number' },
  multi: { vi: 'Có thể chọn nhiều ý, rồi bấm «Xong».', en: 'Choose one or more, then press “Done”.' },
  send: { vi: 'Gửi', en: 'Send' },
  privacy: {
    vi: 'Không cần đăng nhập. Ý kiến được lưu tách biệt với danh tính, chỉ dùng để cải thiện phục vụ.',
    en: 'No login needed. Answers are stored apart from your identity and used only to improve services.',
  },
  switchLang: { vi: 'English', en: 'Tiếng Việt' },
  help: { vi: 'Hướng dẫn', en: 'Help' },
  stop: { vi: 'Dừng khảo sát', en: 'Stop the survey' },
  conversation: { vi: 'Nội dung khảo sát', en: 'Survey conversation' },
  reopen: { vi: 'Mở lại khảo sát', en: 'Open the survey again' },
} as const;

export function ui(key: keyof typeof UI, lang: Lang): string {
  return UI[key][lang];
}

/** What the page needs to redraw a multi-choice question whose buttons changed (a toggle). */
export interface QuestionContext {
  text: string;
  progress?: string;
}

let seq = 0;
function choiceButtons(choices: Choice[][]): string {
  return choices
    .map(
      (row) =>
        `<div class="row">${row
          .map((c) => {
            // Chat apps show ☐/☑ in the label; here aria-pressed and the stylesheet show the state.
            const toggle = c.action.kind === 'toggle';
            const pressed = toggle ? ` aria-pressed="${c.selected ? 'true' : 'false'}"` : '';
            const label = toggle ? c.label.replace(/^[☐☑]\s*/u, '') : c.label;
            const kind = c.action.kind === 'done' ? ' class="primary"' : '';
            return `<button type="submit" name="a" value="${esc(encodeAction(c.action))}"${pressed}${kind}>${esc(label)}</button>`;
          })
          .join('')}</div>`,
    )
    .join('');
}

/** The typed answer box of a `text` or `number` question, with "Gửi" and, if offered, "Bỏ qua". */
function typedAnswer(id: string, q: QuestionOutbound, lang: Lang): string {
  const field =
    q.expects === 'number'
      ? `<label for="${id}-t">${ui('number', lang)}</label><input id="${id}-t" name="text" inputmode="decimal" autocomplete="off" required>`
      : `<label for="${id}-t">${ui('answer', lang)}</label><textarea id="${id}-t" name="text" rows="3" maxlength="${q.maxLength ?? 1000}" required></textarea>`;
  // The skip button must submit with the box left empty: no validation.
  const skip = q.choices
    .flat()
    .filter((c) => c.action.kind === 'skip')
    .map(
      (c) =>
        `<button type="submit" name="a" value="${esc(encodeAction(c.action))}" formnovalidate class="skip">${esc(c.label)}</button>`,
    )
    .join('');
  return `${field}<div class="actions"><button type="submit" class="primary">${ui('send', lang)}</button>${skip}</div>`;
}

function question(action: string, q: QuestionOutbound, lang: Lang): string {
  const id = `q${Date.now().toString(36)}${(seq++).toString(36)}`;
  const ctx =
    `<input type="hidden" name="qt" value="${esc(q.text)}">` +
    (q.progress ? `<input type="hidden" name="qp" value="${esc(q.progress.label)}">` : '');
  const body =
    q.expects === 'text' || q.expects === 'number' ? typedAnswer(id, q, lang) : choiceButtons(q.choices);
  return (
    `<section class="msg bot q" data-expects="${q.expects}">` +
    (q.progress ? `<p class="progress">${esc(q.progress.label)}</p>` : '') +
    `<h2 id="${id}">${esc(q.text)}</h2>` +
    (q.expects === 'multi' ? `<p class="hint">${ui('multi', lang)}</p>` : '') +
    `<form method="post" action="${esc(action)}">${ctx}${body}</form></section>`
  );
}

function message(action: string, m: Outbound, lang: Lang): string {
  if (m.kind === 'text') return `<p class="msg bot">${esc(m.text).replace(/\n/g, '<br>')}</p>`;
  return question(action, m, lang);
}

/** What the citizen answered, shown back as their own bubble: the chosen labels or the typed text. */
function echoOf(chosen: string[] | undefined, typed: string | null): string {
  if (chosen && chosen.length > 1)
    return `<ul class="msg me">${chosen.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`;
  const one = chosen?.[0] ?? typed;
  return one ? `<p class="msg me">${esc(one)}</p>` : '';
}

/** The HTML of one turn: the citizen's answer, acknowledgement, messages, a toggled question redrawn. */
export function renderTurn(
  action: string,
  reply: TurnReply,
  pressed: QuestionContext | null,
  typed: string | null = null,
): string {
  const parts: string[] = [echoOf(reply.chosen, typed)];
  if (reply.ack && !reply.chosen) parts.push(`<p class="msg ack">${esc(reply.ack)}</p>`);
  const asks = reply.messages.some((m) => m.kind === 'question');
  if (!asks && pressed && reply.updateChoices) {
    const redrawn: QuestionOutbound = {
      kind: 'question',
      node: '',
      step: 0,
      text: pressed.text,
      expects: 'multi',
      choices: reply.updateChoices,
      optional: false,
      ...(pressed.progress ? { progress: { index: 0, total: 0, label: pressed.progress } } : {}),
    };
    parts.push(question(action, redrawn, reply.lang));
  }
  for (const m of reply.messages) parts.push(message(action, m, reply.lang));
  return parts.join('');
}

/** A page that answers nothing (the survey is not this device's, or the link is not valid). */
export function renderNotice(action: string | null, lang: Lang, text: string): string {
  const reopen = action ? `<p><a class="button" href="${esc(action)}">${ui('reopen', lang)}</a></p>` : '';
  return `<div class="msg bot notice"><p>${esc(text)}</p>${reopen}</div>`;
}

export function renderPage(p: { action: string; lang: Lang; turn: string; tools?: boolean }): string {
  const { lang } = p;
  const other = lang === 'vi' ? 'en' : 'vi';
  const tools =
    p.tools === false
      ? ''
      : `<form method="post" action="${esc(p.action)}" class="tools">` +
        `<button type="submit" name="cmd" value="help">${ui('help', lang)}</button>` +
        `<button type="submit" name="cmd" value="lang" lang="${other}">${ui('switchLang', lang)}</button>` +
        `<button type="submit" name="cmd" value="stop">${ui('stop', lang)}</button></form>`;
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
<div id="log" role="log" aria-live="polite" aria-label="${ui('conversation', lang)}">${p.turn}</div>
</main>
<footer>
${tools}
<p>${ui('privacy', lang)}</p>
</footer>
</body>
</html>`;
}
