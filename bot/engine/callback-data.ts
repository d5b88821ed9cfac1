import type { ChoiceAction } from './types';

/**
 * Compact, versionless encoding of a button's action, used as Telegram callback_data (≤ 64 bytes)
 * and Zalo `oa.query.hide` payloads. Node ids and option values are [a-z0-9_]{1,16} (flow schema),
 * the step is base 36, so an action is at most ~45 bytes.
 *   p:<step>:<node>:<value>   pick one option
 *   t:<step>:<node>:<value>   toggle an option of a multi-choice
 *   d:<step>:<node>           done with a multi-choice
 *   s:<step>:<node>           skip an optional question
 */
const TOKEN = /^[a-z0-9_]{1,16}$/;

export function encodeAction(a: ChoiceAction): string {
  const step = a.step.toString(36);
  switch (a.kind) {
    case 'pick':
      return `p:${step}:${a.node}:${a.value}`;
    case 'toggle':
      return `t:${step}:${a.node}:${a.value}`;
    case 'done':
      return `d:${step}:${a.node}`;
    case 'skip':
      return `s:${step}:${a.node}`;
  }
}

export function decodeAction(data: string): ChoiceAction | null {
  if (data.length > 64) return null;
  const parts = data.split(':');
  const [kind, stepRaw, node, value] = parts;
  if (!kind || !stepRaw || !node || !TOKEN.test(node) || !/^[0-9a-z]{1,8}$/.test(stepRaw)) return null;
  const step = parseInt(stepRaw, 36);
  if (!Number.isSafeInteger(step) || step < 1) return null;
  if (kind === 'd' && parts.length === 3) return { kind: 'done', step, node };
  if (kind === 's' && parts.length === 3) return { kind: 'skip', step, node };
  if ((kind === 'p' || kind === 't') && parts.length === 4 && value !== undefined && TOKEN.test(value)) {
    return { kind: kind === 'p' ? 'pick' : 'toggle', step, node, value };
  }
  return null;
}

/** The longest step a session can reach; used to check a flow's callback data against 64 bytes. */
export const MAX_STEP = 36 ** 4 - 1;
