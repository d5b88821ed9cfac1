import type { LiveSession } from '../../bot/conversation/live-store';
import { key } from '../../lib/redis';
import { contactUnitAt } from '../broadcast/targeting';
import type { JobContext } from '../registry';
import { appendContactChange } from './contact-changes';
import { jobId } from '../job-id';

/** Sessions whose contact already got its unit (a survey lives at most 60 days in the live store). */
const DONE_TTL_S = 60 * 24 * 3600;
const doneKey = (prefix: string, sessionId: string): string => key(prefix, 'ct', 'unit', sessionId);

/**
 * A contact belongs to the units of the dossiers it answered for: that is who a broadcast to a
 * unit reaches (workers/broadcast/targeting.ts). Called by session.sync, which sees the session's
 * contact and dossier together off the turn's path; the unit goes through the one writer of
 * contacts (contact.update), once per session. "Answered": at least one answer recorded, so a
 * citizen who declined (nothing kept) or only opened the invitation gets no unit. Web-chat
 * contacts get none either: nothing can be pushed to them, so no feature needs it.
 *
 * The unit is the dossier's, as of the survey's start: a commune already merged by then is
 * replaced by its successor; one merged later stays, and its successor's subtree includes it.
 */
export async function addAnsweredUnit(
  s: LiveSession,
  ctx: Pick<JobContext, 'redis' | 'prefix' | 'enqueue'>,
): Promise<boolean> {
  const unitCode = s.meta?.unitCode;
  if (!unitCode || s.channel === 'web' || Object.keys(s.state.answers).length === 0) return false;
  const done = doneKey(ctx.prefix, s.id);
  if (await ctx.redis.exists(done)) return false;
  const unit = await contactUnitAt(unitCode, new Date(s.startedAt));
  await appendContactChange(ctx.redis, ctx.prefix, s.contactId, {
    channel: s.channel,
    userId: s.userId,
    set: {},
    addUnitCodes: [unit],
  });
  await ctx.enqueue(
    'contact.update',
    {
      contactId: s.contactId,
      channel: s.channel,
      userId: s.userId,
      set: {},
      addUnitCodes: [unit],
      queued: true,
    },
    { jobId: jobId('ct', s.contactId, 'unit', s.id) },
  );
  // Last: a crash before this repeats the change, which adds nothing the second time.
  await ctx.redis.set(done, '1', 'EX', DONE_TTL_S);
  return true;
}
