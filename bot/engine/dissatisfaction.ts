/** What the rule reads of an answer, whether recorded by the engine or stored. */
interface Rated {
  element?: string | null;
  value: unknown;
}

/**
 * The one rule for "không hài lòng" (docs/sipas-method.md): a 1 or 2 on an element question, the
 * overall TONG_THE included. The citizen's closing message, the case worker's items
 * (workers/aggregation/cases/open-case.ts) and the stored `dissatisfied` flag
 * (workers/jobs/completed-response-writer.ts) all ask it, so what the citizen is told matches
 * what the unit sees.
 */
export function isDissatisfiedAnswer<A extends Rated>(a: A): a is A & { element: string; value: 1 | 2 } {
  return !!a.element && (a.value === 1 || a.value === 2);
}

/** The response opens a complaint case: one of its answers is dissatisfied. */
export function opensCase(answers: Iterable<Rated>): boolean {
  for (const a of answers) if (isDissatisfiedAnswer(a)) return true;
  return false;
}
