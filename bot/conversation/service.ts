import type { InboundEvent, TurnReply } from '../channels/channel';
import { handle } from '../engine/engine';
import { t } from '../engine/messages';
import { DEFAULT_FLOW_KEY } from '../flow/assignments';
import type { Lang } from '../flow/schema';
import { activeDossier, activeSession } from './active-session';
import { changeContact, contactFor, langOf, markUnreachable } from './contact-lookup';
import type { ConversationDeps } from './deps';
import type { LiveContact } from './live-store';
import { startTurn } from './start';
import { applyTurn, expireSession } from './turn';

/**
 * Channel-neutral conversation service: what the channels call. It finds the turn's contact
 * (contact-lookup.ts) and session (active-session.ts) and hands the turn to `/start`
 * (start.ts) or to the engine and its effects (turn.ts). A turn reads and writes the live store
 * (Redis); MongoDB is read only for what the live store does not know (ConversationRecords) and
 * gets its copies through jobs. A turn whose updateId is not above the session's last applied
 * id changes nothing.
 */
export class ConversationService {
  private readonly now: () => Date;
  private readonly flowKey: string;
  private readonly touchEveryMs: number;

  constructor(private readonly deps: ConversationDeps) {
    this.now = deps.now ?? (() => new Date());
    this.flowKey = deps.flowKey ?? DEFAULT_FLOW_KEY;
    this.touchEveryMs = deps.touchEveryMs ?? 10 * 60_000;
  }

  async handle(ev: InboundEvent): Promise<TurnReply> {
    const { deps } = this;
    const now = this.now();
    const pre = await deps.store.turnContext(ev.channel, ev.userId, this.touchEveryMs, ev.updateId);
    // A retry of a turn that was applied but whose reply was not delivered: the same reply again
    // (else the session's "duplicate" rule below would answer nothing, or a finished survey "no survey").
    if (pre.appliedReply) return { ...pre.appliedReply, replayed: true };
    // Before a contact is made: asking what is held, or to be erased, creates no record.
    if (ev.input.kind === 'privacy')
      return this.privacy(ev, ev.input, pre.contact?.lang ?? langOf(ev.langHint));
    const { contact, created } = await contactFor(deps, ev, now, pre, this.touchEveryMs);
    const session = await activeSession(deps, ev, contact, pre, created);

    if (session && ev.updateId <= session.lastUpdateId) {
      deps.log.debug({ sessionId: session.id, updateId: ev.updateId }, 'duplicate update ignored');
      return {
        messages: [],
        lang: session.state.lang,
        ...(ev.input.kind === 'action' ? { ack: t('stale', session.state.lang) } : {}),
      };
    }

    if (ev.dossierCode !== undefined && session?.dossierCode !== ev.dossierCode)
      return { messages: [], lang: session?.state.lang ?? contact.lang, refused: true };

    const input = ev.input;
    if (input.kind === 'start')
      return startTurn(deps, this.flowKey, ev, contact, created, session, input.token, now);

    if (!session) {
      if (input.kind === 'command')
        return this.commandWithoutSession(ev, contact, input.name, input.arg, now);
      if (input.kind === 'action') return { messages: [], ack: t('stale', contact.lang), lang: contact.lang };
      return { messages: [{ kind: 'text', text: t('noSurvey', contact.lang) }], lang: contact.lang };
    }

    if (session.expiresAt && now.getTime() >= Date.parse(session.expiresAt))
      return expireSession(deps, session, ev, now);
    const flow = await deps.flows.get(session.flowKey, session.flowVersion);
    const result = handle(flow, session.state, input);
    const reply = await applyTurn(deps, session, result, ev, contact, now);
    if (input.kind === 'command' && input.name === 'lang') await this.setLang(ev, contact, result.state.lang);
    return reply;
  }

  /** See active-session.ts: read only, no contact created or touched. */
  activeDossier(channel: InboundEvent['channel'], userId: string): Promise<string | null> {
    return activeDossier(this.deps, channel, userId);
  }

  /** The platform says this user is gone: see contact-lookup.ts. */
  markUnreachable(channel: InboundEvent['channel'], userId: string): Promise<void> {
    return markUnreachable(this.deps, channel, userId, this.now());
  }

  private async setLang(ev: InboundEvent, contact: LiveContact, lang: Lang): Promise<void> {
    await this.deps.store.setContact(ev.channel, ev.userId, { ...contact, lang });
    await changeContact(this.deps, ev, contact, { lang });
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
      await changeContact(this.deps, ev, contact, { unsubscribedAt: now.toISOString() });
      return { messages: [{ kind: 'text', text: t('stopped', lang) }], lang };
    }
    const next: Lang = arg === 'vi' || arg === 'en' ? arg : lang === 'vi' ? 'en' : 'vi';
    await this.setLang(ev, contact, next);
    return { messages: [{ kind: 'text', text: t('langSwitched', next) }], lang: next };
  }
}
