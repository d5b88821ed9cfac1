import mongoose, { Types } from 'mongoose';
import { Redis } from 'ioredis';
import { jobAnswerSink } from '../../workers/answer-sink';
import { jobConversationBackground } from '../../workers/conversation-background';
import type { InboundEvent } from '../../bot/channels/channel';
import { LiveStore, type LiveSession } from '../../bot/conversation/live-store';
import { ConversationService } from '../../bot/conversation/service';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { Session } from '../../models/session';
import { JobProducer } from '../../workers/producer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

let redis: Redis;
let prefix: string;
let producer: JobProducer;
let store: LiveStore;
let service: ConversationService;
let updateId = 1;

const evOf = (userId: string, input: InboundEvent['input']): InboundEvent => ({
  channel: 'telegram',
  userId,
  updateId: updateId++,
  input,
});
const ev = (input: InboundEvent['input']): InboundEvent => evOf('7001', input);

/** The write-behind MongoDB copy of a live session, as the session.sync job would have written it: "active". */
function mongoCopy(
  live: LiveSession,
  at: { rev: number; meta?: LiveSession['meta']; lastUpdateId?: number },
) {
  return Session.create({
    _id: new Types.ObjectId(live.id),
    contactId: new Types.ObjectId(live.contactId),
    channel: 'telegram',
    responseId: live.responseId,
    flowKey: 'default',
    flowVersion: live.flowVersion,
    status: 'active',
    state: live.state,
    startedAt: new Date(),
    ...at,
  });
}

beforeAll(async () => {
  await connectTestDb('convlive');
  redis = testRedis();
  prefix = testPrefix('convlive');
  producer = new JobProducer(redis, prefix);
  store = new LiveStore(redis, prefix);
  const flows = new FlowRepository();
  await flows.ensure(defaultFlow);
  service = new ConversationService({
    flows,
    sink: jobAnswerSink(producer),
    store,
    records: mongoConversationRecords(),
    background: jobConversationBackground(producer),
    resolveToken: async () => ({ ok: false, reason: 'unknown' }),
    log: logger,
  });
});

afterAll(async () => {
  await producer.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a session finished in the live store is not revived by its lagging MongoDB copy', async () => {
  const first = await service.handle(ev({ kind: 'start' }));
  expect(first.messages[0]).toMatchObject({ kind: 'question', node: 'consent' });
  const live = (await store.getActive('telegram', '7001'))!;
  // The write-behind copy as it was at the start: still "active".
  await mongoCopy(live, { rev: 0 });
  const declined = await service.handle(
    ev({ kind: 'action', action: { kind: 'pick', step: live.state.step, node: 'consent', value: 'no' } }),
  );
  expect(declined.messages[0]).toMatchObject({ kind: 'text', text: expect.stringContaining('không lưu') });
  expect(await store.getActive('telegram', '7001')).toBeNull();
  // A new /start must begin a new survey, not resume (or fail on) the finished one.
  const again = await service.handle(ev({ kind: 'start' }));
  expect(again.messages).toHaveLength(1);
  expect(again.messages[0]).toMatchObject({ kind: 'question', node: 'consent', step: 1 });
  const next = (await store.getActive('telegram', '7001'))!;
  expect(next.id).not.toBe(live.id);
});

test('a session the live store lost is restored from its MongoDB copy and continues', async () => {
  const s = (await store.getActive('telegram', '7001'))!;
  await mongoCopy(s, { meta: s.meta, rev: s.rev, lastUpdateId: s.lastUpdateId });
  // The contact's MongoDB record, as the contact.update job writes it.
  await Contact.create({ _id: new Types.ObjectId(s.contactId), channel: 'telegram', channelUserId: '7001' });
  // Redis restarted without persistence: the live keys are gone.
  await clearPrefix(redis, prefix);
  const r = await service.handle(
    ev({ kind: 'action', action: { kind: 'pick', step: s.state.step, node: 'consent', value: 'yes' } }),
  );
  expect(r.messages[0]).toMatchObject({ kind: 'question', node: 'q1' });
});

describe('what the live store knows spares MongoDB', () => {
  /** The MongoDB operations on `sessions` while `fn` runs (mongoose's debug hook sees every one). */
  async function sessionQueries(fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    mongoose.set('debug', (collection: string, method: string) => {
      if (collection === 'sessions') seen.push(method);
    });
    try {
      await fn();
    } finally {
      mongoose.set('debug', false);
    }
    return seen;
  }
  const decline = (userId: string, step: number) =>
    evOf(userId, { kind: 'action', action: { kind: 'pick', step, node: 'consent', value: 'no' } });

  test("a new contact's first turn and a /start after a finished survey look up no session", async () => {
    const first = await sessionQueries(() => service.handle(evOf('7101', { kind: 'start' })));
    expect(first).toEqual([]);
    const s = (await store.getActive('telegram', '7101'))!;
    await service.handle(decline('7101', s.state.step));
    expect(await store.getActive('telegram', '7101')).toBeNull();
    let again: Awaited<ReturnType<ConversationService['handle']>> | undefined;
    expect(
      await sessionQueries(async () => (again = await service.handle(evOf('7101', { kind: 'start' })))),
    ).toEqual([]);
    expect(again!.messages[0]).toMatchObject({ kind: 'question', node: 'consent', step: 1 });
  });

  test('a contact the live store does not know is looked up once, then known to have no session', async () => {
    // The contact exists in MongoDB (cached contact gone: Redis lost its keys), without a session.
    await Contact.create({ channel: 'telegram', channelUserId: '7102' });
    expect(
      await sessionQueries(() => service.handle(evOf('7102', { kind: 'text', text: 'xin chào' }))),
    ).toEqual(['findOne']);
    expect(
      await sessionQueries(() => service.handle(evOf('7102', { kind: 'text', text: 'xin chào' }))),
    ).toEqual([]);
  });

  test('a finished survey whose live state expired is not revived by a lagging MongoDB copy', async () => {
    await service.handle(evOf('7103', { kind: 'start' }));
    const live = (await store.getActive('telegram', '7103'))!;
    await mongoCopy(live, { meta: live.meta, rev: 0 });
    await service.handle(decline('7103', live.state.step));
    // The finished session's live state expires long before the pointer that says "none active".
    await redis.del(store.sessionKey(live.id));
    const again = await service.handle(evOf('7103', { kind: 'start' }));
    expect(again.messages).toHaveLength(1);
    expect(again.messages[0]).toMatchObject({ kind: 'question', node: 'consent', step: 1 });
    expect((await store.getActive('telegram', '7103'))!.id).not.toBe(live.id);
  });
});

test("a new contact's /start writes the contact once; a returning contact's /start clears unsubscribed and blocked", async () => {
  const changes: Array<{ userId: string; set: object }> = [];
  const real = jobConversationBackground(producer);
  const recording = new ConversationService({
    flows: new FlowRepository(),
    sink: jobAnswerSink(producer),
    store,
    records: mongoConversationRecords(),
    background: {
      syncSession: (id, when) => real.syncSession(id, when),
      updateContact: async (p) => {
        changes.push({ userId: p.userId, set: p.set });
        await real.updateContact(p);
      },
    },
    resolveToken: async () => ({ ok: false, reason: 'unknown' }),
    log: logger,
  });
  await recording.handle(evOf('7201', { kind: 'start' }));
  expect(changes).toEqual([{ userId: '7201', set: expect.objectContaining({ lang: 'vi' }) }]);
  // Returning (cached, finished or not): /start is a wish to take part again.
  changes.length = 0;
  await recording.handle(evOf('7201', { kind: 'start' }));
  expect(changes).toEqual([{ userId: '7201', set: { unsubscribedAt: null, blockedAt: null } }]);
});

test("a session's start and end are copied to MongoDB soon, its progress in between later", async () => {
  const queue = producer.getQueue('ingest');
  const turn = (input: InboundEvent['input']) => service.handle(evOf('7301', input));
  await turn({ kind: 'start' });
  const s = (await store.getActive('telegram', '7301'))!;
  expect((await queue.getJob(`sess-${s.id}`))?.opts.delay).toBe(300);
  await queue.remove(`sess-${s.id}`);
  await turn({ kind: 'action', action: { kind: 'pick', step: s.state.step, node: 'consent', value: 'yes' } });
  expect(await queue.getJob(`sess-${s.id}`)).toBeUndefined();
  expect((await queue.getJob(`sess-${s.id}-later`))?.opts.delay).toBe(20_000);
  await turn({ kind: 'command', name: 'stop' });
  expect((await queue.getJob(`sess-${s.id}`))?.opts.delay).toBe(300);
});

test('a chat found blocked is unsubscribed through the contact job, known to the live store or only to MongoDB; never seen: nothing', async () => {
  const changes: Array<{ contactId: string; userId: string; set: object }> = [];
  const svc = new ConversationService({
    flows: new FlowRepository(),
    sink: jobAnswerSink(producer),
    store,
    records: mongoConversationRecords(),
    background: {
      syncSession: async () => undefined,
      updateContact: async (p) => void changes.push({ contactId: p.contactId, userId: p.userId, set: p.set }),
    },
    resolveToken: async () => ({ ok: false, reason: 'unknown' }),
    log: logger,
    now: () => new Date('2026-11-27T04:00:00Z'),
  });
  await svc.handle(evOf('7401', { kind: 'start' }));
  const cached = (await store.getContact('telegram', '7401'))!;
  // The live store lost this one (or it expired); MongoDB has it.
  const old = await Contact.create({ channel: 'telegram', channelUserId: '7402' });
  changes.length = 0;
  for (const userId of ['7401', '7402', '7403']) await svc.markUnreachable('telegram', userId);
  const set = { blockedAt: '2026-11-27T04:00:00.000Z', unsubscribedAt: '2026-11-27T04:00:00.000Z' };
  expect(changes).toEqual([
    { contactId: cached.id, userId: '7401', set },
    { contactId: String(old._id), userId: '7402', set },
  ]);
});

describe('one counted response per dossier (two chats on the same link)', () => {
  const dossier = (code: string) => ({
    ok: true as const,
    dossier: { code, unitCode: '19870', procedureCode: '1.001234', channel: 'in_person' as const },
  });
  function recordingService(code: string) {
    const completed: string[] = [];
    const real = jobAnswerSink(producer);
    const svc = new ConversationService({
      flows: new FlowRepository(),
      sink: { answer: (p) => real.answer(p), complete: async (p) => void completed.push(p.responseId) },
      store,
      records: mongoConversationRecords(),
      background: { syncSession: async () => undefined, updateContact: async () => undefined },
      resolveToken: async () => dossier(code),
      log: logger,
    });
    return { svc, completed };
  }
  /** Answers every question as satisfied as possible; returns the last reply. */
  async function finish(
    svc: ConversationService,
    userId: string,
    first: Awaited<ReturnType<ConversationService['handle']>>,
  ) {
    let reply = first;
    for (let i = 0; i < 20; i++) {
      const q = reply.messages.filter((m) => m.kind === 'question').at(-1);
      if (!q || q.kind !== 'question') return reply;
      const pick = q.choices.flat().find((c) => c.label === 'Đồng ý' || c.label.startsWith('5.'));
      reply = await svc.handle(
        evOf(userId, pick ? { kind: 'action', action: pick.action } : { kind: 'text', text: 'bỏ qua' }),
      );
    }
    throw new Error('the survey did not end');
  }

  test('a survey finishing after another one of its dossier finished is told so, completes nothing and keeps no answers', async () => {
    const { svc, completed } = recordingService('DOS-LIVE-1');
    const a = await svc.handle(evOf('7501', { kind: 'start', token: 'x'.repeat(32) }));
    const b = await svc.handle(evOf('7502', { kind: 'start', token: 'x'.repeat(32) }));
    const bSession = (await store.getActive('telegram', '7502'))!;
    expect((await finish(svc, '7501', a)).messages[0]).toMatchObject({
      text: expect.stringContaining('cảm ơn'),
    });
    const last = await finish(svc, '7502', b);
    expect(last.messages).toEqual([{ kind: 'text', text: 'Hồ sơ này đã được đánh giá. Cảm ơn Ông/Bà!' }]);
    expect(completed).toHaveLength(1);
    expect(completed[0]).not.toBe(bSession.responseId);
    const ended = (await store.getById(bSession.id))!;
    expect(ended).toMatchObject({ status: 'stopped', state: { answers: {} } });
  });

  test('a chat opening the link after the dossier was claimed is told at the start, before MongoDB knows', async () => {
    const { svc } = recordingService('DOS-LIVE-2');
    expect(await store.claimDossier('DOS-LIVE-2', 'resp-someone-else')).toBe(true);
    const r = await svc.handle(evOf('7503', { kind: 'start', token: 'x'.repeat(32) }));
    expect(r.messages).toEqual([{ kind: 'text', text: 'Hồ sơ này đã được đánh giá. Cảm ơn Ông/Bà!' }]);
    expect(await store.getActive('telegram', '7503')).toBeNull();
  });
});

test('a retry of an applied update gets the reply its turn gave, even once the survey has ended', async () => {
  const start = evOf('7601', { kind: 'start' });
  const first = await service.handle(start);
  expect(await service.handle(start)).toEqual({ ...first, replayed: true });
  const s = (await store.getActive('telegram', '7601'))!;
  const decline = evOf('7601', {
    kind: 'action',
    action: { kind: 'pick', step: s.state.step, node: 'consent', value: 'no' },
  });
  const declined = await service.handle(decline);
  expect(await store.getActive('telegram', '7601')).toBeNull();
  expect(await service.handle(decline)).toEqual({ ...declined, replayed: true });
});
