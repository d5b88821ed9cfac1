import type { RecordedAnswer } from './types';

/**
 * The response opens a complaint case: an element question answered 1 or 2 (the overall
 * TONG_THE included). The same rule as the case worker's `dissatisfiedItems`
 * (workers/aggregation/cases/open-case.ts) and the stored `dissatisfied` flag
 * (workers/jobs/completed-response-writer.ts), so what the citizen is told matches what the unit sees;
 * test/unit/engine.test.ts checks the three agree.
 */
export function opensCase(answers: Iterable<Pick<RecordedAnswer, 'element' | 'value'>>): boolean {
  for (const a of answers) if (a.element !== null && (a.value === 1 || a.value === 2)) return true;
  return false;
}
