import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { reachesBack, type InboundEvent, type TurnReply } from '../channels/channel';
import { currentQuestion, startSession } from '../engine/engine';
import { t } from '../engine/messages';
import { GENERAL_VARS } from '../flow/default-flow';
import type { Lang } from '../flow/schema';
import type { ConversationDeps } from './deps';
import { liveFlowOrNull } from './live-flow';
import type { LiveContact, LiveSession } from './live-store';
import type { ResponseMeta, TokenDossier } from './ports';
import { replyOf, saveSession } from './session-save';

/**
 * `/start` (with a survey token or without): resumes the active session, or starts a new survey
 * of the token's dossier or unit (a new dossier supersedes an unfinished survey of another one),
 * or says why not (unknown, expired or used token; a dossier already answered).
 */
export async function startTurn(
  deps: ConversationDeps,
  flowKey: string,
  ev: InboundEvent,
  contact: LiveContact,
  contactCreated: boolean,
  session: LiveSession | null,
  token: string | undefined,
  now: Date,
): Promise<TurnReply> {
  const lang = contact.lang;
  let dossier: TokenDossier | null = null;
  let unitCode: string | null = null;
  if (token) {
    const resolved = await deps.resolveToken(token, now);
    if (!resolved.ok) {
      const key =
        resolved.reason === 'expired'
          ? 'expired'
          : resolved.reason === 'used'
            ? 'alreadyAnswered'
            : 'unknownToken';
      return { messages: [{ kind: 'text', text: t(key, lang) }], lang };
    }
    dossier = resolved.dossier;
    if (!resolved.dossier) unitCode = resolved.unitCode;
  }
  // Starting on purpose is an explicit wish to take part (again), and proves the bot is no
  // longer blocked (a chat found blocked by a broadcast or an invitation is reachable again).
  // A contact created by this very turn has nothing to clear (one write fewer per new citizen).
  if (!contactCreated) {
    await deps.background.updateContact({
      contactId: contact.id,
      channel: ev.channel,
      userId: ev.userId,
      set: { unsubscribedAt: null, blockedAt: null },
    });
  }
  if (session && (!dossier || session.dossierCode === dossier.code)) {
    // Resume where the citizen left off.
    const flow = await deps.flows.get(session.flowKey, session.flowVersion);
    const resumed: TurnReply = {
      messages: [
        { kind: 'text', text: t('resume', session.state.lang) },
        ...currentQuestion(flow, session.state),
      ],
      lang: session.state.lang,
    };
    await saveSession(
      deps,
      { ...session, lastUpdateId: ev.updateId, rev: session.rev + 1 },
      session.rev,
      resumed,
    );
    return resumed;
  }
  if (session) {
    // A new dossier supersedes an unfinished survey of another one.
    await saveSession(
      deps,
      {
        ...session,
        status: 'stopped',
        state: { ...session.state, status: 'stopped', current: null },
        completedAt: now.toISOString(),
        rev: session.rev + 1,
      },
      session.rev,
    );
  }
  if (dossier) {
    // The live store knows at once; MongoDB's copies come a moment later (or after Redis lost it).
    const done =
      dossier.survey?.responseId ||
      (await deps.store.dossierClaimedBy(dossier.code)) ||
      (await deps.records.dossierCompleted(dossier.code));
    if (done) return { messages: [{ kind: 'text', text: t('alreadyAnswered', lang) }], lang };
  }
  const flow = await liveFlowOrNull(deps.flows, flowKey, dossier, ev, deps.log);
  if (!flow) return { messages: [{ kind: 'text', text: t('noFlow', lang) }], lang };
  const vars = dossier ? await varsFor(deps, dossier, lang) : { ...GENERAL_VARS[lang] };
  const result = startSession(flow, { lang, vars, reachable: reachesBack(ev.channel) });
  const meta: ResponseMeta = {
    dossierCode: dossier?.code ?? null,
    unitCode: dossier?.unitCode ?? unitCode,
    procedureCode: dossier?.procedureCode ?? null,
    officerId: dossier?.officerId ?? null,
    dossierChannel: dossier?.channel ?? null,
    onlineLevel: dossier?.onlineLevel ?? null,
    surveyChannel: ev.channel,
    flowKey: flow.key,
    flowVersion: flow.version,
    lang,
    startedAt: now.toISOString(),
  };
  const created: LiveSession = {
    id: new Types.ObjectId().toHexString(),
    contactId: contact.id,
    channel: ev.channel,
    userId: ev.userId,
    dossierCode: meta.dossierCode,
    responseId: randomUUID(),
    flowKey: flow.key,
    flowVersion: flow.version,
    status: 'active',
    state: result.state,
    meta,
    rev: 0,
    lastUpdateId: ev.updateId,
    startedAt: now.toISOString(),
    completedAt: null,
    expiresAt: dossier?.survey?.expiresAt ? new Date(dossier.survey.expiresAt).toISOString() : null,
  };
  const reply = replyOf(result);
  await saveSession(deps, created, -1, reply);
  await deps.hooks?.onStarted?.({
    dossierCode: meta.dossierCode,
    responseId: created.responseId,
    channel: ev.channel,
  });
  deps.log.info(
    { responseId: created.responseId, channel: ev.channel, dossier: meta.dossierCode },
    'survey started',
  );
  return reply;
}

async function varsFor(
  deps: Pick<ConversationDeps, 'records'>,
  d: TokenDossier,
  lang: Lang,
): Promise<Record<string, string>> {
  const unit = await deps.records.unitName(d.unitCode);
  return { ma: d.code, donvi: unit ?? GENERAL_VARS[lang].donvi, thutuc: d.procedureName ?? '' };
}
