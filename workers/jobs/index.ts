import type { z } from 'zod';
import type { JobDefinition } from '../registry';
import { answersRecord } from './answers-record';
import { responseComplete } from './response-complete';
import { sessionSync } from './session-sync';
import { contactUpdate } from './contact-update';
import { rollupDossiers, rollupMonth, rollupRecompute } from '../aggregation/rollups/jobs';
import { caseEscalate, caseFollowUp, caseNotify } from '../aggregation/cases/case-jobs';
import { digestRun, digestSend } from '../aggregation/digest/jobs';
import { privacyRetention } from './privacy-retention';
import { invitationSend, phoneErase, reminderSend } from './outreach-jobs';
import { broadcastDeliver, broadcastFanout, broadcastResume } from '../broadcast/jobs';
import { zaloEvent } from './zalo-event';

/**
 * Every job of every queue (the queues: workers/queues.ts). Add one line per job (the `as const`
 * keeps the names typed). A name not in here is refused when added and fails unrecoverably
 * when processed.
 */
export const JOBS = [
  // ingest
  answersRecord,
  responseComplete,
  sessionSync,
  contactUpdate,
  // aggregate and outbound
  rollupRecompute,
  rollupDossiers,
  rollupMonth,
  caseNotify,
  caseEscalate,
  caseFollowUp,
  digestRun,
  digestSend,
  privacyRetention,
  // outreach
  invitationSend,
  reminderSend,
  phoneErase,
  // broadcast and its delivery queues
  broadcastFanout,
  broadcastResume,
  broadcastDeliver,
  // zalo-inbound
  zaloEvent,
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
