import type { Flow, FlowNode, Lang, Localized, QuestionNode } from '../flow/schema';
import { opensCase } from './dissatisfaction';
import { t } from './messages';
import { progressOf } from './progress';
import type { Choice, EngineState, Expects, Outbound, QuestionOutbound } from './types';

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
export function optionsOf(
  node: QuestionNode,
  lang: Lang,
): Array<{ value: string; label: string; other: boolean }> {
  switch (node.type) {
    case 'single_choice':
    case 'multi_choice':
      return node.options.map((o) => ({
        value: o.value,
        label: localize(o.label, lang),
        other: o.other === true,
      }));
    case 'scale5': {
      const opts = ['1', '2', '3', '4', '5'].map((v) => ({
        value: v,
        label: `${v}. ${localize(SCALE5_LABELS[v], lang)}`,
        other: false,
      }));
      if (node.notApplicable)
        opts.push({ value: '0', label: localize(node.notApplicable, lang), other: false });
      return opts;
    }
    case 'rating':
      return Array.from({ length: node.max }, (_, i) => ({
        value: String(i + 1),
        label: `${i + 1} ⭐`,
        other: false,
      }));
    default:
      return [];
  }
}

/** What a node's answer is, for the channels (see `Expects`). */
export function expectsOf(node: QuestionNode): Expects {
  switch (node.type) {
    case 'multi_choice':
      return 'multi';
    case 'free_text':
      return 'text';
    case 'number':
      return 'number';
    default:
      return 'choice';
  }
}

/** A typed question the citizen may skip: optional free text and numbers. */
export function isOptional(node: QuestionNode): boolean {
  return (node.type === 'free_text' || node.type === 'number') && node.optional;
}

function skipChoice(node: QuestionNode, state: EngineState): Choice[] {
  return [{ label: t('skip', state.lang), action: { kind: 'skip', step: state.step, node: node.id } }];
}

export function choicesFor(node: QuestionNode, state: EngineState): Choice[][] {
  const step = state.step;
  if (node.type === 'multi_choice') {
    const rows: Choice[][] = optionsOf(node, state.lang).map((o) => {
      const selected = state.selection.includes(o.value);
      return [
        {
          label: `${selected ? '☑' : '☐'} ${o.label}`,
          selected,
          action: { kind: 'toggle' as const, step, node: node.id, value: o.value },
        },
      ];
    });
    rows.push([{ label: t('done', state.lang), action: { kind: 'done', step, node: node.id } }]);
    return rows;
  }
  if (isOptional(node)) return [skipChoice(node, state)];
  const opts = optionsOf(node, state.lang);
  const buttons = opts.map((o) => ({
    label: o.label,
    action: { kind: 'pick' as const, step, node: node.id, value: o.value },
  }));
  // Ratings are short: one row. Everything else one option per row, readable on small phones.
  return node.type === 'rating' ? [buttons] : buttons.map((b) => [b]);
}

function progress(flow: Flow, node: QuestionNode, lang: Lang): Pick<QuestionOutbound, 'progress'> {
  const at = progressOf(flow)?.get(node.id);
  return at ? { progress: { ...at, label: t('progress', lang, { n: at.index, total: at.total }) } } : {};
}

/**
 * The question the session waits on, as a message: the node itself, or, after "Khác" was chosen
 * in a multi-choice, the free text describing it (a typed answer, skippable: the choice itself
 * is already clear).
 */
export function renderQuestion(flow: Flow, node: QuestionNode, state: EngineState): QuestionOutbound {
  const base = {
    kind: 'question' as const,
    node: node.id,
    step: state.step,
    ...progress(flow, node, state.lang),
  };
  if (state.awaitingOther) {
    return {
      ...base,
      text: t('askOther', state.lang),
      expects: 'text',
      choices: [skipChoice(node, state)],
      optional: true,
      maxLength: 1000,
    };
  }
  const expects = expectsOf(node);
  const out: QuestionOutbound = {
    ...base,
    text: fill(localize(node.text, state.lang), state.vars),
    expects,
    choices: choicesFor(node, state),
    optional: isOptional(node),
  };
  if (node.type === 'free_text') out.maxLength = node.maxLength;
  if (expects === 'multi') out.typedHint = t('multiHint', state.lang);
  else if (expects === 'choice') out.typedHint = t('singleHint', state.lang);
  return out;
}

/**
 * A message node's text. A terminal thank-you with `dissatisfied` texts says instead that the
 * unit's head will see the complaint (whenever the answers open a case), and whether the unit can
 * follow up through this channel.
 */
export function renderMessage(node: Extract<FlowNode, { type: 'message' }>, state: EngineState): Outbound {
  let text = node.text;
  if (node.dissatisfied && opensCase(Object.values(state.answers))) {
    text = state.reachable === true ? node.dissatisfied.reachable : node.dissatisfied.unreachable;
  }
  return { kind: 'text', text: fill(localize(text, state.lang), state.vars) };
}

export function renderNode(flow: Flow, node: FlowNode, state: EngineState): Outbound {
  return node.type === 'message' ? renderMessage(node, state) : renderQuestion(flow, node, state);
}
