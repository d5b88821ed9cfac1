/**
 * The flow editor's view model: the shapes of the flow API the pages read, a node's form fields
 * to and from its definition, and the API's issue paths mapped to those fields. The API's zod
 * schemas (bot/http/api/routes/flow*.ts) are the truth; this declares only what the pages read.
 */

export interface Localized {
  vi?: string;
  en?: string;
}
export interface NodeDef {
  id: string;
  type: string;
  element?: string | null;
  text?: Localized;
  next?: string;
  branches?: Array<{ when: Record<string, unknown>; to: string }>;
  options?: Array<{ value: string; label: Localized; other?: boolean }>;
  [k: string]: unknown;
}
export interface Definition {
  key?: string;
  title?: Localized;
  start?: string;
  placeholders?: string[];
  nodes?: NodeDef[];
  [k: string]: unknown;
}
export interface Issue {
  path: string;
  message: string;
}
export interface DraftView {
  id: string;
  key: string;
  unitCode: string | null;
  baseVersion: number | null;
  rev: number;
  definition: Definition;
  valid: boolean;
  issues: Issue[];
  updatedBy: string;
  updatedAt: string;
}
export interface FlowList {
  flows: Array<{
    key: string;
    title: string;
    latest: number;
    versions: Array<{ version: number; status: string; publishedAt: string | null; createdBy: string }>;
  }>;
}
export interface Assignment {
  unitCode: string | null;
  procedureCode: string | null;
  flowKey: string;
  version: number;
  assignedBy: string;
  updatedAt: string;
}

export const NODE_TYPES = [
  'single_choice',
  'multi_choice',
  'scale5',
  'rating',
  'number',
  'free_text',
  'message',
] as const;
const CHOICE = new Set(['single_choice', 'multi_choice']);
export const hasOptions = (type: string): boolean => CHOICE.has(type);

/** A branch's condition as the form shows it: a kind and a value ("1,2" for `in`). */
export function conditionFields(when: Record<string, unknown>): { kind: string; value: string } {
  if (Array.isArray(when.in)) return { kind: 'in', value: (when.in as string[]).join(',') };
  if (typeof when.lte === 'number') return { kind: 'lte', value: String(when.lte) };
  if (typeof when.gte === 'number') return { kind: 'gte', value: String(when.gte) };
  return { kind: 'in', value: '' };
}

function condition(kind: string, value: string): Record<string, unknown> {
  if (kind === 'lte' || kind === 'gte') {
    const n = Number(value.replace(',', '.'));
    return { [kind]: Number.isFinite(n) && value.trim() !== '' ? n : value };
  }
  return {
    in: value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  };
}

const text = (vi: string | undefined, en: string | undefined): Localized => ({
  vi: (vi ?? '').trim(),
  ...(en && en.trim() ? { en: en.trim() } : {}),
});

export type Form = Record<string, string | undefined>;

/**
 * The node as the form describes it. Fields the form does not show (consent, dissatisfied,
 * scale bounds) are kept from the node as it was, unless the type changed and they no longer
 * apply; the validator (through the API) says what is still missing.
 */
export function nodeFromForm(old: NodeDef, form: Form): NodeDef {
  const type = form.type && (NODE_TYPES as readonly string[]).includes(form.type) ? form.type : old.type;
  const kept: NodeDef =
    type === old.type ? { ...old } : { id: old.id, type, element: old.element ?? null, text: old.text };
  const node: NodeDef = {
    ...kept,
    type,
    element: form.element?.trim() ? form.element.trim() : null,
    text: text(form.text_vi, form.text_en),
  };
  if (form.next?.trim()) node.next = form.next.trim();
  else delete node.next;
  const branches: NonNullable<NodeDef['branches']> = [];
  for (let i = 0; form[`br_to_${i}`] !== undefined; i++) {
    if (form[`br_remove_${i}`] === 'on') continue;
    branches.push({
      when: condition(form[`br_kind_${i}`] ?? 'in', form[`br_value_${i}`] ?? ''),
      to: (form[`br_to_${i}`] ?? '').trim(),
    });
  }
  node.branches = branches;
  if (hasOptions(type)) {
    const options: NonNullable<NodeDef['options']> = [];
    for (let i = 0; form[`opt_value_${i}`] !== undefined; i++)
      options.push({
        value: (form[`opt_value_${i}`] ?? '').trim(),
        label: text(form[`opt_vi_${i}`], form[`opt_en_${i}`]),
        ...(form[`opt_other_${i}`] === 'on' ? { other: true } : {}),
      });
    node.options = options.length > 0 ? options : [emptyOption(), emptyOption()];
  } else delete node.options;
  return node;
}

const emptyOption = () => ({ value: '', label: { vi: '' } });

/**
 * One of the form's list buttons (`op`): add, remove or move an option, add a branch. Applied
 * to the node after the form's fields, so nothing typed before pressing it is lost.
 */
export function applyOp(node: NodeDef, op: string | undefined): NodeDef {
  if (!op) return node;
  const [what, arg] = op.split(':');
  const i = Number(arg);
  const options = [...(node.options ?? [])];
  if (what === 'add-option') options.push(emptyOption());
  else if (what === 'remove-option' && options[i]) options.splice(i, 1);
  else if ((what === 'up' && i > 0) || (what === 'down' && i < options.length - 1)) {
    const j = what === 'up' ? i - 1 : i + 1;
    [options[i], options[j]] = [options[j]!, options[i]!];
  } else if (what === 'add-branch')
    return { ...node, branches: [...(node.branches ?? []), { when: { in: [] }, to: '' }] };
  return hasOptions(node.type) ? { ...node, options } : node;
}

/** The form field an issue of node `index` concerns (`nodes.3.options.1.label.vi` → `opt_vi_1`). */
export function fieldOf(path: string, index: number): string | null {
  const prefix = `nodes.${index}`;
  if (path !== prefix && !path.startsWith(`${prefix}.`)) return null;
  const rest = path.slice(prefix.length + 1);
  if (rest === '') return 'node';
  let m = /^text\.(vi|en)$/.exec(rest);
  if (m) return `text_${m[1]}`;
  m = /^options\.(\d+)\.(value|label\.vi|label\.en)/.exec(rest);
  if (m) return `opt_${m[2] === 'value' ? 'value' : m[2] === 'label.vi' ? 'vi' : 'en'}_${m[1]}`;
  m = /^branches\.(\d+)\.(to|when)/.exec(rest);
  if (m) return `br_${m[2] === 'to' ? 'to' : 'value'}_${m[1]}`;
  if (rest === 'options') return 'options';
  if (['next', 'element', 'type', 'id'].includes(rest)) return rest;
  return 'node';
}

/** The issues of one node by field (the first per field), for messages next to the fields. */
export function nodeErrors(issues: Issue[], index: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) {
    const f = fieldOf(i.path, index);
    if (f) out[f] ??= i.message;
  }
  return out;
}

/** The node an issue concerns (by index in the definition), or null for the flow's own fields. */
export function nodeIndexOf(path: string): number | null {
  const m = /^nodes\.(\d+)/.exec(path);
  return m ? Number(m[1]) : null;
}

/** A fresh node id not used yet: q<n>. */
export function freshId(def: Definition): string {
  const used = new Set((def.nodes ?? []).map((n) => n.id));
  let n = (def.nodes ?? []).length + 1;
  while (used.has(`q${n}`)) n++;
  return `q${n}`;
}
