import { Types } from 'mongoose';
import { z } from 'zod';
import { isDuplicateKey } from '../../lib/mongo';
import { LiveStore } from '../../bot/conversation/live-store';
import { Session } from '../../models/session';
import { wasErased } from '../../privacy/erased-mark';
import { defineJob } from '../registry';
import { addAnsweredUnit } from './contact-units';
import { sessionSyncJobId } from '../conversation-background';

/**
 * Writes a conversation's live state (Redis, bot/conversation/live-store.ts) behind to MongoDB.
 * Coalesced: the job id is per session and the job reads the latest state when it runs, so a
 * burst of turns costs one write. A revision guard keeps an older state from overwriting a newer.
 * Once the citizen has answered, their contact also gets the dossier's unit (contact-units.ts).
 */
export const sessionSync = defineJob({
  name: 'session.sync',
  queue: 'ingest',
  schema: z.object({ sessionId: z.string().regex(/^[0-9a-f]{24}$/) }),
  // Removed on completion so the next turn can schedule the same job id again.
  options: { removeOnComplete: true },
  async handle(p, ctx) {
    const store = new LiveStore(ctx.redis, ctx.prefix);
    const s = await store.getById(p.sessionId);
    if (!s) {
      ctx.log.debug({ sessionId: p.sessionId }, 'session.sync: nothing in the live store');
      return;
    }
    // Read before the erasure deleted it: writing it back would link the response to the person again.
    if (await wasErased(ctx.redis, ctx.prefix, s.contactId)) return;
    const _id = new Types.ObjectId(s.id);
    const fields = {
      contactId: new Types.ObjectId(s.contactId),
      channel: s.channel,
      dossierCode: s.dossierCode,
      responseId: s.responseId,
      flowKey: s.flowKey,
      flowVersion: s.flowVersion,
      status: s.status,
      state: s.state,
      meta: s.meta,
      rev: s.rev,
      lastUpdateId: s.lastUpdateId,
      startedAt: new Date(s.startedAt),
      completedAt: s.completedAt ? new Date(s.completedAt) : null,
      expiresAt: s.expiresAt ? new Date(s.expiresAt) : null,
    };
    try {
      await Session.updateOne({ _id, rev: { $lt: s.rev } }, { $set: fields }, { upsert: true });
    } catch (err) {
      // The stored copy is already at this revision or newer: nothing to do.
      if (!isDuplicateKey(err)) throw err;
    }
    await addAnsweredUnit(s, ctx);
    // A turn that landed while this job was running could not schedule the same job id.
    const now = await store.getById(p.sessionId);
    if (now && now.rev > s.rev) {
      await ctx.enqueue(
        'session.sync',
        { sessionId: p.sessionId },
        { jobId: sessionSyncJobId(p.sessionId, { rev: now.rev }), delay: 200 },
      );
    }
  },
});
