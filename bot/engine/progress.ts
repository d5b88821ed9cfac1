import type { Flow, FlowNode } from '../flow/schema';

/**
 * "Câu 3/7": the rule a citizen can trust. The main questions are the questions met by
 * following `next` from the start (a consent question is not counted: it asks whether to take
 * part, not about the service). Every other question is a follow-up of the main question whose
 * branch leads to it (the default flow's "why?" after a 1 or 2) and shows that question's number,
 * so the count never grows mid-survey. When a follow-up could belong to two main questions, the
 * flow's shape does not allow an honest count and no question shows one.
 */
export interface Position {
  index: number;
  total: number;
}

const cache = new WeakMap<Flow, ReadonlyMap<string, Position> | null>();

export function progressOf(flow: Flow): ReadonlyMap<string, Position> | null {
  if (cache.has(flow)) return cache.get(flow)!;
  const computed = compute(flow);
  cache.set(flow, computed);
  return computed;
}

function isCounted(node: FlowNode): boolean {
  return node.type !== 'message' && !(node.type === 'single_choice' && node.consent);
}

function compute(flow: Flow): ReadonlyMap<string, Position> | null {
  const byId = new Map(flow.nodes.map((n) => [n.id, n]));
  const main: string[] = [];
  const onMain = new Set<string>();
  for (let id: string | undefined = flow.start; id && !onMain.has(id);) {
    const node = byId.get(id);
    if (!node) break;
    onMain.add(id);
    if (isCounted(node)) main.push(id);
    id = node.next;
  }
  const total = main.length;
  if (total === 0) return null;
  const out = new Map<string, Position>();
  main.forEach((id, i) => out.set(id, { index: i + 1, total }));
  // Follow-ups: reached from a main question's branches without passing another main node.
  for (const [i, id] of main.entries()) {
    const stack = byId.get(id)!.branches.map((b) => b.to);
    const seen = new Set<string>();
    while (stack.length > 0) {
      const at = stack.pop()!;
      if (onMain.has(at) || seen.has(at)) continue;
      seen.add(at);
      const node = byId.get(at);
      if (!node) continue;
      if (isCounted(node)) {
        const known = out.get(at);
        if (known && known.index !== i + 1) return null;
        out.set(at, { index: i + 1, total });
      }
      if (node.next) stack.push(node.next);
      for (const b of node.branches) stack.push(b.to);
    }
  }
  return out;
}
