import type { FlowNode, Lang, Localized, QuestionNode } from '../flow/schema';
import { t } from './messages';
import type { Choice, EngineState, Outbound } from './types';

export function localize(text: Localized, lang: Lang): string {
  return lang === 'en' && text.en ? text.en : text.vi;
}

/** Fills {placeholders} from the session variables; unknown ones stay visible rather than vanish. */
export function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (m, name: string) => vars[name] ?? m);
}

export const SCALE5_LABELS: Record<string, Localized> = {
  '1': { vi: 'Rất không hài lòng', en: 'Very dissatisfied' },
  '2': { vi: 'Không hài lòng', en: 'Dissatisfied' },
  '3': { vi: 'Bình thường', en: 'Neutral' },
  '4': { vi: 'Hài lòng', en: 'Satisfied' },
  '5': { vi: 'Rất hài lòng', en: 'Very satisfied' },
};

/** The options of a choice-like node as (value, label) pairs, in display order. */
export function optionsOf(node: QuestionNode, lang: Lang): Array<{ value: string; label: string; other: boolean }> {
  switch (node.type) {
    case 'single_choice':
    case 'multi_choice':
      return node.options.map((o) => ({ value: o.value, label: localize(o.label, lang), other: o.other === true }));
    case 'scale5': {
      const opts = ['1', '2', '3', '4', '5'].map((v) => ({ value: v, label: `${v}. ${localize(SCALE5_LABELS[v], lang)}`, other: false }));
      if (node.notApplicable) opts.push({ value: '0', label: localize(node.notApplicable, lang), other: false });
      return opts;
    }
    case 'rating':
      return Array.from({ length: node.max }, (_, i) => ({ value: String(i + 1), label: `${i + 1} ⭐`, other: false }));
    default:
      return [];
  }
}

export function choicesFor(node: QuestionNode, state: EngineState): Choice[][] {
  const step = state.step;
  if (node.type === 'multi_choice') {
    const rows: Choice[][] = optionsOf(node, state.lang).map((o) => {
      const selected = state.selection.includes(o.value);
      return [{ label: `${selected ? '☑' : '☐'} ${o.label}`, selected, action: { kind: 'toggle' as const, step, node: node.id, value: o.value } }];
    });
    rows.push([{ label: t('done', state.lang), action: { kind: 'done', step, node: node.id } }]);
    return rows;
  }
  const opts = optionsOf(node, state.lang);
  const buttons = opts.map((o) => ({ label: o.label, action: { kind: 'pick' as const, step, node: node.id, value: o.value } }));
  // Ratings are short: one row. Everything else one option per row, readable on small phones.
  return node.type === 'rating' ? [buttons] : buttons.map((b) => [b]);
}

export function renderNode(node: FlowNode, state: EngineState): Outbound {
  const text = fill(localize(node.text, state.lang), state.vars);
  if (node.type === 'message') return { kind: 'text', text };
  const choices = choicesFor(node, state);
  const out: Outbound = { kind: 'question', node: node.id, step: state.step, text, choices, multi: node.type === 'multi_choice' };
  if (node.type === 'multi_choice') out.typedHint = t('multiHint', state.lang);
  else if (choices.length > 0) out.typedHint = t('singleHint', state.lang);
  return out;
}
