import { jobId } from '../job-id';

/**
 * The outreach queue's name and job ids (invitation-queue.ts), in a module of their own so that
 * an erasure (privacy/erase.ts) can remove a person's queued invitations and reminders
 * without loading the queue's module and, through it, the job registry.
 */
export const OUTREACH_QUEUE = 'outreach';
export const invitationJobId = (code: string): string => jobId('inv', code);
export const reminderJobId = (code: string, n: number): string => jobId('rem', code, n);
export const phoneEraseJobId = (code: string): string => jobId('erase', code);

/**
 * The id reminders had before job-id.ts (`rem:<dossier>:<n>`, accepted by BullMQ only as a
 * three-part id). Reminders scheduled by an older release still wait under it: they are removed
 * under both ids (a survey completed, a person's data erased). Duplicates cannot send twice
 * either way: reminder n is claimed on the dossier before it is sent (reminder-send.ts).
 * Remove once no reminder older than REMINDER_DELAYS_HOURS after the upgrade can be waiting.
 */
export const legacyReminderJobId = (code: string, n: number): string => `rem:${code}:${n}`;

/** Every id under which a dossier's reminder n may wait. */
export const reminderJobIds = (code: string, n: number): string[] =>
  code.includes(':') ? [reminderJobId(code, n)] : [reminderJobId(code, n), legacyReminderJobId(code, n)];
