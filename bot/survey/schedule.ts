import { quietUntil } from '../../lib/quiet-hours';

/**
 * When proactive messages may go out. Quiet hours (default 21:00–07:00 Asia/Ho_Chi_Minh) hold
 * invitations and reminders until the next morning; replies to a citizen who is answering are
 * never held (they do not go through here).
 */
export interface QuietHours {
  start: string;
  end: string;
}

/** `at`, or the end of the quiet period `at` falls in. */
export function outOfQuiet(at: Date, quiet: QuietHours): Date {
  return quietUntil(at.getTime(), quiet.start, quiet.end) ?? at;
}

export interface PlannedReminder {
  /** 1-based: reminder n has the stable job id rem:<dossier>:<n>. */
  n: number;
  at: Date;
}

/**
 * Reminder times of one survey: each delay after the invitation was issued, moved out of quiet
 * hours, at most `max`, and only those before the survey expires.
 */
export function planReminders(p: {
  issuedAt: Date;
  expiresAt: Date;
  delaysHours: number[];
  max: number;
  quiet: QuietHours;
}): PlannedReminder[] {
  const out: PlannedReminder[] = [];
  for (const [i, h] of p.delaysHours.slice(0, p.max).entries()) {
    const at = outOfQuiet(new Date(p.issuedAt.getTime() + h * 3600_000), p.quiet);
    if (at.getTime() < p.expiresAt.getTime()) out.push({ n: i + 1, at });
  }
  return out;
}
