/**
 * The outreach queue's name and job ids (invitation-queue.ts), in a module of their own so that
 * an erasure (privacy/erase.ts) can remove a person's queued invitations and reminders
 * without loading the queue's module and, through it, the job registry.
 */
export const OUTREACH_QUEUE = 'outreach';
export const invitationJobId = (code: string): string => `inv-${code}`;
export const reminderJobId = (code: string, n: number): string => `rem:${code}:${n}`;
export const phoneEraseJobId = (code: string): string => `erase-${code}`;
