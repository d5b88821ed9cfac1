import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { Contact } from '../../models/contact';
import { Session } from '../../models/session';
import { Unit } from '../../models/unit';
import { turnDuration } from '../../lib/metrics';
import type { Logger } from '../../lib/logger';
import { reachesBack, type InboundEvent, type TurnReply } from '../channels/channel';
import { currentQuestion, handle, startSession } from '../engine/engine';
import { t } from '../engine/messages';
import type { EngineResult, EngineState } from '../engine/types';
import { GENERAL_VARS } from '../flow/default-flow';
import type { FlowRepository } from '../flow/repository';
import type { Lang } from '../flow/schema';
import type { LiveContact, LiveSession, LiveStore, TurnContext } from './live-store';
import type {
  AnswerSink,
  ContactChanges,
  ConversationBackground,
  ConversationHooks,
  PrivacyRequests,
  ResponseMeta,
  TokenDossier,
  TokenResolver,
} from './ports';

export interface ConversationDeps {
  flows: FlowRepository;
  sink: AnswerSink;
  store: LiveStore;
  background: ConversationBackground;
  resolveToken: TokenResolver;
  log: Logger;
  hooks?: ConversationHooks;
  /** /dulieu and /xoa; without it the citizen is told to ask at the counter. */
  privacy?: PrivacyRequests;
  now?: () => Date;
  flowKey?: string;
  /** Record a contact's last interaction at most this often (ms). */
  touchEveryMs?: number;
}

const langOf = (hint: string | undefined): Lang => (hint?.toLowerCase().startsWith('en') ? 'en' : 'vi');

/** Thrown when another process applied a turn to the same session first; the caller retries. */
export class ConcurrentTurnError extends Error {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} was modified concurrently`);
    this.name = 'ConcurrentTurnError';
  }
}

/**
 * Channel-neutral conversation service: contacts and sessions around the pure engine.
 * A turn reads and writes the live store (Redis) only; MongoDB gets its copies through jobs.
 * Order of effects makes a retried turn safe: answers are handed to the sink (idempotent jobIds)
 * before the session is saved, and a turn whose updateId is not above the session's last
 * applied id changes nothing.
 */
export class ConversationService {
  private readonly now: () => Date;
  private readonly flowKey: string;
  private readonly touchEveryMs: number;

  constructor(private readonly deps: ConversationDeps) {
    this.now = deps.now ?? (() => new Date());
    this.flowKey = deps.flowKey ?? 'default';
    this.touchEveryMs = deps.touchEveryMs ?? 10 * 60_000;
  }

  /** One turn, timed by channel (lib/metrics.ts turnDuration). */
  async handle(ev: InboundEvent): Promise<TurnReply> {
    const end = turnDuration.startTimer({ channel: ev.channel });
    try {
      return await this.turn(ev);
    } finally {
      end();
    }
  }

  private async turn(ev: InboundEvent): Promise<TurnReply> {
    const now = this.now();
    const pre = await this.deps.store.turnContext(ev.channel, ev.userId, this.touchEveryMs, ev.updateId);
    // A retry of a turn that was applied but whose reply was not delivered: the same reply again
    // (else the session's "duplicate" rule below would answer nothing, or a finished survey "no survey").
    if (pre.appliedReply) return { ...pre.appliedReply, replayed: true };
    // Before a contact is made: asking what is held, or to be erased, creates no record.
    if (ev.input.kind === 'privacy')
      return this.privacy(ev, ev.input, pre.contact?.lang ?? langOf(ev.langHint));
    const { contact, created } = await this.contactFor(ev, now, pre);
    const session = await this.activeSession(ev, contact, pre, created);

    if (session && ev.updateId <= session.lastUpdateId) {
      this.deps.log.debug({ sessionId: session.id, updateId: ev.updateId }, 'duplicate update ignored');
      return {
        messages: [],
        lang: session.state.lang,
        ...(ev.input.kind === 'action' ? { ack: t('stale', session.state.lang) } : {}),
      };
    }

    if (ev.dossierCode !== undefined && session?.dossierCode !== ev.dossierCode)
      return { messages: [], lang: session?.state.lang ?? contact.lang, refused: true };

    const input = ev.input;
    if (input.kind === 'start') return this.start(ev, contact, created, session, input.token, now);

    if (!session) {
      if (input.kind === 'command')
        return this.commandWithoutSession(ev, contact, input.name, input.arg, now);
      if (input.kind === 'action') return { messages: [], ack: t('stale', contact.lang), lang: contact.lang };
      return { messages: [{ kind: 'text', text: t('noSurvey', contact.lang) }], lang: contact.lang };
    }

    if (session.expiresAt && now.getTime() >= Date.parse(session.expiresAt))
      return this.expire(session, ev, now);
    const flow = await this.deps.flows.get(session.flowKey, session.flowVersion);
    const result = handle(flow, session.state, input);
    const reply = await this.apply(session, result, ev, contact, now);
    if (input.kind === 'command' && input.name === 'lang') await this.setLang(ev, contact, result.state.lang);
    return reply;
  }

  /**
   * The dossier of the channel user's active session (null: none, or a survey without a dossier).
   * Read only: no contact is created or touched. The live store first, MongoDB when it does not
   * know; a turn re-checks it (`InboundEvent.dossierCode`), so a stale answer here changes nothing.
   */
  async activeDossier(channel: InboundEvent['channel'], userId: string): Promise<string | null> {
    const hot = await this.deps.store.getActive(channel, userId);
    if (hot) return hot.status === 'active' ? hot.dossierCode : null;
    const contact = await Contact.findOne({ channel, channelUserId: userId }, { _id: 1 }).lean();
    if (!contact) return null;
    const doc = await Session.findOne(
      { contactId: contact._id, channel, status: 'active' },
      { dossierCode: 1 },
    ).lean();
    return doc?.dossierCode ?? null;
  }

  /**
   * The platform says this user is gone (blocked the bot, deactivated): unsubscribe the contact,
   * through the same background path that creates it, so the write lands even if the contact's
   * record is still on its way to MongoDB.
   */
  async markUnreachable(channel: InboundEvent['channel'], userId: string): Promise<void> {
    const at = this.now().toISOString();
    const cached = await this.deps.store.getContact(channel, userId);
    const id =
      cached?.id ??
      (await Contact.findOne({ channel, channelUserId: userId }, { _id: 1 }).lean())?._id.toString();
    // Never seen: no record to mark, and nothing can be sent to them.
    if (!id) return;
    await this.deps.background.updateContact({
      contactId: id,
      channel,
      userId,
      set: { blockedAt: at, unsubscribedAt: at },
    });
  }

  /**
   * The contact behind a channel user: cached id and language; created in MongoDB by a job.
   * `created`: MongoDB had no record of this channel user, so it has no session either.
   */
  private async contactFor(
    ev: InboundEvent,
    now: Date,
    pre: TurnContext,
  ): Promise<{ contact: LiveContact; created: boolean }> {
    const { store, background } = this.deps;
    let c = pre.contact;
    let touch = pre.touch;
    let created = false;
    if (!c) {
      const doc = await Contact.findOne(
        { channel: ev.channel, channelUserId: ev.userId },
        { _id: 1, lang: 1 },
      ).lean();
      const lang: Lang = doc
        ? doc.lang === 'en'
          ? 'en'
          : 'vi'
        : ev.langHint?.toLowerCase().startsWith('en')
          ? 'en'
          : 'vi';
      c = { id: doc ? String(doc._id) : new Types.ObjectId().toHexString(), lang };
      await store.setContact(ev.channel, ev.userId, c);
      created = !doc;
      if (created)
        await background.updateContact({
          contactId: c.id,
          channel: ev.channel,
          userId: ev.userId,
          set: { lang, lastInteractionAt: now.toISOString() },
          created: true,
        });
      // Starts the "last interaction" throttle; a contact created now has it in its first write.
      touch = (await store.shouldTouch(ev.channel, ev.userId, this.touchEveryMs)) && !created;
    }
    if (touch) {
      await background.updateContact({
        contactId: c.id,
        channel: ev.channel,
        userId: ev.userId,
        set: { lastInteractionAt: now.toISOString() },
      });
    }
    return { contact: c, created };
  }

  /**
   * The active session: live store first; MongoDB only when the live store does not know (it
   * lost its data, or the contact is new to it), and never for a contact created just now.
   */
  private async activeSession(
    ev: InboundEvent,
    contact: LiveContact,
    pre: TurnContext,
    contactCreated: boolean,
  ): Promise<LiveSession | null> {
    if (pre.knownNoActive) return null;
    const hot = pre.activeId ? await this.deps.store.getById(pre.activeId) : null;
    if (hot) return hot;
    const doc = contactCreated
      ? null
      : await Session.findOne({
          contactId: new Types.ObjectId(contact.id),
          channel: ev.channel,
          status: 'active',
        }).lean();
    if (!doc) {
      await this.deps.store.markNoActive(ev.channel, ev.userId, pre.activeId);
      return null;
    }
    // The MongoDB copy lags behind the live store: a session the live store still holds is
    // whatever the live store says (e.g. completed a moment ago), never the older copy.
    const live = await this.deps.store.getById(String(doc._id));
    if (live) return live.status === 'active' ? live : null;
    const restored: LiveSession = {
      id: String(doc._id),
      contactId: contact.id,
      channel: ev.channel,
      userId: ev.userId,
      dossierCode: doc.dossierCode ?? null,
      responseId: doc.responseId,
      flowKey: doc.flowKey,
      flowVersion: doc.flowVersion,
      status: 'active',
      state: doc.state as EngineState,
      meta: (doc.meta as ResponseMeta | null) ?? null,
      rev: doc.rev ?? 0,
      lastUpdateId: doc.lastUpdateId ?? 0,
      startedAt: doc.startedAt.toISOString(),
      completedAt: null,
    };
    // Re-seed the live store; a concurrent restore by another process is just as good.
    await this.deps.store.save(restored, -1);
    this.deps.log.info({ sessionId: restored.id }, 'session restored from MongoDB');
    return (await this.deps.store.getActive(ev.channel, ev.userId)) ?? restored;
  }

  private async start(
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
      const resolved = await this.deps.resolveToken(token, now);
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
      await this.deps.background.updateContact({
        contactId: contact.id,
        channel: ev.channel,
        userId: ev.userId,
        set: { unsubscribedAt: null, blockedAt: null },
      });
    }
    if (session && (!dossier || session.dossierCode === dossier.code)) {
      // Resume where the citizen left off.
      const flow = await this.deps.flows.get(session.flowKey, session.flowVersion);
      const resumed: TurnReply = {
        messages: [
          { kind: 'text', text: t('resume', session.state.lang) },
          ...currentQuestion(flow, session.state),
        ],
        lang: session.state.lang,
      };
      await this.save({ ...session, lastUpdateId: ev.updateId, rev: session.rev + 1 }, session.rev, resumed);
      return resumed;
    }
    if (session) {
      // A new dossier supersedes an unfinished survey of another one.
      await this.save(
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
        (await this.deps.store.dossierClaimedBy(dossier.code)) ||
        (await Session.exists({ dossierCode: dossier.code, status: 'completed' }));
      if (done) return { messages: [{ kind: 'text', text: t('alreadyAnswered', lang) }], lang };
    }
    const flow = await this.deps.flows.live(this.flowKey, dossier);
    const vars = dossier ? await this.varsFor(dossier, lang) : { ...GENERAL_VARS[lang] };
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
    const reply = this.reply(result);
    await this.save(created, -1, reply);
    await this.deps.hooks?.onStarted?.({
      dossierCode: meta.dossierCode,
      responseId: created.responseId,
      channel: ev.channel,
    });
    this.deps.log.info(
      { responseId: created.responseId, channel: ev.channel, dossier: meta.dossierCode },
      'survey started',
    );
    return reply;
  }

  /** A late answer to an expired invitation: a polite "đã hết hạn", and the survey ends. */
  private async expire(session: LiveSession, ev: InboundEvent, now: Date): Promise<TurnReply> {
    const lang = session.state.lang;
    const reply: TurnReply = {
      messages: [{ kind: 'text', text: t('expired', lang) }],
      lang,
      ...(ev.input.kind === 'action' ? { ack: t('expired', lang).slice(0, 200) } : {}),
    };
    await this.save(
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
    this.deps.log.info({ responseId: session.responseId, channel: ev.channel }, 'survey expired');
    return reply;
  }

  /** `reply`: the turn's, kept with the session for a retry of its update (live-store.ts). */
  private async save(next: LiveSession, expectedRev: number, reply?: TurnReply): Promise<void> {
    if (!(await this.deps.store.save(next, expectedRev, reply))) throw new ConcurrentTurnError(next.id);
    // A new session or one that just ended is copied soon; progress in between later.
    const settled = expectedRev === -1 || next.status !== 'active';
    await this.deps.background.syncSession(next.id, settled ? 'soon' : 'later');
  }

  private async varsFor(d: TokenDossier, lang: Lang): Promise<Record<string, string>> {
    const unit = await Unit.findOne({ code: d.unitCode }, { name: 1 }).lean();
    return { ma: d.code, donvi: unit?.name ?? GENERAL_VARS[lang].donvi, thutuc: d.procedureName ?? '' };
  }

  private async setLang(ev: InboundEvent, contact: LiveContact, lang: Lang): Promise<void> {
    await this.deps.store.setContact(ev.channel, ev.userId, { ...contact, lang });
    await this.changeContact(ev, contact, { lang });
  }

  private changeContact(ev: InboundEvent, contact: LiveContact, set: ContactChanges): Promise<void> {
    return this.deps.background.updateContact({
      contactId: contact.id,
      channel: ev.channel,
      userId: ev.userId,
      set,
    });
  }

  /**
   * /dulieu answers with what is held; /xoa asks for a confirmation ("/xoa dongy") and then erases
   * everything the live store and MongoDB hold about this channel user, the session in progress
   * included (privacy/erase.ts). Nothing is sent to them afterwards but this reply.
   */
  private async privacy(
    ev: InboundEvent,
    input: { request: 'access' | 'erase'; confirmed?: boolean },
    lang: Lang,
  ): Promise<TurnReply> {
    const say = (text: string): TurnReply => ({ messages: [{ kind: 'text', text }], lang });
    const port = this.deps.privacy;
    if (!port) return say(t('privacyUnavailable', lang));
    if (input.request === 'access') return say(await port.access(ev.channel, ev.userId, lang));
    if (!input.confirmed) return say(t('eraseAsk', lang));
    const id = await port.erase(ev.channel, ev.userId);
    this.deps.log.info({ erasureId: id, channel: ev.channel }, 'privacy: erased on the citizen’s request');
    return say(t('erased', lang, { id: id.slice(0, 8) }));
  }

  private async commandWithoutSession(
    ev: InboundEvent,
    contact: LiveContact,
    name: 'help' | 'lang' | 'stop',
    arg: string | undefined,
    now: Date,
  ): Promise<TurnReply> {
    const lang = contact.lang;
    if (name === 'help') return { messages: [{ kind: 'text', text: t('help', lang) }], lang };
    if (name === 'stop') {
      await this.changeContact(ev, contact, { unsubscribedAt: now.toISOString() });
      return { messages: [{ kind: 'text', text: t('stopped', lang) }], lang };
    }
    const next: Lang = arg === 'vi' || arg === 'en' ? arg : lang === 'vi' ? 'en' : 'vi';
    await this.setLang(ev, contact, next);
    return { messages: [{ kind: 'text', text: t('langSwitched', next) }], lang: next };
  }

  private async apply(
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
      !(await this.deps.store.claimDossier(session.dossierCode, session.responseId))
    )
      return this.answeredElsewhere(session, result, ev, now);
    // 1. Answers first (idempotent jobs): a crash after this point replays the turn harmlessly.
    if (result.finished !== 'declined') {
      for (const answer of result.answers)
        await this.deps.sink.answer({ responseId: session.responseId, meta, answer, answeredAt: at });
      if (result.finished === 'completed') {
        await this.deps.sink.complete({
          responseId: session.responseId,
          meta,
          answers: Object.values(result.state.answers),
          completedAt: at,
        });
      }
    }
    // 2. Then the session, guarded by its revision, with the turn's reply. A declined survey keeps nothing.
    const declined = result.finished === 'declined';
    const reply = this.reply(result);
    await this.save(
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
      await this.changeContact(ev, contact, {
        consentAt: at,
        consentTextVersion: `${session.flowKey}@${session.flowVersion}`,
      });
    if (result.finished === 'stopped') await this.changeContact(ev, contact, { unsubscribedAt: at });
    if (result.finished) {
      this.deps.log.info(
        { responseId: session.responseId, status: result.finished, channel: ev.channel },
        'survey finished',
      );
      await this.deps.hooks?.onFinished?.({
        dossierCode: session.dossierCode,
        responseId: session.responseId,
        status: result.finished,
        channel: ev.channel,
      });
    }
    return reply;
  }

  /**
   * The survey was finished, but another one of the same dossier (another chat that opened the
   * same link) finished first and is the dossier's counted response: nothing of this one is
   * recorded, its answers are not kept in the session, and the citizen is told politely.
   */
  private async answeredElsewhere(
    session: LiveSession,
    result: EngineResult,
    ev: InboundEvent,
    now: Date,
  ): Promise<TurnReply> {
    const lang = result.state.lang;
    const reply: TurnReply = {
      ...this.reply(result),
      messages: [{ kind: 'text', text: t('alreadyAnswered', lang) }],
    };
    await this.save(
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
    this.deps.log.info(
      { responseId: session.responseId, dossier: session.dossierCode, channel: ev.channel },
      'survey finished after its dossier was answered in another chat: not counted',
    );
    await this.deps.hooks?.onFinished?.({
      dossierCode: session.dossierCode,
      responseId: session.responseId,
      status: 'stopped',
      channel: ev.channel,
    });
    return reply;
  }

  private reply(result: EngineResult): TurnReply {
    return {
      messages: result.messages,
      lang: result.state.lang,
      ...(result.ack !== undefined ? { ack: result.ack } : {}),
      ...(result.updateChoices !== undefined ? { updateChoices: result.updateChoices } : {}),
      ...(result.chosen ? { chosen: result.chosen } : {}),
    };
  }
}
