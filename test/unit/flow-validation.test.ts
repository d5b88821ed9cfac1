import { DEFAULT_FLOW_VERSIONS, defaultFlow } from '../../bot/flow/default-flow';
import type { FlowInput } from '../../bot/flow/schema';
import { validateFlow } from '../../bot/flow/validate';

function base(): FlowInput {
  return {
    key: 'tiny',
    version: 1,
    title: { vi: 'Thử' },
    start: 'a',
    nodes: [
      {
        id: 'a',
        type: 'single_choice',
        text: { vi: 'Chọn?' },
        options: [
          { value: 'x', label: { vi: 'X' } },
          { value: 'y', label: { vi: 'Y' } },
        ],
        next: 'b',
      },
      { id: 'b', type: 'message', text: { vi: 'Cảm ơn' } },
    ],
  };
}
function messages(input: unknown): string[] {
  const r = validateFlow(input);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('flow validation', () => {
  test('accepts every version of the default flow (the 14 nodes of the method plus the decline goodbye)', () => {
    expect(DEFAULT_FLOW_VERSIONS.map((f) => f.version)).toEqual([1, 2]);
    for (const f of DEFAULT_FLOW_VERSIONS) {
      expect(validateFlow(f).ok).toBe(true);
      expect(f.nodes).toHaveLength(15);
    }
    expect(DEFAULT_FLOW_VERSIONS.at(-1)).toBe(defaultFlow);
  });

  test('accepts dissatisfied texts on the terminal thank-you only, with known placeholders', () => {
    const texts = {
      reachable: { vi: 'Lãnh đạo {donvi} sẽ xem.' },
      unreachable: { vi: 'Lãnh đạo {donvi} sẽ xem; không liên hệ được.' },
    };
    const ok = base();
    ok.nodes[1] = { ...ok.nodes[1], dissatisfied: texts } as FlowInput['nodes'][number];
    expect(messages(ok)).toEqual([]);
    const mid = base();
    mid.nodes[1] = { ...mid.nodes[1], next: 'c', dissatisfied: texts } as FlowInput['nodes'][number];
    mid.nodes.push({ id: 'c', type: 'message', text: { vi: 'Hết' } });
    expect(messages(mid)).toContain(
      'nodes.1.dissatisfied: only a terminal thank-you (no next node, not declined) may have dissatisfied texts',
    );
    const bad = base();
    bad.nodes[1] = {
      ...bad.nodes[1],
      dissatisfied: { ...texts, unreachable: { vi: 'Gọi {sdt}' } },
    } as FlowInput['nodes'][number];
    expect(messages(bad)).toContain('nodes.1.dissatisfied.unreachable.vi: unknown placeholder {sdt}');
    const question = base();
    (question.nodes[0] as Record<string, unknown>).dissatisfied = texts;
    expect(messages(question).some((m) => m.startsWith('nodes.0'))).toBe(true);
  });

  test('accepts a minimal valid flow', () => {
    expect(messages(base())).toEqual([]);
  });

  test('rejects a dangling target', () => {
    const f = base();
    f.nodes[0].next = 'zzz';
    expect(messages(f)).toContain('nodes.0.next: target "zzz" does not exist');
  });

  test('rejects unreachable nodes', () => {
    const f = base();
    f.nodes.push({ id: 'c', type: 'message', text: { vi: 'Lạc' } });
    expect(messages(f)).toContain('nodes.2: node "c" is unreachable from "a"');
  });

  test('rejects cycles', () => {
    const f = base();
    f.nodes[1] = { id: 'b', type: 'free_text', text: { vi: 'Gì?' }, next: 'a' };
    expect(messages(f).some((m) => m.includes('cycle'))).toBe(true);
  });

  test('rejects duplicate option values and duplicate node ids', () => {
    const f = base();
    (f.nodes[0] as { options: unknown[] }).options.push({ value: 'x', label: { vi: 'X again' } });
    f.nodes.push({ id: 'b', type: 'message', text: { vi: 'dup' } });
    const m = messages(f);
    expect(m).toContain('nodes.0.options.2.value: duplicate option value "x"');
    expect(m).toContain('nodes.2.id: duplicate node id "b"');
  });

  test('rejects text that would not fit a Telegram message', () => {
    const f = base();
    f.nodes[1].text = { vi: 'a'.repeat(4000) + '{donvi}' };
    expect(messages(f)).toContain(
      'nodes.1.text.vi: text may exceed 4096 characters once placeholders are filled',
    );
  });

  test('rejects option values and node ids that could overflow 64-byte callback data', () => {
    const f = base();
    (f.nodes[0] as { options: Array<{ value: string }> }).options[0].value = 'a'.repeat(40);
    expect(messages(f).some((m) => m.startsWith('nodes.0.options.0.value'))).toBe(true);
  });

  test('rejects unknown placeholders, branch values no option has, and questions without a next node', () => {
    const f = base();
    f.nodes[0].text = { vi: 'Hồ sơ {hoten}?' };
    f.nodes[0].branches = [{ when: { in: ['z'] }, to: 'b' }];
    delete f.nodes[0].next;
    f.nodes.splice(1, 0, { id: 'q', type: 'number', text: { vi: 'Bao nhiêu?' } });
    const m = messages(f);
    expect(m).toContain('nodes.0.text.vi: unknown placeholder {hoten}');
    expect(m).toContain('nodes.0.branches.0.when.in: no option has value "z"');
    expect(m).toContain('nodes.1: question "q" has no next node');
  });

  test('reports schema errors with their path', () => {
    const m = messages({ ...base(), nodes: [{ id: 'a', type: 'telepathy', text: { vi: 'x' } }] });
    expect(m.length).toBeGreaterThan(0);
    expect(m[0]).toMatch(/^nodes\.0/);
  });
});
