import type { InboundEvent, TurnReply } from '../channels/channel';
import { t } from '../engine/messages';
import type { EngineResult } from '../engine/types';
import { changeContact } from './contact-lookup';
import type { ConversationDeps } from './deps';
import type { LiveContact, LiveSession } from './live-store';
import type { ResponseMeta } from './ports';
import { replyOf, saveSession } from './session-save';

/**
 * Applies the engine's result of a turn to its session. Order of effects makes a retried turn
 * safe: answers are handed to the sink (idempotent jobIds) before the session is saved.
 */
export async function applyTurn(
  deps: ConversationDeps,
  session: LiveSession,
  result: EngineResult,
  ev: InboundEvent,
  contact: LiveContact,
  now: Date,
): Promise<TurnReply> {
  const meta: ResponseMeta = { ...(session.meta as ResponseMeta), lang: result.state.lang };
  const at = now.toISOString();
  // 0. A dossier has one counted response: the first survey of it to finish. Claimed before
  // anything of this turn is recorded; a retried turn finds its own claim.
  if (
    result.finished === 'completed' &&
    session.dossierCode !== null &&
    !(await deps.store.claimDossier(session.dossierCode, session.responseId))
  )
    return answeredElsewhere(deps, session, result, ev, now);
  // 1. Answers first (idempotent jobs): a crash after this point replays the turn harmlessly.
  if (result.finished !== 'declined') {
    for (const answer of result.answers)
      await deps.sink.answer({ responseId: session.responseId, meta, answer, answeredAt: at });
    if (result.finished === 'completed') {
      await deps.sink.complete({
        responseId: session.responseId,
        meta,
        answers: Object.values(result.state.answers),
        completedAt: at,
      });
    }
  }
  // 2. Then the session, guarded by its revision, with the turn's reply. A declined survey keeps nothing.
  const declined = result.finished === 'declined';
  const reply = replyOf(result);
  await saveSession(
    deps,
    {
      ...session,
      state: result.state,
      status: result.state.status,
      lastUpdateId: ev.updateId,
      rev: session.rev + 1,
      completedAt: result.finished ? at : null,
      ...(declined ? { dossierCode: null, meta: null } : {}),
    },
    session.rev,
    reply,
  );
  if (result.consented)
    await changeContact(deps, ev, contact, {
      consentAt: at,
      consentTextVersion: `${session.flowKey}@${session.flowVersion}`,
    });
  if (result.finished === 'stopped') await changeContact(deps, ev, contact, { unsubscribedAt: at });
  if (result.finished) {
    deps.log.info(
      { responseId: session.responseId, status: result.finished, channel: ev.channel },
      'survey finished',
    );
    await deps.hooks?.onFinished?.({
      dossierCode: session.dossierCode,
      responseId: session.responseId,
      status: result.finished,
      channel: ev.channel,
    });
  }
  return reply;
}

/** A late answer to an expired invitation: a polite "đã hết hạn", and the survey ends. */
export async function expireSession(
  deps: ConversationDeps,
  session: LiveSession,
  ev: InboundEvent,
  now: Date,
): Promise<TurnReply> {
  const lang = session.state.lang;
  const reply: TurnReply = {
    messages: [{ kind: 'text', text: t('expired', lang) }],
    lang,
    ...(ev.input.kind === 'action' ? { ack: t('expired', lang).slice(0, 200) } : {}),
  };
  await saveSession(
    deps,
    {
      ...session,
      status: 'expired',
      state: { ...session.state, status: 'expired', current: null },
      lastUpdateId: ev.updateId,
      completedAt: now.toISOString(),
      rev: session.rev + 1,
    },
    session.rev,
    reply,
  );
  deps.log.info({ responseId: session.responseId, channel: ev.channel }, 'survey expired');
  return reply;
}

/**
 * The survey was finished, but another one of the same dossier (another chat that opened the
 * same link) finished first and is the dossier's counted response: nothing of this one is
 * recorded, its answers are not kept in the session, and the citizen is told politely.
 */
async function answeredElsewhere(
  deps: ConversationDeps,
  session: LiveSession,
  result: EngineResult,
  ev: InboundEvent,
  now: Date,
): Promise<TurnReply> {
  const lang = result.state.lang;
  const reply: TurnReply = {
    ...replyOf(result),
    messages: [{ kind: 'text', text: t('alreadyAnswered', lang) }],
  };
  await saveSession(
    deps,
    {
      ...session,
      status: 'stopped',
      state: { ...result.state, status: 'stopped', current: null, answers: {}, selection: [] },
      lastUpdateId: ev.updateId,
      rev: session.rev + 1,
      completedAt: now.toISOString(),
    },
    session.rev,
    reply,
  );
  deps.log.info(
    { responseId: session.responseId, dossier: session.dossierCode, channel: ev.channel },
    'survey finished after its dossier was answered in another chat: not counted',
  );
  await deps.hooks?.onFinished?.({
    dossierCode: session.dossierCode,
    responseId: session.responseId,
    status: 'stopped',
    channel: ev.channel,
  });
  return reply;
}
