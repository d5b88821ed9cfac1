import { decodeAction, encodeAction } from '../../bot/engine/callback-data';
import type { Choice, Outbound } from '../../bot/engine/types';
import { numberedList, renderForZalo, splitText, ZALO_MAX_TEXT } from '../../bot/channels/zalo/renderer';

const pick = (label: string, value: string, node = 'q1'): Choice => ({
  label,
  action: { kind: 'pick', step: 3, node, value },
});

function question(
  choices: Choice[][],
  extra: Partial<Extract<Outbound, { kind: 'question' }>> = {},
): Outbound {
  return {
    kind: 'question',
    node: 'q1',
    step: 3,
    text: 'Ông/Bà hài lòng không?',
    choices,
    expects: 'choice',
    optional: false,
    typedHint: 'Gõ số thứ tự để trả lời, ví dụ: 1',
    ...extra,
  };
}

test('renders up to five choices as oa.query.hide buttons whose payload is the encoded action', () => {
  const choices = [[pick('Đồng ý', 'yes')], [pick('Không', 'no')]];
  const [msg] = renderForZalo([question(choices)]) as Array<{
    text: string;
    attachment: { payload: { buttons: Array<{ type: string; payload: string; title: string }> } };
  }>;
  expect(msg.text).toBe('Ông/Bà hài lòng không?');
  const buttons = msg.attachment.payload.buttons;
  expect(buttons.map((b) => b.type)).toEqual(['oa.query.hide', 'oa.query.hide']);
  expect(decodeAction(buttons[0].payload)).toEqual({ kind: 'pick', step: 3, node: 'q1', value: 'yes' });
  expect(buttons[1].title).toBe('Không');
  expect(msg.attachment).not.toHaveProperty('payload.template_type');
});

test('falls back to a numbered list with the typed hint when more than five choices', () => {
  const labels = [
    '1. Rất không hài lòng',
    '2. Không hài lòng',
    '3. Bình thường',
    '4. Hài lòng',
    '5. Rất hài lòng',
  ];
  const choices = labels.map((l, i) => [pick(l, String(i + 1))]);
  choices.push([pick('Không áp dụng', '0')]);
  const [msg] = renderForZalo([question(choices)]);
  expect(msg).not.toHaveProperty('attachment');
  const text = (msg as { text: string }).text;
  expect(text).toContain('1. Rất không hài lòng\n2. Không hài lòng');
  // Scales are typed by value: "Không áp dụng" (value 0) shows as 0.
  expect(text).toContain('0. Không áp dụng');
  expect(text.endsWith('Gõ số thứ tự để trả lời, ví dụ: 1')).toBe(true);
});

test('numbers a long multi-choice by position and leaves the Done button out', () => {
  const toggles: Choice[][] = ['a', 'b', 'c', 'd', 'e'].map((v) => [
    { label: `☐ ${v.toUpperCase()}`, action: { kind: 'toggle', step: 2, node: 'r1', value: v } },
  ]);
  toggles.push([{ label: 'Xong ✅', action: { kind: 'done', step: 2, node: 'r1' } }]);
  const [msg] = renderForZalo([question(toggles, { expects: 'multi', typedHint: 'gõ 1, 3' })]);
  const text = (msg as { text: string }).text;
  expect(text).toContain('1. ☐ A\n2. ☐ B\n3. ☐ C\n4. ☐ D\n5. ☐ E');
  expect(text).not.toContain('Xong');
  expect(numberedList([pick('Có', 'yes'), pick('Không', 'no')])).toBe('1. Có\n2. Không');
});

test('keeps every text part within 2000 characters and the buttons on the last part', () => {
  const long = `${'Lorem ipsum dolor sit amet. '.repeat(100)}\n${'x'.repeat(300)}`;
  const parts = splitText(long);
  expect(parts.length).toBeGreaterThan(1);
  expect(parts.every((p) => p.length <= ZALO_MAX_TEXT)).toBe(true);
  const out = renderForZalo([question([[pick('A', 'a')]], { text: long })]);
  expect(out.length).toBe(parts.length);
  expect(out.slice(0, -1).every((m) => !('attachment' in m))).toBe(true);
  expect(out[out.length - 1]).toHaveProperty('attachment.payload.buttons');
});

test('a button payload stays far below the 1000-character limit', () => {
  const payload = encodeAction({
    kind: 'toggle',
    step: 36 ** 4 - 1,
    node: 'a'.repeat(16),
    value: 'b'.repeat(16),
  });
  expect(payload.length).toBeLessThan(1000);
});

test('a typed question is plain text, with a "Bỏ qua" button when it may be skipped, and progress on its first line', () => {
  const text = renderForZalo([
    question([], { expects: 'text', progress: { index: 3, total: 7, label: 'Câu 3/7' } }),
  ]);
  expect(text).toEqual([{ text: 'Câu 3/7\nÔng/Bà hài lòng không?' }]);
  const skip: Choice = { label: 'Bỏ qua', action: { kind: 'skip', step: 3, node: 'q7' } };
  const [msg] = renderForZalo([question([[skip]], { expects: 'text', optional: true })]) as Array<{
    attachment: { payload: { buttons: Array<{ title: string; payload: string }> } };
  }>;
  expect(msg.attachment.payload.buttons.map((b) => [b.title, decodeAction(b.payload)])).toEqual([
    ['Bỏ qua', skip.action],
  ]);
});
