import { logger } from '../../lib/logger';
import { Flow } from '../../models/flow';
import { runSeed } from '../../cli/commands/seed';
import type { AnswerSink } from '../../bot/conversation/ports';
import type { ConversationBackground } from '../../bot/conversation/ports';
import { LiveStore } from '../../bot/conversation/live-store';
import { ConversationService } from '../../bot/conversation/service';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
import type { InboundEvent } from '../../bot/channels/channel';
import type { QuestionOutbound } from '../../bot/engine/types';
import { defaultFlow } from '../../bot/flow/default-flow';
import { defaultFlowV1 } from '../../bot/flow/default-flow-v1';
import { FlowRepository } from '../../bot/flow/repository';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * Publishing default@2: `hailong seed` on a database that has default@1 adds version 2 beside it;
 * a survey started on version 1 keeps its wording to the end, a new one starts on version 2.
 */
const redis = testRedis();
const prefix = testPrefix('flowversions');
const completed: string[] = [];
const sink: AnswerSink = {
  answer: async () => undefined,
  complete: async (p) => void completed.push(`${p.meta.flowKey}@${p.meta.flowVersion}`),
};
const background: ConversationBackground = {
  syncSession: async () => undefined,
  updateContact: async () => undefined,
};
let update = 1;

beforeAll(async () => {
  await connectTestDb('flowversions');
});
afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

function service(): ConversationService {
  // A short cache: the seed below publishes while this service runs.
  return new ConversationService({
    flows: new FlowRepository(0),
    sink,
    store: new LiveStore(redis, prefix),
    records: mongoConversationRecords(),
    background,
    resolveToken: async () => ({ ok: false, reason: 'unknown' }),
    log: logger,
  });
}
const ev = (userId: string, input: InboundEvent['input']): InboundEvent => ({
  channel: 'telegram',
  userId,
  updateId: update++,
  input,
});
const lastQuestion = (messages: Array<{ kind: string }>) =>
  messages.filter((m): m is QuestionOutbound => m.kind === 'question').at(-1)!;

test('the seed publishes default@2 beside default@1; a survey started on version 1 finishes on it', async () => {
  // A database from before: only default@1, as the earlier seed left it.
  await new FlowRepository().ensure(defaultFlowV1);
  const conv = service();
  const old = await conv.handle(ev('501', { kind: 'start' }));
  expect(lastQuestion(old.messages).text).toContain('Đồng ý chứ?');
  const q1 = await conv.handle(ev('501', { kind: 'text', text: '1' }));
  expect(lastQuestion(q1.messages).text).toContain('cổng DVC');

  const report = await runSeed();
  expect(report.flowInserted).toBe(true);
  const stored = await Flow.find({ key: 'default' }, { version: 1, createdBy: 1 })
    .sort({ version: 1 })
    .lean();
  expect(stored.map((f) => f.version)).toEqual([1, 2]);

  // The survey in progress keeps its version's wording to the end…
  let r = await conv.handle(ev('501', { kind: 'text', text: '5' }));
  expect(lastQuestion(r.messages).text).toContain('Giấy tờ, phí, thời hạn');
  for (const text of ['5', '5', '5', '5', '5', 'bỏ qua'])
    r = await conv.handle(ev('501', { kind: 'text', text }));
  expect(r.messages.at(-1)).toMatchObject({
    kind: 'text',
    text: expect.stringContaining('Cảm ơn Ông/Bà! Ý kiến đã gửi đến'),
  });
  expect(completed).toEqual(['default@1']);

  // …and a new one starts on version 2.
  const fresh = await conv.handle(ev('502', { kind: 'start' }));
  expect(lastQuestion(fresh.messages).text).toContain('Ông/Bà có đồng ý tham gia không?');
  expect(lastQuestion(fresh.messages).text).toBe(
    defaultFlow.nodes[0]!.text.vi.replace('{donvi}', 'Bộ phận Một cửa').replace('{ma}', 'vừa giải quyết'),
  );

  // Seeding again changes neither version.
  const before = await Flow.find({ key: 'default' }).lean();
  expect((await runSeed()).flowInserted).toBe(false);
  expect(await Flow.find({ key: 'default' }).lean()).toEqual(before);
});
