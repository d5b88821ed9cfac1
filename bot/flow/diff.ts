import type { Flow, FlowNode, FlowOption } from './schema';

/** What one change touches: the flow's own fields, a node, its texts, options or branches. */
export type ChangeAspect =
  | 'title'
  | 'start'
  | 'placeholders'
  | 'node'
  | 'type'
  | 'text'
  | 'element'
  | 'next'
  | 'branches'
  | 'option'
  | 'setting';

export interface FlowChange {
  /** The node's id; null for the flow's own fields. */
  node: string | null;
  aspect: ChangeAspect;
  change: 'added' | 'removed' | 'changed';
  /** Where, inside the node (or the flow): `text.vi`, `options.cho.label.vi`, `branches`. */
  path: string;
  from?: unknown;
  to?: unknown;
}

export interface FlowDiff {
  nodes: { added: string[]; removed: string[]; changed: string[] };
  changes: FlowChange[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Fields compared on their own; every other field of a node is a `setting`. */
const OWN = new Set(['id', 'type', 'text', 'element', 'next', 'branches', 'options']);

function compare(
  out: FlowChange[],
  node: string | null,
  aspect: ChangeAspect,
  path: string,
  from: unknown,
  to: unknown,
): void {
  if (same(from, to)) return;
  const change = from === undefined ? 'added' : to === undefined ? 'removed' : 'changed';
  out.push({
    node,
    aspect,
    change,
    path,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  });
}

function compareOptions(out: FlowChange[], id: string, a: FlowOption[], b: FlowOption[]): void {
  const before = new Map(a.map((o) => [o.value, o]));
  const after = new Map(b.map((o) => [o.value, o]));
  for (const [value, o] of before)
    if (!after.has(value)) compare(out, id, 'option', `options.${value}`, o, undefined);
  for (const [value, o] of after) {
    const old = before.get(value);
    if (!old) compare(out, id, 'option', `options.${value}`, undefined, o);
    else {
      compare(out, id, 'option', `options.${value}.label.vi`, old.label.vi, o.label.vi);
      compare(out, id, 'option', `options.${value}.label.en`, old.label.en, o.label.en);
      compare(out, id, 'option', `options.${value}.other`, old.other, o.other);
    }
  }
  const order = (l: FlowOption[]) => l.map((o) => o.value).filter((v) => before.has(v) && after.has(v));
  compare(out, id, 'option', 'options.order', order(a), order(b));
}

function compareNode(out: FlowChange[], a: FlowNode, b: FlowNode): void {
  const id = a.id;
  compare(out, id, 'type', 'type', a.type, b.type);
  compare(out, id, 'text', 'text.vi', a.text.vi, b.text.vi);
  compare(out, id, 'text', 'text.en', a.text.en, b.text.en);
  compare(out, id, 'element', 'element', a.element, b.element);
  compare(out, id, 'next', 'next', a.next, b.next);
  compare(out, id, 'branches', 'branches', a.branches, b.branches);
  const optionsA = 'options' in a ? a.options : [];
  const optionsB = 'options' in b ? b.options : [];
  compareOptions(out, id, optionsA, optionsB);
  const fields = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => !OWN.has(k)));
  for (const f of [...fields].sort())
    compare(out, id, 'setting', f, (a as Record<string, unknown>)[f], (b as Record<string, unknown>)[f]);
}

/**
 * The difference between two versions of a flow, as the console shows it: nodes added, removed
 * and changed, and each change by what it touches (texts, options by value, branches, settings).
 * Pure: both flows are validated definitions.
 */
export function diffFlows(a: Flow, b: Flow): FlowDiff {
  const changes: FlowChange[] = [];
  compare(changes, null, 'title', 'title.vi', a.title.vi, b.title.vi);
  compare(changes, null, 'title', 'title.en', a.title.en, b.title.en);
  compare(changes, null, 'start', 'start', a.start, b.start);
  compare(changes, null, 'placeholders', 'placeholders', a.placeholders, b.placeholders);
  const before = new Map(a.nodes.map((n) => [n.id, n]));
  const after = new Map(b.nodes.map((n) => [n.id, n]));
  const nodes: FlowDiff['nodes'] = { added: [], removed: [], changed: [] };
  for (const [id, n] of before)
    if (!after.has(id)) {
      nodes.removed.push(id);
      compare(changes, id, 'node', id, n, undefined);
    }
  for (const [id, n] of after) {
    const old = before.get(id);
    if (!old) {
      nodes.added.push(id);
      compare(changes, id, 'node', id, undefined, n);
      continue;
    }
    const count = changes.length;
    compareNode(changes, old, n);
    if (changes.length > count) nodes.changed.push(id);
  }
  return { nodes, changes };
}
