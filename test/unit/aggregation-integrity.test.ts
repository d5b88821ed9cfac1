import { findBursts } from '../../workers/aggregation/integrity/bursts';

const at = (min: number) => new Date(Date.UTC(2025, 4, 5, 2, min));

test('five identical answer sets a few minutes apart are a burst; different answers or long gaps are not', () => {
  const rows = [
    ...[0, 2, 4, 6, 8].map((m, i) => ({ responseId: `s${i}`, completedAt: at(m), signature: 'q1=5&q2=5' })),
    ...[1, 3, 5, 7].map((m, i) => ({ responseId: `o${i}`, completedAt: at(m), signature: 'q1=4&q2=5' })),
    ...[0, 30, 60, 90, 120].map((m, i) => ({ responseId: `g${i}`, completedAt: at(m), signature: 'q1=3&q2=3' })),
  ];
  expect(findBursts(rows, { minSize: 5, windowMin: 10 })).toEqual([['s0', 's1', 's2', 's3', 's4']]);
  expect(findBursts(rows, { minSize: 4, windowMin: 10 })).toHaveLength(2);
});
