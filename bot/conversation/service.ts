import { randomUUID } from 'node:crypto';
import type { Types } from 'mongoose';
import { Contact } from '../../models/contact';
import { Session } from '../../models/session';
import { Unit } from '../../models/unit';
import type { Logger } from '../../lib/logger';
import type { InboundEvent, TurnReply } from '../channels/channel';
import { currentQuestion, handle, startSession } from '../engine/engine';
import { t } from '../engine/messages';
import type { EngineResult, EngineState, Outbound } from '../engine/types';
import { GENERAL_VARS } from '../flow/default-flow';
import type { FlowRepository } from '../flow/repository';
import type { Lang } from '../flow/schema';
import type { AnswerSink, ConversationHooks, ResponseMeta, TokenDossier, TokenResolver } from './ports';

export interface ConversationDeps {
  flows: FlowRepository;
  sink: AnswerSink;
  resolveToken: TokenResolver;
  log: Logger;
  hooks?: ConversationHooks;
  now?: () => Date;
  flowKey?: string;
}

/** Thrown when another process applied a turn to the same session first; the caller retries. */
export class ConcurrentTurnError extends Error {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} was modified concurrently`);
    this.name = 'ConcurrentTurnError';
  }
}

interface SessionRow {
  _id: Types.ObjectId;
  responseId: string;
  dossierCode: string | null;
  flowKey: string;
  flowVersion: number;
  state: EngineState;
  rev: number;
  lastUpdateId: number;
  startedAt: Date;
  meta?: ResponseMeta;
}

/**
 * Channel-neutral conversation service: contact and session bookkeeping around the pure engine.
 * Order of effects makes a retried turn safe: answers are handed to the sink (idempotent jobIds)
 * before the session is saved, and a turn whose updateId is not above the session's last applied
 * id changes nothing.
 */
export class ConversationService {
  private readonly now: () => Date;
  private readonly flowKey: string;

  constructor(private readonly deps: ConversationDeps) {
    this.now = deps.now ?? (() => new Date());
    this.flowKey = deps.flowKey ?? 'default';
  }

  async handle(ev: InboundEvent): Promise<TurnReply> {
    const now = this.now();
    const contact = await Contact.findOneAndUpdate(
      { channel: ev.channel, channelUserId: ev.userId },
      {
        $set: { lastInteractionAt: now },
        $setOnInsert: { lang: ev.langHint?.toLowerCase().startsWith('en') ? 'en' : 'vi' },
      },
      { upsert: true, returnDocument: 'after', lean: true },
    );
    if (!contact) throw new Error('contact upsert returned nothing');
    const lang: Lang = contact.lang === 'en' ? 'en' : 'vi';
    const session = (await Session.findOne({ contactId: contact._id, status: 'active' }).lean()) as SessionRow | null;

    if (session && ev.updateId <= session.lastUpdateId) {
      this.deps.log.debug({ sessionId: String(session._id), updateId: ev.updateId }, 'duplicate update ignored');
      return { messages: [], lang: session.state.lang, ...(ev.input.kind === 'action' ? { ack: t('stale', session.state.lang) } : {}) };
    }

    const input = ev.input;
    if (input.kind === 'start') return this.start(ev, contact._id, lang, session, input.token, now);

    if (!session) {
      if (input.kind === 'command') return this.commandWithoutSession(contact._id, lang, input.name, input.arg);
      if (input.kind === 'action') return { messages: [], ack: t('stale', lang), lang };
      return { messages: [{ kind: 'text', text: t('noSurvey', lang) }], lang };
    }

    const flow = await this.deps.flows.get(session.flowKey, session.flowVersion);
    const result = handle(flow, session.state, input);
    await this.apply(session, result, ev, contact._id, now);
    if (input.kind === 'command' && input.name === 'lang') {
      await Contact.updateOne({ _id: contact._id }, { $set: { lang: result.state.lang } });
    }
    return this.reply(result);
  }

  private async start(ev: InboundEvent, contactId: Types.ObjectId, lang: Lang, session: SessionRow | null, token: string | undefined, now: Date): Promise<TurnReply> {
    // Starting on purpose is an explicit wish to take part again.
    await Contact.updateOne({ _id: contactId, unsubscribedAt: { $ne: null } }, { $set: { unsubscribedAt: null } });
    let dossier: TokenDossier | null = null;
    if (token) {
      const resolved = await this.deps.resolveToken(token, now);
      if (!resolved.ok) {
        const key = resolved.reason === 'expired' ? 'expired' : resolved.reason === 'used' ? 'alreadyAnswered' : 'unknownToken';
        return { messages: [{ kind: 'text', text: t(key, lang) }], lang };
      }
      dossier = resolved.dossier;
    }
    if (session && (!dossier || session.dossierCode === dossier.code)) {
      // Resume where the citizen left off.
      const flow = await this.deps.flows.get(session.flowKey, session.flowVersion);
      await Session.updateOne({ _id: session._id }, { $set: { lastUpdateId: ev.updateId } });
      return { messages: [{ kind: 'text', text: t('resume', session.state.lang) }, ...currentQuestion(flow, session.state)], lang: session.state.lang };
    }
    if (session) {
      // A new dossier supersedes an unfinished survey of another one.
      await Session.updateOne({ _id: session._id }, { $set: { status: 'stopped', 'state.status': 'stopped' }, $inc: { rev: 1 } });
    }
    if (dossier) {
      const done = await Session.exists({ dossierCode: dossier.code, status: 'completed' });
      if (done || dossier.survey?.responseId) return { messages: [{ kind: 'text', text: t('alreadyAnswered', lang) }], lang };
    }
    const flow = await this.deps.flows.latestPublished(this.flowKey);
    const vars = dossier ? await this.varsFor(dossier, lang) : { ...GENERAL_VARS[lang] };
    const result = startSession(flow, { lang, vars });
    const responseId = randomUUID();
    const meta: ResponseMeta = {
      dossierCode: dossier?.code ?? null,
      unitCode: dossier?.unitCode ?? null,
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
    await Session.create({
      contactId,
      channel: ev.channel,
      dossierCode: dossier?.code ?? null,
      responseId,
      flowKey: flow.key,
      flowVersion: flow.version,
      status: 'active',
      state: result.state,
      meta,
      rev: 0,
      lastUpdateId: ev.updateId,
      startedAt: now,
    });
    await this.deps.hooks?.onStarted?.({ dossierCode: meta.dossierCode, responseId, channel: ev.channel });
    this.deps.log.info({ responseId, channel: ev.channel, dossier: meta.dossierCode }, 'survey started');
    return this.reply(result);
  }

  private async varsFor(d: TokenDossier, lang: Lang): Promise<Record<string, string>> {
    const unit = await Unit.findOne({ code: d.unitCode }, { name: 1 }).lean();
    return { ma: d.code, donvi: unit?.name ?? GENERAL_VARS[lang].donvi, thutuc: d.procedureName ?? '' };
  }

  private async commandWithoutSession(contactId: Types.ObjectId, lang: Lang, name: 'help' | 'lang' | 'stop', arg?: string): Promise<TurnReply> {
    if (name === 'help') return { messages: [{ kind: 'text', text: t('help', lang) }], lang };
    if (name === 'stop') {
      await Contact.updateOne({ _id: contactId }, { $set: { unsubscribedAt: this.now() } });
      return { messages: [{ kind: 'text', text: t('stopped', lang) }], lang };
    }
    const next: Lang = arg === 'vi' || arg === 'en' ? arg : lang === 'vi' ? 'en' : 'vi';
    await Contact.updateOne({ _id: contactId }, { $set: { lang: next } });
    return { messages: [{ kind: 'text', text: t('langSwitched', next) }], lang: next };
  }

  private async apply(session: SessionRow, result: EngineResult, ev: InboundEvent, contactId: Types.ObjectId, now: Date): Promise<void> {
    const meta: ResponseMeta = { ...(session.meta as ResponseMeta), lang: result.state.lang };
    const at = now.toISOString();
    // 1. Answers first (idempotent jobs): a crash after this point replays the turn harmlessly.
    if (result.finished !== 'declined') {
      for (const answer of result.answers) await this.deps.sink.answer({ responseId: session.responseId, meta, answer, answeredAt: at });
      if (result.finished === 'completed') {
        await this.deps.sink.complete({ responseId: session.responseId, meta, answers: Object.values(result.state.answers), completedAt: at });
      }
    }
    // 2. Then the session, guarded by its revision.
    const status = result.state.status;
    const set: Record<string, unknown> = { state: result.state, status, lastUpdateId: ev.updateId };
    if (result.finished) set.completedAt = now;
    if (result.finished === 'declined') {
      // Keep nothing of a declined survey: no dossier link, no answers in the state.
      set.dossierCode = null;
      set.meta = null;
    }
    const saved = await Session.updateOne({ _id: session._id, rev: session.rev }, { $set: set, $inc: { rev: 1 } });
    if (saved.modifiedCount !== 1) throw new ConcurrentTurnError(String(session._id));
    if (result.consented) await Contact.updateOne({ _id: contactId }, { $set: { consentAt: now, consentTextVersion: `${session.flowKey}@${session.flowVersion}` } });
    if (result.finished === 'stopped') await Contact.updateOne({ _id: contactId }, { $set: { unsubscribedAt: now } });
    if (result.finished) {
      this.deps.log.info({ responseId: session.responseId, status: result.finished, channel: ev.channel }, 'survey finished');
      await this.deps.hooks?.onFinished?.({ dossierCode: session.dossierCode, responseId: session.responseId, status: result.finished, channel: ev.channel });
    }
  }

  private reply(result: EngineResult): TurnReply {
    const messages: Outbound[] = result.messages;
    return {
      messages,
      lang: result.state.lang,
      ...(result.ack !== undefined ? { ack: result.ack } : {}),
      ...(result.updateChoices !== undefined ? { updateChoices: result.updateChoices } : {}),
    };
  }
}
