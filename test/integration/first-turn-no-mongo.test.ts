import mongoose from 'mongoose';
import { Types } from 'mongoose';
import { Redis } from 'ioredis';
import type { InboundEvent } from '../../bot/channels/channel';
import { backfillKnownContacts } from '../../bot/conversation/known-contacts';
import { LiveStore } from '../../bot/conversation/live-store';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
import { ConversationService } from '../../bot/conversation/service';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { jobAnswerSink } from '../../workers/answer-sink';
import { jobConversationBackground } from '../../workers/conversation-background';
import { writeContact } from '../../workers/jobs/contact-writer';
import { JobProducer } from '../../workers/producer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * A new citizen's first turn needs no MongoDB at all once the known-contacts filter is complete
 * and the live flow is loaded: it cannot wait behind the workers' writes. Every command the
 * process sends to MongoDB during a turn is recorded (mongoose's debug hook) and listed.
 */
let redis: Redis;
let producer: JobProducer;
let flows: FlowRepository;
const records = mongoConversationRecords();
let updateId = 1;
let ops: string[] = [];

const start = (userId: string): InboundEvent => ({
  channel: 'telegram',
  userId,
  updateId: updateId++,
  input: { kind: 'start' },
});

function serviceOn(prefix: string): ConversationService {
  return new ConversationService({
    flows,
    sink: jobAnswerSink(producer),
    store: new LiveStore(redis, prefix),
    records,
    background: jobConversationBackground(producer),
    resolveToken: async () => ({ ok: false, reason: 'unknown' }),
    log: logger,
  });
}

/** The MongoDB commands `turn` sends, as "collection.method". */
async function mongoDuring<T>(turn: () => Promise<T>): Promise<{ result: T; ops: string[] }> {
  ops = [];
  mongoose.set('debug', (collection: string, method: string) => void ops.push(`${collection}.${method}`));
  try {
    const result = await turn();
    return { result, ops };
  } finally {
    mongoose.set('debug', false);
  }
}

const prefixes: string[] = [];
function freshPrefix(): string {
  const p = testPrefix('firstturn');
  prefixes.push(p);
  return p;
}

beforeAll(async () => {
  await connectTestDb('firstturn');
  redis = testRedis();
  producer = new JobProducer(redis, freshPrefix());
  // A long time to live: no renewal of the live flow in the background while a turn is recorded.
  flows = new FlowRepository(600_000);
  await flows.ensure(defaultFlow);
  // A citizen MongoDB already knows, who wrote in English before.
  await Contact.create({ channel: 'telegram', channelUserId: 'known-1', lang: 'en' });
});

afterAll(async () => {
  await producer.close();
  for (const p of prefixes) await clearPrefix(redis, p);
  redis.disconnect();
  await dropTestDb();
});

test('a new citizen’s /start and first answer send no command to MongoDB once the filter is complete', async () => {
  const prefix = freshPrefix();
  expect(await backfillKnownContacts(redis, prefix, records.contactKeys())).toBe('filled');
  const service = serviceOn(prefix);
  await flows.live('default', null);

  const first = await mongoDuring(() => service.handle(start('new-1')));
  expect(first.ops).toEqual([]);
  // The survey started: the consent question with its buttons.
  expect(first.result.messages.length).toBeGreaterThan(0);
  expect(first.result.lang).toBe('vi');

  const second = await mongoDuring(() =>
    service.handle({
      channel: 'telegram',
      userId: 'new-1',
      updateId: updateId++,
      input: { kind: 'text', text: '1' },
    }),
  );
  expect(second.ops).toEqual([]);
  expect(second.result.messages.length).toBeGreaterThan(0);
});

test('a citizen MongoDB holds is still read: their language comes from their record', async () => {
  const prefix = freshPrefix();
  await backfillKnownContacts(redis, prefix, records.contactKeys());
  const { result, ops: sent } = await mongoDuring(() => serviceOn(prefix).handle(start('known-1')));
  expect(sent).toContain('contacts.findOne');
  expect(result.lang).toBe('en');
});

test('until the filter is complete (a live store that lost its data), a new citizen’s contact is read', async () => {
  const { result, ops: sent } = await mongoDuring(() => serviceOn(freshPrefix()).handle(start('new-2')));
  expect(sent).toContain('contacts.findOne');
  expect(result.messages.length).toBeGreaterThan(0);
});

test('a contact created through the contact writer (a Zalo event, a send) is marked before it is written', async () => {
  const prefix = freshPrefix();
  await backfillKnownContacts(redis, prefix, records.contactKeys());
  // Its job waits in Redis (no worker here): MongoDB has no record yet, the filter knows it.
  await writeContact(
    { redis, prefix },
    {
      contactId: new Types.ObjectId().toHexString(),
      channel: 'telegram',
      userId: 'written-1',
      set: { lang: 'en' },
      created: true,
    },
  );
  const { ops: sent } = await mongoDuring(() => serviceOn(prefix).handle(start('written-1')));
  expect(sent).toContain('contacts.findOne');
});
