import type { JobDefinition } from '../registry';
import { answerRecord } from './answer-record';
import { responseComplete } from './response-complete';

/** Every job this system runs. Add one line per job. */
export const JOBS: readonly JobDefinition[] = [
  answerRecord,
  responseComplete,
] as unknown as readonly JobDefinition[];

export function findJob(name: string): JobDefinition | undefined {
  return JOBS.find((j) => j.name === name);
}
