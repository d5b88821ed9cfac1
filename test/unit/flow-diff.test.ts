import { diffFlows } from '../../bot/flow/diff';
import { defaultFlow } from '../../bot/flow/default-flow';
import { defaultFlowV1 } from '../../bot/flow/default-flow-v1';
import type { Flow } from '../../bot/flow/schema';

const copy = (f: Flow): Flow => JSON.parse(JSON.stringify(f)) as Flow;

test('a version compared with itself has no difference', () => {
  expect(diffFlows(defaultFlow, copy(defaultFlow))).toEqual({
    nodes: { added: [], removed: [], changed: [] },
    changes: [],
  });
});

test('default@1 to default@2 changed words only: texts and option labels, no node, value or branch', () => {
  const d = diffFlows(defaultFlowV1, defaultFlow);
  expect(d.nodes.added).toEqual([]);
  expect(d.nodes.removed).toEqual([]);
  const aspects = new Set(d.changes.map((c) => c.aspect));
  expect(aspects.has('branches')).toBe(false);
  expect(aspects.has('node')).toBe(false);
  expect(d.changes.some((c) => c.node === 'q1' && c.path === 'text.vi')).toBe(true);
});

test('added and removed nodes, options by value, branches and settings each say what changed', () => {
  const b = copy(defaultFlow);
  const q7 = b.nodes.find((n) => n.id === 'q7')!;
  q7.next = 'extra';
  b.nodes.push({
    id: 'extra',
    type: 'message',
    element: null,
    text: { vi: 'Thêm' },
    branches: [],
    next: 'thanks',
  });
  const r1 = b.nodes.find((n) => n.id === 'r1') as Extract<Flow['nodes'][number], { type: 'multi_choice' }>;
  r1.options = r1.options.filter((o) => o.value !== 'cho');
  r1.options.push({ value: 'moi', label: { vi: 'Mới' } });
  r1.minSelected = 2;
  const q1 = b.nodes.find((n) => n.id === 'q1')!;
  q1.branches = [];
  const d = diffFlows(defaultFlow, b);
  expect(d.nodes).toEqual({ added: ['extra'], removed: [], changed: ['q1', 'r1', 'q7'] });
  expect(d.changes).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ node: 'extra', aspect: 'node', change: 'added' }),
      expect.objectContaining({ node: 'q7', aspect: 'next', change: 'changed', from: 'thanks', to: 'extra' }),
      expect.objectContaining({ node: 'r1', aspect: 'option', change: 'removed', path: 'options.cho' }),
      expect.objectContaining({ node: 'r1', aspect: 'option', change: 'added', path: 'options.moi' }),
      expect.objectContaining({ node: 'r1', aspect: 'setting', path: 'minSelected', from: 1, to: 2 }),
      expect.objectContaining({ node: 'q1', aspect: 'branches', change: 'changed', to: [] }),
    ]),
  );
});
