/**
 * The rules every JSON body meets before any route sees it (bot/http/server.ts's parser), so each
 * route gets the same answer to the same bad input instead of its own check or none:
 *  - nesting deeper than MAX_JSON_DEPTH is refused (deep values overflow the stack of what reads them);
 *  - a key that starts with `$` or contains `.` is refused: no request of ours has one, and in a
 *    value that reaches MongoDB (a flow definition, a filter) it is an operator or a path;
 *  - a lone UTF-16 surrogate (`"\ud800"`) is refused: it cannot be stored as UTF-8 and would be
 *    silently replaced;
 *  - every string is stored in composed Unicode (NFC), so `Đăng ký` typed on a keyboard that
 *    decomposes equals the one typed on another, and invisible controls that only disguise text
 *    (zero-width space, word joiner, byte order mark, bidirectional embeddings and overrides) are
 *    removed. The zero-width joiners that emoji and scripts need are kept. These two change text,
 *    never refuse it: a webhook refused for what a citizen typed would be retried by the platform.
 * The raw bytes are kept apart (`req.rawBody`) for signature checks.
 */
export const MAX_JSON_DEPTH = 32;

// U+200B zero-width space, U+2060 word joiner, U+FEFF BOM, U+200E/F marks, U+202A–E embeddings and
// overrides, U+2066–9 isolates.
const DISGUISING = /[\u200B\u2060\uFEFF\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export type JsonInputProblem = 'too_deep' | 'forbidden_key' | 'lone_surrogate';

export const PROBLEM_MESSAGES: Record<JsonInputProblem, string> = {
  too_deep: `JSON body nested deeper than ${MAX_JSON_DEPTH} levels`,
  forbidden_key: 'forbidden key in JSON body (a key starting with "$" or containing ".")',
  lone_surrogate: 'JSON body holds a lone UTF-16 surrogate (not valid Unicode text)',
};

/** Composed, without the disguising controls. */
export function cleanText(s: string): string {
  return s.normalize('NFC').replace(DISGUISING, '');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

type Container = Record<string, unknown> | unknown[];

/**
 * Checks and cleans a parsed JSON value in place (iteratively: the point is not to recurse over a
 * hostile value). Returns the cleaned value, or the first problem found.
 */
export function checkJsonInput(
  value: unknown,
): { ok: true; value: unknown } | { ok: false; problem: JsonInputProblem } {
  if (typeof value === 'string') {
    if (!wellFormed(value)) return { ok: false, problem: 'lone_surrogate' };
    return { ok: true, value: cleanText(value) };
  }
  if (value === null || typeof value !== 'object') return { ok: true, value };
  const stack: Array<[Container, number]> = [[value as Container, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) return { ok: false, problem: 'too_deep' };
    const keys = Array.isArray(node) ? null : Object.keys(node);
    const length = keys ? keys.length : (node as unknown[]).length;
    for (let i = 0; i < length; i++) {
      const k = keys ? keys[i]! : i;
      if (typeof k === 'string') {
        if (k.startsWith('$') || k.includes('.')) return { ok: false, problem: 'forbidden_key' };
        if (!wellFormed(k)) return { ok: false, problem: 'lone_surrogate' };
      }
      const child = (node as Record<string | number, unknown>)[k];
      if (typeof child === 'string') {
        if (!wellFormed(child)) return { ok: false, problem: 'lone_surrogate' };
        const clean = cleanText(child);
        if (clean !== child) (node as Record<string | number, unknown>)[k] = clean;
      } else if (child !== null && typeof child === 'object') stack.push([child as Container, depth + 1]);
    }
  }
  return { ok: true, value };
}
