import type { Condition, Flow, FlowNode, Lang, QuestionNode } from '../flow/schema';
import { SKIP_WORDS, t } from './messages';
import { choicesFor, isOptional, optionsOf, renderNode, renderQuestion } from './render';
import { fold, parseNumber, parseNumberList } from './text-match';
import type { ChoiceAction, EngineResult, EngineState, Inbound, Outbound, RecordedAnswer } from './types';

/**
 * The conversation engine: pure. Given a flow, a state and an input it returns the new state,
 * the messages to send and the answers to record. No I/O, no clock, no randomness.
 */

export function nodeById(flow: Flow, id: string): FlowNode {
  const node = flow.nodes.find((n) => n.id === id);
  if (!node) throw new Error(`flow ${flow.key}@${flow.version} has no node ${id}`);
  return node;
}

/**
 * `reachable`: the channel can write to the citizen again later (chat apps), which decides the
 * wording of a complaint's thank-you (a flow's `dissatisfied` texts).
 */
export function startSession(
  flow: Flow,
  opts: { lang: Lang; vars: Record<string, string>; reachable?: boolean },
): EngineResult {
  const state: EngineState = {
    flowKey: flow.key,
    flowVersion: flow.version,
    lang: opts.lang,
    status: 'active',
    current: null,
    step: 0,
    selection: [],
    awaitingOther: false,
    answers: {},
    vars: { ...opts.vars },
    reachable: opts.reachable === true,
  };
  const messages: Outbound[] = [];
  const next = enter(flow, state, flow.start, messages);
  return {
    state: next,
    messages,
    answers: [],
    ...(next.status !== 'active' ? { finished: next.status } : {}),
  };
}

/** Re-sends what the session waits for (resume, /lang, /help, a re-ask): never a dead button. */
export function currentQuestion(flow: Flow, state: EngineState): Outbound[] {
  if (state.status !== 'active' || !state.current) return [];
  return [renderQuestion(flow, nodeById(flow, state.current) as QuestionNode, state)];
}

export function handle(flow: Flow, state: EngineState, input: Inbound): EngineResult {
  if (state.status !== 'active' || !state.current) {
    return input.kind === 'action' ? unchanged(state, { ack: t('stale', state.lang) }) : unchanged(state);
  }
  switch (input.kind) {
    case 'command':
      return command(flow, state, input.name, input.arg);
    case 'action':
      return action(flow, state, input.action);
    case 'text':
      return typed(flow, state, input.text);
  }
}

function unchanged(state: EngineState, extra: Partial<EngineResult> = {}): EngineResult {
  return { state, messages: [], answers: [], unchanged: true, ...extra };
}

function command(flow: Flow, state: EngineState, name: 'help' | 'lang' | 'stop', arg?: string): EngineResult {
  if (name === 'stop') {
    const next: EngineState = {
      ...state,
      status: 'stopped',
      current: null,
      selection: [],
      awaitingOther: false,
    };
    return {
      state: next,
      messages: [{ kind: 'text', text: t('stopped', state.lang) }],
      answers: [],
      finished: 'stopped',
    };
  }
  if (name === 'help') {
    return {
      state,
      messages: [{ kind: 'text', text: t('help', state.lang) }, ...currentQuestion(flow, state)],
      answers: [],
    };
  }
  const lang: Lang = arg === 'vi' || arg === 'en' ? arg : state.lang === 'vi' ? 'en' : 'vi';
  const next = { ...state, lang };
  return {
    state: next,
    messages: [{ kind: 'text', text: t('langSwitched', lang) }, ...currentQuestion(flow, next)],
    answers: [],
  };
}

function action(flow: Flow, state: EngineState, a: ChoiceAction): EngineResult {
  if (a.step !== state.step || a.node !== state.current) {
    return unchanged(state, { ack: t('stale', state.lang) });
  }
  const node = nodeById(flow, state.current) as QuestionNode;
  if (a.kind === 'skip') {
    if (state.awaitingOther && node.type === 'multi_choice') {
      return {
        ...record(flow, state, node, { value: [...state.selection], text: null }),
        ack: '',
        updateChoices: null,
        chosen: [t('skip', state.lang)],
      };
    }
    if (!isOptional(node)) return unchanged(state, { ack: t('stale', state.lang) });
    return {
      ...advance(flow, state, node, null, []),
      ack: '',
      updateChoices: null,
      chosen: [t('skip', state.lang)],
    };
  }
  // The "Khác" text is awaited: the option buttons above it no longer apply.
  if (state.awaitingOther) return unchanged(state, { ack: t('stale', state.lang) });
  const options = optionsOf(node, state.lang);
  if (a.kind === 'done') {
    if (node.type !== 'multi_choice') return unchanged(state, { ack: t('stale', state.lang) });
    return finishMulti(flow, state, node, state.selection, true);
  }
  const option = options.find((o) => o.value === a.value);
  if (!option) return unchanged(state, { ack: t('stale', state.lang) });
  if (a.kind === 'toggle') {
    if (node.type !== 'multi_choice') return unchanged(state, { ack: t('stale', state.lang) });
    const selection = state.selection.includes(a.value)
      ? state.selection.filter((v) => v !== a.value)
      : [...state.selection, a.value];
    const next = { ...state, selection };
    return { state: next, messages: [], answers: [], ack: '', updateChoices: choicesFor(node, next) };
  }
  if (node.type === 'multi_choice') return unchanged(state, { ack: t('stale', state.lang) });
  const result = answerSingle(flow, state, node, a.value);
  return {
    ...result,
    ack: t('chosen', state.lang, { label: option.label }),
    updateChoices: null,
    chosen: [option.label],
  };
}

function typed(flow: Flow, state: EngineState, raw: string): EngineResult {
  const text = raw.trim();
  const node = nodeById(flow, state.current!) as QuestionNode;
  if (state.awaitingOther && node.type === 'multi_choice') {
    if (SKIP_WORDS.includes(fold(text)))
      return record(flow, state, node, { value: [...state.selection], text: null });
    if (text.length === 0 || text.length > 1000)
      return reask(flow, state, t('reaskText', state.lang, { max: 1000 }));
    return record(flow, state, node, { value: [...state.selection], text });
  }
  const options = optionsOf(node, state.lang);
  switch (node.type) {
    case 'free_text': {
      if (node.optional && SKIP_WORDS.includes(fold(text))) return advance(flow, state, node, null, []);
      if (text.length === 0 || text.length > node.maxLength)
        return reask(flow, state, t('reaskText', state.lang, { max: node.maxLength }));
      return record(flow, state, node, { value: null, text });
    }
    case 'number': {
      if (node.optional && SKIP_WORDS.includes(fold(text))) return advance(flow, state, node, null, []);
      const n = parseNumber(text);
      if (n === null || n < node.min || n > node.max || (node.integer && !Number.isInteger(n))) {
        return reask(flow, state, t('reaskNumber', state.lang, { min: node.min, max: node.max }));
      }
      return record(flow, state, node, { value: n, text: null });
    }
    case 'multi_choice': {
      const picked = pickByText(options, text, true);
      if (!picked) return reask(flow, state, t('reask', state.lang));
      return finishMulti(flow, state, node, picked, false);
    }
    default: {
      const picked = pickByText(options, text, false, node.type === 'scale5' || node.type === 'rating');
      if (!picked || picked.length !== 1) return reask(flow, state, t('reask', state.lang));
      return answerSingle(flow, state, node, picked[0]);
    }
  }
}

/**
 * Typed answers: positions ("1, 3"), or for scales and ratings the value itself ("4"), or an
 * option's label ("hài lòng"). Returns option values, or null when the text matches nothing.
 */
function pickByText(
  options: Array<{ value: string; label: string }>,
  text: string,
  many: boolean,
  byValue = false,
): string[] | null {
  const numbers = parseNumberList(text);
  if (numbers) {
    if (!many && numbers.length !== 1) return null;
    const values = numbers.map((n) =>
      byValue ? options.find((o) => o.value === String(n))?.value : options[n - 1]?.value,
    );
    return values.every((v): v is string => v !== undefined) ? values : null;
  }
  const f = fold(text);
  const exact = options.filter((o) => fold(o.label.replace(/^\d+\.\s*/, '').replace(/[☐☑⭐]/g, '')) === f);
  return exact.length === 1 ? [exact[0].value] : null;
}

function reask(flow: Flow, state: EngineState, text: string): EngineResult {
  return unchanged(state, { messages: [{ kind: 'text', text }, ...currentQuestion(flow, state)] });
}

function answerSingle(flow: Flow, state: EngineState, node: QuestionNode, value: string): EngineResult {
  if (node.type === 'single_choice' && node.consent) {
    if (value !== node.consent.acceptValue) {
      // Declined: keep nothing (Law 91/2025/QH15: no consent, no processing), say goodbye.
      const messages: Outbound[] = [];
      const next = enter(flow, { ...state, answers: {}, selection: [] }, node.consent.declineTo, messages);
      return {
        state: { ...next, status: 'declined', answers: {} },
        messages,
        answers: [],
        finished: 'declined',
      };
    }
    const result = advance(flow, state, node, value, []);
    return { ...result, consented: true };
  }
  const numeric = node.type === 'scale5' || node.type === 'rating';
  return record(flow, state, node, { value: numeric ? Number(value) : value, text: null });
}

function finishMulti(
  flow: Flow,
  state: EngineState,
  node: Extract<QuestionNode, { type: 'multi_choice' }>,
  picked: string[],
  fromButton: boolean,
): EngineResult {
  if (picked.length < node.minSelected) {
    const msg = t('pickAtLeast', state.lang, { n: node.minSelected });
    return fromButton ? unchanged(state, { ack: msg }) : reask(flow, state, msg);
  }
  const labels = optionsOf(node, state.lang)
    .filter((o) => picked.includes(o.value))
    .map((o) => o.label);
  const shown = fromButton
    ? { ack: t('chosen', state.lang, { label: labels.join('; ') }), updateChoices: null, chosen: labels }
    : {};
  const wantsOther = node.options.some((o) => o.other && picked.includes(o.value));
  if (wantsOther) {
    const next = { ...state, selection: picked, awaitingOther: true };
    return { state: next, messages: [renderQuestion(flow, node, next)], answers: [], ...shown };
  }
  return { ...record(flow, state, node, { value: picked, text: null }), ...shown };
}

function record(
  flow: Flow,
  state: EngineState,
  node: QuestionNode,
  a: { value: RecordedAnswer['value']; text: string | null },
): EngineResult {
  const answer: RecordedAnswer = {
    questionId: node.id,
    element: node.element ?? null,
    type: node.type,
    value: a.value,
    text: a.text,
  };
  return advance(flow, { ...state, answers: { ...state.answers, [node.id]: answer } }, node, a.value, [
    answer,
  ]);
}

function matches(cond: Condition, value: RecordedAnswer['value']): boolean {
  if (value === null) return false;
  const values = Array.isArray(value) ? value : [value];
  if ('in' in cond) return values.some((v) => cond.in.includes(String(v)));
  const nums = values.map(Number).filter((n) => Number.isFinite(n));
  if ('lte' in cond) return nums.some((n) => n <= cond.lte);
  return nums.some((n) => n >= cond.gte);
}

function advance(
  flow: Flow,
  state: EngineState,
  node: QuestionNode,
  value: RecordedAnswer['value'],
  answers: RecordedAnswer[],
): EngineResult {
  const rule = node.branches.find((b) => matches(b.when, value));
  const target = rule?.to ?? node.next;
  const base: EngineState = { ...state, selection: [], awaitingOther: false, current: null };
  const messages: Outbound[] = [];
  const next = target ? enter(flow, base, target, messages) : { ...base, status: 'completed' as const };
  return { state: next, messages, answers, ...(next.status !== 'active' ? { finished: next.status } : {}) };
}

/** Enters a node: messages flow through to their next node; a question waits; a terminal ends. */
function enter(flow: Flow, state: EngineState, id: string, out: Outbound[]): EngineState {
  let current: FlowNode = nodeById(flow, id);
  let s = state;
  for (let hops = 0; hops <= flow.nodes.length; hops++) {
    if (current.type !== 'message') {
      s = { ...s, current: current.id, step: s.step + 1, selection: [], awaitingOther: false };
      out.push(renderNode(flow, current, s));
      return s;
    }
    out.push(renderNode(flow, current, s));
    if (!current.next) {
      return { ...s, current: null, status: current.outcome === 'declined' ? 'declined' : 'completed' };
    }
    current = nodeById(flow, current.next);
  }
  throw new Error(`flow ${flow.key}@${flow.version} loops through messages`);
}
