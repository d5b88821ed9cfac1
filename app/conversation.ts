import { withChatLinks } from '../bot/conversation/chat-link';
import { backfillKnownContacts } from '../bot/conversation/known-contacts';
import { LiveStore } from '../bot/conversation/live-store';
import { mongoConversationRecords } from '../bot/conversation/mongo-records';
import type { AnswerSink, ConversationHooks } from '../bot/conversation/ports';
import { ConversationService } from '../bot/conversation/service';
import { DEFAULT_FLOW_KEY } from '../bot/flow/assignments';
import type { FlowRepository } from '../bot/flow/repository';
import { resolveSurveyToken } from '../bot/survey/token';
import type { AppContext } from '../lib/app-context';
import { ChatLinks } from '../lib/auth/chat-link';
import type { Logger } from '../lib/logger';
import type { Shutdown } from '../lib/shutdown';
import { privacyRequests } from '../privacy/requests';
import { jobConversationBackground } from '../workers/conversation-background';
import type { JobProducer } from '../workers/producer';

/**
 * The conversation service of a process. `turns`: this process applies turns (the bot or http
 * role), so it also makes sure the known-contacts filter is complete (a new citizen's first turn
 * then reads no MongoDB: bot/conversation/known-contacts.ts) and loads the live flow before the
 * first survey starts; both in the background: until they are done, turns read MongoDB as before.
 */
export function createConversation(opts: {
  ctx: AppContext;
  producer: JobProducer;
  sink: AnswerSink;
  flows: FlowRepository;
  hooks: ConversationHooks;
  shutdown: Shutdown;
  turns: boolean;
}): ConversationService {
  const { ctx, flows, shutdown } = opts;
  const { env, log, redis, prefix } = ctx;
  const records = mongoConversationRecords();
  const service = new ConversationService({
    flows,
    sink: opts.sink,
    store: new LiveStore(redis, prefix),
    background: jobConversationBackground(opts.producer, { laterMs: env.SESSION_SYNC_LATER_MS }),
    records,
    resolveToken: resolveSurveyToken,
    hooks: afterTheReply(opts.hooks, log, shutdown),
    privacy: privacyRequests({
      redis,
      prefix,
      phoneHashKey: env.PHONE_HASH_KEY,
      phoneHashKeyPrevious: env.PHONE_HASH_KEY_PREVIOUS,
    }),
    log,
    flowKey: DEFAULT_FLOW_KEY,
  });
  if (opts.turns) {
    let stopping = false;
    const filled = backfillKnownContacts(redis, prefix, records.contactKeys(), () => stopping).then(
      (result) => log.info({ result }, 'known-contacts filter ready'),
      (err: Error) =>
        log.warn({ err: err.message }, 'known-contacts backfill failed: turns of unknown users read MongoDB'),
    );
    shutdown.add(
      'known-contacts',
      async () => {
        stopping = true;
        await filled;
      },
      15,
    );
    // A failure here (no published flow yet) is the first start's to report, to the citizen.
    flows.live(DEFAULT_FLOW_KEY, null).catch(() => undefined);
  }
  // An official's chat-link code is taken before the survey sees it (bot/conversation/chat-link.ts).
  return withChatLinks(service, new ChatLinks(redis, prefix), log);
}

/**
 * The outreach hooks write MongoDB (a dossier's funnel stage, its counted response, its reminders
 * cancelled): they run after the turn instead of inside it, so a dossier's first or last reply
 * never waits for those writes to land behind the workers' backlog. Nothing of the turn depends
 * on them (a second start of an answered dossier is refused by the live store's claim). A failure
 * is logged; it was not retried before either (the retried update gets its kept reply, without
 * the hooks). Shutdown waits for the ones under way.
 */
function afterTheReply(hooks: ConversationHooks, log: Logger, shutdown: Shutdown): ConversationHooks {
  const pending = new Set<Promise<void>>();
  const later = (
    name: string,
    ids: { responseId: string; dossierCode: string | null },
    run: () => Promise<void>,
  ) => {
    const p = run()
      .catch((err: Error) => log.error({ ...ids, hook: name, err: err.message }, 'conversation hook failed'))
      .finally(() => pending.delete(p));
    pending.add(p);
    return Promise.resolve();
  };
  // After every channel stopped applying turns (Telegram's inbox 15, Zalo 25), before the connections.
  shutdown.add('conversation-hooks', () => Promise.all([...pending]), 30);
  return {
    ...(hooks.onStarted ? { onStarted: (p) => later('onStarted', p, () => hooks.onStarted!(p)) } : {}),
    ...(hooks.onFinished ? { onFinished: (p) => later('onFinished', p, () => hooks.onFinished!(p)) } : {}),
  };
}
