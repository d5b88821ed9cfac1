import { localize, SCALE5_LABELS } from '../bot/engine/render';
import type { Flow, Lang, QuestionNode } from '../bot/flow/schema';

/**
 * How a recorded answer reads for an official, in the words of the flow version it was given in
 * (answers store option values such as `cho`, and 0 for "not applicable"): a choice's label, a
 * scale point with its words ("2. Không hài lòng"), "Không áp dụng" for 0, several choices joined
 * with "; " (labels contain commas). A value the version does not know is shown as stored.
 */
export const NOT_APPLICABLE: Readonly<Record<Lang, string>> = { vi: 'Không áp dụng', en: 'Not applicable' };

export function answerLabel(node: QuestionNode, value: unknown, lang: Lang = 'vi'): string | number {
  switch (node.type) {
    case 'scale5': {
      if (value === 0) return NOT_APPLICABLE[lang];
      const words = SCALE5_LABELS[String(value)];
      return words ? `${String(value)}. ${localize(words, lang)}` : storedValue(value);
    }
    case 'single_choice':
    case 'multi_choice': {
      const labels = new Map(node.options.map((o) => [o.value, localize(o.label, lang)]));
      const values = Array.isArray(value) ? value : [value];
      return values.map((v) => (typeof v === 'string' ? (labels.get(v) ?? v) : storedValue(v))).join('; ');
    }
    default:
      return storedValue(value);
  }
}

/** A value as stored, for a question whose version is unknown. */
export function storedValue(value: unknown): string | number {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join('; ');
  return '';
}

/** The questions of a flow version by id (consent and messages are never recorded). */
export function questionsOf(flow: Flow): Map<string, QuestionNode> {
  const m = new Map<string, QuestionNode>();
  for (const node of flow.nodes) if (node.type !== 'message') m.set(node.id, node);
  return m;
}

/**
 * The labels of the reasons recorded with a dissatisfied score of `element` (the options of the
 * version's multi-choice "why?" questions of that element, models/case.ts), as answerLabel reads
 * them.
 */
export function reasonLabels(
  flow: Flow,
  element: string,
  values: readonly string[],
  lang: Lang = 'vi',
): string[] {
  const labels = new Map<string, string>();
  for (const node of flow.nodes)
    if (node.type === 'multi_choice' && node.element === element)
      for (const o of node.options) if (!labels.has(o.value)) labels.set(o.value, localize(o.label, lang));
  return values.map((v) => labels.get(v) ?? v);
}
