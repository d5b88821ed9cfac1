import { encodeAction, MAX_STEP } from '../engine/callback-data';
import { optionsOf } from '../engine/render';
import { flowSchema, type Flow, type FlowNode, type Lang, type Localized } from './schema';

export interface FlowIssue {
  path: string;
  message: string;
}
export type FlowValidation = { ok: true; flow: Flow } | { ok: false; issues: FlowIssue[] };

/** Platform limits every flow must fit (Telegram: the strictest of our channels for these). */
export const LIMITS = {
  textChars: 4096,
  callbackDataBytes: 64,
  /** A placeholder may expand to this many characters (dossier codes, unit names). */
  placeholderChars: 120,
} as const;

function targetsOf(node: FlowNode): Array<{ to: string; path: string }> {
  const out: Array<{ to: string; path: string }> = [];
  if (node.next) out.push({ to: node.next, path: 'next' });
  node.branches.forEach((b, i) => out.push({ to: b.to, path: `branches.${i}.to` }));
  if (node.type === 'single_choice' && node.consent)
    out.push({ to: node.consent.declineTo, path: 'consent.declineTo' });
  return out;
}

/**
 * Parses and checks a flow: schema, then the graph (dangling targets, unreachable nodes, cycles),
 * options (duplicates, branch values that no option has) and platform limits (text length with
 * placeholders expanded, callback data bytes at the largest step).
 */
export function validateFlow(input: unknown): FlowValidation {
  const parsed = flowSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    };
  }
  const flow = parsed.data;
  const issues: FlowIssue[] = [];
  const byId = new Map<string, { node: FlowNode; index: number }>();
  flow.nodes.forEach((node, index) => {
    if (byId.has(node.id))
      issues.push({ path: `nodes.${index}.id`, message: `duplicate node id "${node.id}"` });
    else byId.set(node.id, { node, index });
  });
  if (!byId.has(flow.start))
    issues.push({ path: 'start', message: `start node "${flow.start}" does not exist` });

  for (const { node, index } of byId.values()) {
    const at = `nodes.${index}`;
    for (const t of targetsOf(node)) {
      if (!byId.has(t.to))
        issues.push({ path: `${at}.${t.path}`, message: `target "${t.to}" does not exist` });
    }
    if (
      node.type !== 'message' &&
      !node.next &&
      node.branches.length === 0 &&
      !(node.type === 'single_choice' && node.consent)
    ) {
      issues.push({ path: at, message: `question "${node.id}" has no next node` });
    }
    if ('options' in node) {
      const seen = new Set<string>();
      node.options.forEach((o, i) => {
        if (seen.has(o.value))
          issues.push({ path: `${at}.options.${i}.value`, message: `duplicate option value "${o.value}"` });
        seen.add(o.value);
      });
    }
    if (node.type !== 'message') {
      const values = new Set(optionsOf(node, 'vi').map((o) => o.value));
      node.branches.forEach((b, i) => {
        if ('in' in b.when && values.size > 0) {
          for (const v of b.when.in) {
            if (!values.has(v))
              issues.push({ path: `${at}.branches.${i}.when.in`, message: `no option has value "${v}"` });
          }
        }
      });
      if (node.type === 'single_choice' && node.consent && !values.has(node.consent.acceptValue)) {
        issues.push({
          path: `${at}.consent.acceptValue`,
          message: `no option has value "${node.consent.acceptValue}"`,
        });
      }
    }
    if (node.type === 'message' && node.dissatisfied && (node.next || node.outcome === 'declined')) {
      issues.push({
        path: `${at}.dissatisfied`,
        message: 'only a terminal thank-you (no next node, not declined) may have dissatisfied texts',
      });
    }
    checkLimits(flow, node, at, issues);
  }

  if (byId.has(flow.start)) {
    checkGraph(flow, byId, issues);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, flow };
}

/** Every text of a node a citizen may be sent, with its path. */
function textsOf(node: FlowNode): Array<{ path: string; text: Localized }> {
  const out = [{ path: 'text', text: node.text }];
  if (node.type === 'message' && node.dissatisfied) {
    out.push(
      { path: 'dissatisfied.reachable', text: node.dissatisfied.reachable },
      { path: 'dissatisfied.unreachable', text: node.dissatisfied.unreachable },
    );
  }
  return out;
}

function checkLimits(flow: Flow, node: FlowNode, at: string, issues: FlowIssue[]): void {
  const langs: Lang[] = ['vi', 'en'];
  for (const { path, text } of textsOf(node)) {
    for (const lang of langs) {
      const raw = lang === 'en' ? text.en : text.vi;
      if (!raw) continue;
      for (const m of raw.matchAll(/\{([a-z_]+)\}/g)) {
        if (!flow.placeholders.includes(m[1]))
          issues.push({ path: `${at}.${path}.${lang}`, message: `unknown placeholder {${m[1]}}` });
      }
      const expanded = raw.replace(/\{[a-z_]+\}/g, 'x'.repeat(LIMITS.placeholderChars));
      if (expanded.length > LIMITS.textChars) {
        issues.push({
          path: `${at}.${path}.${lang}`,
          message: `text may exceed ${LIMITS.textChars} characters once placeholders are filled`,
        });
      }
    }
  }
  if (node.type === 'message') return;
  for (const o of optionsOf(node, 'vi')) {
    const kinds = node.type === 'multi_choice' ? (['toggle'] as const) : (['pick'] as const);
    for (const kind of kinds) {
      const bytes = Buffer.byteLength(encodeAction({ kind, step: MAX_STEP, node: node.id, value: o.value }));
      if (bytes > LIMITS.callbackDataBytes) {
        issues.push({
          path: at,
          message: `button data for option "${o.value}" is ${bytes} bytes (limit ${LIMITS.callbackDataBytes})`,
        });
      }
    }
  }
}

function checkGraph(
  flow: Flow,
  byId: Map<string, { node: FlowNode; index: number }>,
  issues: FlowIssue[],
): void {
  const reachable = new Set<string>();
  const stack = [flow.start];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (reachable.has(id) || !byId.has(id)) continue;
    reachable.add(id);
    for (const t of targetsOf(byId.get(id)!.node)) stack.push(t.to);
  }
  for (const { node, index } of byId.values()) {
    if (!reachable.has(node.id))
      issues.push({
        path: `nodes.${index}`,
        message: `node "${node.id}" is unreachable from "${flow.start}"`,
      });
  }
  // Cycle detection (iterative DFS colouring): a survey must always end.
  const colour = new Map<string, 1 | 2>();
  const visit = (root: string): void => {
    const frames: Array<{ id: string; targets: string[]; i: number }> = [];
    const push = (id: string) => {
      colour.set(id, 1);
      frames.push({
        id,
        targets: targetsOf(byId.get(id)!.node)
          .map((t) => t.to)
          .filter((t) => byId.has(t)),
        i: 0,
      });
    };
    push(root);
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (f.i >= f.targets.length) {
        colour.set(f.id, 2);
        frames.pop();
        continue;
      }
      const next = f.targets[f.i++];
      const c = colour.get(next);
      if (c === 1)
        issues.push({
          path: `nodes.${byId.get(f.id)!.index}`,
          message: `cycle: "${f.id}" leads back to "${next}"`,
        });
      else if (c === undefined) push(next);
    }
  };
  for (const id of byId.keys()) if (!colour.has(id)) visit(id);
}
