import type { InboundEvent } from '../channels/channel';
import type { ConversationDeps } from './deps';
import type { LiveContact, LiveSession, TurnContext } from './live-store';

/**
 * The active session: live store first; MongoDB only when the live store does not know (it
 * lost its data, or the contact is new to it), and never for a contact created just now.
 */
export async function activeSession(
  deps: Pick<ConversationDeps, 'store' | 'records' | 'log'>,
  ev: InboundEvent,
  contact: LiveContact,
  pre: TurnContext,
  contactCreated: boolean,
): Promise<LiveSession | null> {
  const { store } = deps;
  if (pre.knownNoActive) return null;
  const hot = pre.activeId ? await store.getById(pre.activeId) : null;
  if (hot) return hot;
  // Marked "no active session" already, when the contact was cached (contact-lookup.ts).
  if (contactCreated && pre.activeId === null) return null;
  const doc = contactCreated ? null : await deps.records.activeSessionOf(contact.id, ev.channel);
  if (!doc) {
    await store.markNoActive(ev.channel, ev.userId, pre.activeId);
    return null;
  }
  // The MongoDB copy lags behind the live store: a session the live store still holds is
  // whatever the live store says (e.g. completed a moment ago), never the older copy.
  const live = await store.getById(doc.id);
  if (live) return live.status === 'active' ? live : null;
  const restored: LiveSession = {
    id: doc.id,
    contactId: contact.id,
    channel: ev.channel,
    userId: ev.userId,
    dossierCode: doc.dossierCode,
    responseId: doc.responseId,
    flowKey: doc.flowKey,
    flowVersion: doc.flowVersion,
    status: 'active',
    state: doc.state,
    meta: doc.meta,
    rev: doc.rev,
    lastUpdateId: doc.lastUpdateId,
    startedAt: doc.startedAt.toISOString(),
    completedAt: null,
  };
  // Re-seed the live store; a concurrent restore by another process is just as good.
  await store.save(restored, -1);
  deps.log.info({ sessionId: restored.id }, 'session restored from MongoDB');
  return (await store.getActive(ev.channel, ev.userId)) ?? restored;
}

/**
 * The dossier of the channel user's active session (null: none, or a survey without a dossier).
 * Read only: no contact is created or touched. The live store first, MongoDB when it does not
 * know; a turn re-checks it (`InboundEvent.dossierCode`), so a stale answer here changes nothing.
 */
export async function activeDossier(
  deps: Pick<ConversationDeps, 'store' | 'records'>,
  channel: InboundEvent['channel'],
  userId: string,
): Promise<string | null> {
  const hot = await deps.store.getActive(channel, userId);
  if (hot) return hot.status === 'active' ? hot.dossierCode : null;
  const contact = await deps.records.contactOf(channel, userId);
  if (!contact) return null;
  return (await deps.records.activeSessionOf(contact.id, channel))?.dossierCode ?? null;
}
