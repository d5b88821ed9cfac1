import type { z } from 'zod';
import type { JobDefinition } from '../registry';
import { answersRecord } from './answers-record';
import { responseComplete } from './response-complete';
import { sessionSync } from './session-sync';
import { contactUpdate } from './contact-update';
import { rollupMonth, rollupRecompute } from '../aggregation/rollups/jobs';
import { caseEscalate, caseFollowUp, caseNotify } from '../aggregation/cases/case-jobs';
import { digestRun, digestSend } from '../aggregation/digest/jobs';

/** Every job the workers run. Add one line per job (the `as const` keeps the names typed). */
export const JOBS = [
  answersRecord,
  responseComplete,
  sessionSync,
  contactUpdate,
  rollupRecompute,
  rollupMonth,
  caseNotify,
  caseEscalate,
  caseFollowUp,
  digestRun,
  digestSend,
] as const;

export type RegisteredJob = (typeof JOBS)[number];
export type JobName = RegisteredJob['name'];
/** What a caller passes to `producer.add(name, …)` (the schema's input side). */
export type PayloadOf<N extends JobName> = z.input<Extract<RegisteredJob, { name: N }>['schema']>;

const byName = new Map<string, JobDefinition>();
for (const job of JOBS as readonly JobDefinition[]) {
  if (byName.has(job.name)) throw new Error(`job "${job.name}" is registered twice`);
  byName.set(job.name, job);
}

export function findJob(name: string): JobDefinition | undefined {
  return byName.get(name);
}
