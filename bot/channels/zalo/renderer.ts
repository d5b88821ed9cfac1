import { encodeAction } from '../../engine/callback-data';
import type { Choice, Outbound, QuestionOutbound } from '../../engine/types';
import { questionText } from '../question-text';
import type { ZaloButton, ZaloMessage } from './client';

/**
 * Outbound → Zalo consultation messages, within Zalo's limits (docs/platform-limits.md): at most 5 buttons,
 * text at most 2000 characters, `oa.query.hide` payloads at most 1000. A question whose choices
 * do not fit becomes a numbered list answered by typing ("1, 3"), with the engine's typedHint.
 */
export const ZALO_MAX_BUTTONS = 5;
export const ZALO_MAX_TEXT = 2000;
export const ZALO_MAX_PAYLOAD = 1000;
/** No limit is documented for button titles; long ones are cut so the button stays readable. */
export const ZALO_MAX_TITLE = 100;

export function renderForZalo(messages: Outbound[]): ZaloMessage[] {
  return messages.flatMap((m) =>
    m.kind === 'text' ? splitText(m.text).map((text) => ({ text })) : renderQuestion(m),
  );
}

/**
 * A question becomes buttons when its choices fit (the options of a `choice` or `multi`, the
 * "Bỏ qua" of an optional typed answer; a `text` or `number` question is answered by typing),
 * else a numbered list answered by typing the numbers.
 */
function renderQuestion(q: QuestionOutbound): ZaloMessage[] {
  const text = questionText(q);
  const choices = q.choices.flat();
  if (choices.length === 0) return splitText(text).map((t) => ({ text: t }));
  const buttons = choices.length <= ZALO_MAX_BUTTONS ? choices.map(toButton) : null;
  if (buttons && buttons.every((b): b is ZaloButton => b !== null)) {
    const parts = splitText(text);
    const last = parts.pop()!;
    return [
      ...parts.map((t) => ({ text: t })),
      { text: last, attachment: { type: 'template', payload: { buttons } } },
    ];
  }
  // Typed numbers finish a multi-choice at once: the "Xong" button has no number.
  const list = numberedList(choices.filter((c) => c.action.kind === 'pick' || c.action.kind === 'toggle'));
  const body = [text, list, q.typedHint ?? ''].filter((s) => s.length > 0).join('\n\n');
  return splitText(body).map((t) => ({ text: t }));
}

function toButton(c: Choice): ZaloButton | null {
  const payload = encodeAction(c.action);
  if (payload.length > ZALO_MAX_PAYLOAD) return null;
  return { title: truncate(c.label, ZALO_MAX_TITLE), type: 'oa.query.hide', payload };
}

/**
 * Numbers the choices the way the engine reads typed numbers: by position, except in scales
 * whose labels already carry their value ("1. Rất không hài lòng"), where the value is the
 * number (so "Không áp dụng", value 0, shows as "0.").
 */
export function numberedList(choices: Choice[]): string {
  const value = (c: Choice) => ('value' in c.action ? c.action.value : null);
  const byValue =
    choices.some((c) => /^\d+\./.test(c.label)) &&
    choices.every((c) => {
      const m = /^(\d+)\./.exec(c.label);
      return m ? m[1] === value(c) : /^\d+$/.test(value(c) ?? '');
    });
  return choices
    .map((c, i) => {
      if (/^\d+\.\s/.test(c.label)) return c.label;
      const n = byValue ? value(c) : String(i + 1);
      return `${n}. ${c.label}`;
    })
    .join('\n');
}

/** Cuts text into ≤2000-character parts at line, then word boundaries. */
export function splitText(text: string, max = ZALO_MAX_TEXT): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = rest.lastIndexOf(' ', max);
    if (cut < max / 2) cut = max;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
