/** The part of dagre's graph this file uses. */
interface Layout {
  setGraph(g: Record<string, unknown>): void;
  setDefaultEdgeLabel(f: () => Record<string, unknown>): void;
  setNode(id: string, label: Record<string, unknown>): void;
  setEdge(from: string, to: string, label: Record<string, unknown>, name: string): void;
  graph(): { width?: number; height?: number };
  nodes(): string[];
  node(id: string): unknown;
  edges(): unknown[];
  edge(ref: unknown): unknown;
}
interface Dagre {
  graphlib: { Graph: new (opts: { multigraph: boolean }) => Layout };
  layout(g: Layout): void;
}
// dagre 3 ships CommonJS (dist/dagre.cjs, its "require" export) but types written as ESM only,
// which a node16 CommonJS module cannot import: required, typed by the few members used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dagre = require('@dagrejs/dagre') as Dagre;
import { conditionFields, type Definition } from './flows-model';

/**
 * The flow as a picture: questions as boxes, `next` and branches as arrows, laid out by dagre
 * (a layered layout; the default flow is not a tree: "why?" questions rejoin the main line) and
 * drawn as SVG on the server, so the page ships no layout code. Every label is escaped here: the
 * template writes the markup raw. The same edges are listed as text beside it (accessibility).
 */
const W = 168;
const H = 52;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export interface Edge {
  from: string;
  to: string;
  label: string;
  missing: boolean;
}

/** Every arrow of the flow: branches (with their condition), the default next, a consent's decline. */
export function edgesOf(def: Definition): Edge[] {
  const ids = new Set((def.nodes ?? []).map((n) => n.id));
  const out: Edge[] = [];
  for (const n of def.nodes ?? []) {
    for (const b of n.branches ?? []) {
      const c = conditionFields(b.when ?? {});
      const label = c.kind === 'in' ? `= ${c.value}` : `${c.kind === 'lte' ? '≤' : '≥'} ${c.value}`;
      out.push({ from: n.id, to: b.to, label, missing: !ids.has(b.to) });
    }
    const consent = n.consent as { declineTo?: string; acceptValue?: string } | undefined;
    if (consent?.declineTo)
      out.push({
        from: n.id,
        to: consent.declineTo,
        label: '≠ ' + (consent.acceptValue ?? ''),
        missing: !ids.has(consent.declineTo),
      });
    if (n.next) out.push({ from: n.id, to: n.next, label: '', missing: !ids.has(n.next) });
  }
  return out;
}

export function flowSvg(def: Definition, labelledBy: string, missingLabel: string): string {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 44, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const nodes = def.nodes ?? [];
  for (const n of nodes) g.setNode(n.id, { width: W, height: H });
  const edges = edgesOf(def);
  edges.forEach((e, i) => {
    if (e.missing) g.setNode(`?${e.to}`, { width: W, height: H, missing: true, label: e.to });
    g.setEdge(
      e.from,
      e.missing ? `?${e.to}` : e.to,
      { label: e.label, width: e.label ? 40 : 0, height: 16 },
      `e${i}`,
    );
  });
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const parts: string[] = [];
  for (const ref of g.edges()) {
    const e = g.edge(ref) as {
      points: Array<{ x: number; y: number }>;
      label?: string;
      x?: number;
      y?: number;
    };
    const d = e.points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    parts.push(`<path class="edge" d="${d}" marker-end="url(#arrow)"/>`);
    if (e.label && e.x !== undefined && e.y !== undefined)
      parts.push(
        `<text class="edge-label" x="${e.x.toFixed(1)}" y="${(e.y + 4).toFixed(1)}">${esc(e.label)}</text>`,
      );
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const id of g.nodes()) {
    const p = g.node(id) as { x: number; y: number; missing?: boolean; label?: string };
    const x = p.x - W / 2;
    const y = p.y - H / 2;
    const n = byId.get(id);
    const cls = p.missing ? 'node missing' : n?.type === 'message' ? 'node message' : 'node';
    const title = p.missing ? `${p.label ?? ''} (${missingLabel})` : id;
    const sub = p.missing ? missingLabel : cut(n?.text?.vi ?? '', 24);
    parts.push(
      `<g class="${cls}"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${W}" height="${H}" rx="6"/>` +
        `<text class="node-id" x="${p.x.toFixed(1)}" y="${(y + 20).toFixed(1)}">${esc(title)}</text>` +
        `<text class="node-text" x="${p.x.toFixed(1)}" y="${(y + 38).toFixed(1)}">${esc(sub)}</text></g>`,
    );
  }
  return (
    `<svg class="flow-graph" role="img" aria-labelledby="${esc(labelledBy)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" width="${Math.ceil(width)}" height="${Math.ceil(height)}" xmlns="http://www.w3.org/2000/svg">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` +
    parts.join('') +
    `</svg>`
  );
}
