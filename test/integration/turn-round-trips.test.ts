import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import type { InboundEvent } from '../../bot/channels/channel';
import { backfillKnownContacts } from '../../bot/conversation/known-contacts';
import { LiveStore } from '../../bot/conversation/live-store';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
import { ConversationService } from '../../bot/conversation/service';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { logger } from '../../lib/logger';
import { jobAnswerSink } from '../../workers/answer-sink';
import { jobConversationBackground } from '../../workers/conversation-background';
import { JobProducer } from '../../workers/producer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * How many times a turn waits for Redis, counted: every wait is a wake-up of Redis and of the
 * bot on the turn's path, which on a loaded host is where its latency goes (bench/RESULTS.md,
 * "bot-turns, what a turn costs, 2026-12-02"). A round trip starts when a command is sent while
 * none is in flight; the commands of a pipeline or a transaction are one. The bounds are today's
 * counts: a change that adds a wait to a citizen's turn fails here and has to say why, here.
 * MongoDB is not on the path at all (first-turn-no-mongo.test.ts shows it command by command;
 * here the whole survey of a new citizen is checked).
 */
let redis: Redis;
let producer: JobProducer;
let prefix: string;
let service: ConversationService;
let updateId = 1;
let mongoOps: string[] = [];

/** Round trips and commands sent on `redis` while `run` runs. */
let counting = false;
let inFlight = 0;
let roundTrips = 0;
let commands = 0;
async function waitsOf<T>(
  run: () => Promise<T>,
): Promise<{ result: T; roundTrips: number; commands: number }> {
  roundTrips = 0;
  commands = 0;
  counting = true;
  try {
    const result = await run();
    return { result, roundTrips, commands };
  } finally {
    counting = false;
  }
}

const SURVEY: InboundEvent['input'][] = [
  { kind: 'start' },
  ...['1', '5', '4', '5', '3', '5', '4', 'bỏ qua'].map((text) => ({ kind: 'text' as const, text })),
];

async function survey(
  userId: string,
): Promise<Array<{ roundTrips: number; commands: number; messages: number }>> {
  const out = [];
  for (const input of SURVEY) {
    const { result, ...w } = await waitsOf(() =>
      service.handle({ channel: 'telegram', userId, updateId: updateId++, input }),
    );
    out.push({ ...w, messages: result.messages.length });
  }
  return out;
}

beforeAll(async () => {
  await connectTestDb('roundtrips');
  redis = testRedis();
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: unknown) => {
    if (counting) {
      if (inFlight === 0) roundTrips++;
      commands++;
      inFlight++;
      const done = () => void inFlight--;
      (command as unknown as { promise: Promise<unknown> }).promise.then(done, done);
    }
    return (send as (...a: unknown[]) => unknown)(command, stream);
  }) as Redis['sendCommand'];
  prefix = testPrefix('roundtrips');
  producer = new JobProducer(redis, prefix);
  // A long time to live: no renewal of the live flow in the background while turns are counted.
  const flows = new FlowRepository(600_000);
  await flows.ensure(defaultFlow);
  const records = mongoConversationRecords();
  expect(await backfillKnownContacts(redis, prefix, records.contactKeys())).toBe('filled');
  await flows.live('default', null);
  service = new ConversationService({
    flows,
    sink: jobAnswerSink(producer),
    store: new LiveStore(redis, prefix),
    records,
    background: jobConversationBackground(producer),
    resolveToken: async () => ({ ok: false, reason: 'unknown' }),
    log: logger,
  });
  // BullMQ loads its scripts on first use: not a turn's cost.
  await survey('warm-up');
});

afterAll(async () => {
  await producer.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a new citizen’s survey: round trips to Redis per turn within today’s counts, no MongoDB command', async () => {
  mongoose.set(
    'debug',
    (collection: string, method: string) => void mongoOps.push(`${collection}.${method}`),
  );
  let turns;
  try {
    mongoOps = [];
    turns = await survey('new-citizen-1');
  } finally {
    mongoose.set('debug', false);
  }
  expect(mongoOps).toEqual([]);
  // Every turn answered (the question, the thanks at the end).
  for (const t of turns) expect(t.messages).toBeGreaterThan(0);
  // The first turn (3): the turn's context; the contact cached, marked known, its "last
  // interaction" throttle started and its "no active session" mark (one pipeline), sent together
  // with its creation (marked known again in the same transaction as the change) and the
  // change's job; the new session saved with its copy's job (sent together). It was 9 while the
  // contact writer's mark and the throttle's SET each waited on their own, 7 while the "no active
  // session" mark and the copy's job did, 5 while the cache, the change and its job waited one
  // after the other. The consent turn (4) also records the consent through the contact writer
  // (the change and its job sent together). Every answer (4): the context, the session read, the
  // answers' batch job, the session saved with its copy's job.
  expect(turns.map((t) => t.roundTrips)).toEqual(
    TODAY.map((bound, i) => Math.min(bound, turns[i]!.roundTrips)),
  );
});

/** Round trips per turn of the survey today: /start, consent, six answers, the skipped suggestion. */
const TODAY = [3, 4, 4, 4, 4, 4, 4, 4, 4];
