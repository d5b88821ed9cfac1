import { Types } from 'mongoose';
import { z } from 'zod';
import { isDuplicateKey } from '../../lib/mongo';
import { Contact } from '../../models/contact';
import { clearOptOut, recordOptOut } from '../broadcast/opt-outs';
import { wasErased } from '../../privacy/erased-mark';
import { defineJob } from '../registry';
import { drainContactChanges, type ContactChange } from './contact-changes';

const contactSetSchema = z
  .object({
    lang: z.enum(['vi', 'en']).optional(),
    consentAt: z.iso.datetime().optional(),
    consentTextVersion: z.string().max(64).optional(),
    unsubscribedAt: z.iso.datetime().nullable().optional(),
    blockedAt: z.iso.datetime().nullable().optional(),
    lastInteractionAt: z.iso.datetime().optional(),
    phoneHash: z.string().min(1).max(128).optional(),
    phoneHashKeyId: z.string().min(1).max(32).optional(),
  })
  .strict();

/**
 * Contact changes made during a conversation (created, consent, language, unsubscribe, last
 * interaction) and the units of the dossiers it answered for (session-sync.ts), written off the
 * turn's path, one writer per contact and in order of arrival
 * (contact-changes.ts). `queued`: the change is also in the contact's Redis list (every job the
 * current release adds); a job without it (added by an older release) applies its own change.
 * Idempotent: plain $set, created by (channel, user id) with the id the conversation already uses.
 * A contact the conversation just created is inserted (one insert: FerretDB pays a collection scan
 * for an upsert's match, which costs several inserts); if it exists after
 * all (a retry, a race with another creator), the same values are $set on it instead.
 */
export const contactUpdate = defineJob({
  name: 'contact.update',
  queue: 'ingest',
  schema: z.object({
    contactId: z.string().regex(/^[0-9a-f]{24}$/),
    channel: z.enum(['telegram', 'zalo', 'web']),
    userId: z.string().min(1).max(64),
    set: contactSetSchema,
    /** Units to add to the contact's (broadcast targeting, workers/broadcast/targeting.ts). */
    addUnitCodes: z.array(z.string().min(1).max(64)).max(20).optional(),
    created: z.boolean().optional(),
    queued: z.boolean().optional(),
  }),
  async handle(p, ctx) {
    // Queued before the contact was erased: writing it would bring the person back.
    if (await wasErased(ctx.redis, ctx.prefix, p.contactId)) return;
    const write = async (c: ContactChange) => {
      const { unsubscribedAt: out } = await writeContact(p.contactId, c);
      // After MongoDB: broadcasts going out skip an opted-out contact (opt-outs.ts). A retry
      // repeats both, which changes nothing.
      if (typeof out === 'string') await recordOptOut(ctx.redis, ctx.prefix, p.contactId, new Date(out));
      else if (out === null) await clearOptOut(ctx.redis, ctx.prefix, p.contactId);
    };
    if (!p.queued) return write(p);
    await drainContactChanges(ctx.redis, ctx.prefix, p.contactId, write);
  },
});

/** Applies one change; returns what it set. */
async function writeContact(contactId: string, c: ContactChange): Promise<z.infer<typeof contactSetSchema>> {
  const parsed = contactSetSchema.parse(c.set);
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed)) {
    set[k] =
      typeof v === 'string' && !['lang', 'consentTextVersion', 'phoneHash', 'phoneHashKeyId'].includes(k)
        ? new Date(v)
        : v;
  }
  const units = c.addUnitCodes ?? [];
  if (c.created === true) {
    try {
      await Contact.create({
        _id: new Types.ObjectId(contactId),
        channel: c.channel,
        channelUserId: c.userId,
        ...set,
        unitCodes: units,
      });
      return parsed;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  const update: Record<string, unknown> = { $setOnInsert: { _id: new Types.ObjectId(contactId) } };
  if (Object.keys(set).length > 0) update.$set = set;
  if (units.length > 0) update.$addToSet = { unitCodes: { $each: units } };
  const write = () =>
    Contact.updateOne({ channel: c.channel, channelUserId: c.userId }, update, { upsert: true });
  try {
    await write();
  } catch (err) {
    // Two first writes for a new contact raced and both tried to insert: the second now matches.
    if (!isDuplicateKey(err)) throw err;
    await write();
  }
  return parsed;
}
