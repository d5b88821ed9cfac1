import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../lib/logger';
import { createTelegramClient } from '../../bot/channels/telegram/api-client';
import { Broadcast } from '../../models/broadcast';
import { Contact } from '../../models/contact';
import {
  cancelBroadcast,
  createBroadcast,
  pauseBroadcast,
  resumeBroadcast,
  type ControlDeps,
} from '../../workers/broadcast/control';
import { broadcastProgress } from '../../workers/broadcast/progress';
import { controlKey } from '../../workers/broadcast/queues';
import type { BroadcastWorkers } from '../../workers/broadcast/start';
import { FakeTelegram, type RecordedCall } from '../fakes/telegram-server';
import { startTestBroadcastWorkers, waitBroadcastStatus } from '../support/broadcasts';
import { startContactWriter } from '../support/contact-writer';
import { maxPerSecond } from '../support/rate';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * Broadcast delivery against the fake Telegram Bot API, with real Redis, BullMQ and the
 * MongoDB-compatible server. The 10,000-recipient run uses a limit above what one process with
 * the fake server sustains on a small CI machine (so it takes as long as the machine needs, not
 * 10,000 / limit seconds); the fake enforces the same limit and records every call with its own
 * clock. The rate bound itself is proven by a short run at Telegram's free limit (30/s) with
 * network jitter, in broadcast-rate.test.ts. Waits are generous and poll with cheap predicates
 * (the fake and the workers share this process: a predicate scanning every call each 5 ms
 * starved the workers).
 */
const LIMIT = 2000;
const CONCURRENCY = 64;
const N = 10_000;
const CONVERSATION_CHAT = 555_000_001;

const redis = testRedis();
const prefix = testPrefix('broadcast');
let fake: FakeTelegram;
let workers: BroadcastWorkers;
let deps: ControlDeps;
let writer: Awaited<ReturnType<typeof startContactWriter>>;

async function seed(tag: string, count: number, base: number): Promise<number[]> {
  const ids = Array.from({ length: count }, (_, i) => base + i);
  for (let i = 0; i < ids.length; i += 2000) {
    await Contact.insertMany(
      ids.slice(i, i + 2000).map((id) => ({
        channel: 'telegram',
        channelUserId: String(id),
        consentAt: new Date(),
        lang: id % 10 === 0 ? 'en' : 'vi',
        unitCodes: ['X1'],
        tags: [tag],
      })),
      { ordered: false },
    );
  }
  return ids;
}

async function waitFinished(id: string, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Broadcast.findById(id, { finishedAt: 1 }).lean())?.finishedAt) {
    if (Date.now() > until) throw new Error(`broadcast ${id} never finished`);
    await sleep(100);
  }
}

const broadcastCalls = (tagIds: Set<string>): RecordedCall[] =>
  fake.calls.filter((c) => c.method === 'sendMessage' && tagIds.has(String(c.params.chat_id)));

/** A predicate over the fake's calls that only looks at calls recorded since its last look. */
function callsCounter(match: (c: RecordedCall) => boolean): () => number {
  let i = 0;
  let n = 0;
  return () => {
    for (; i < fake.calls.length; i++) if (match(fake.calls[i]!)) n++;
    return n;
  };
}

jest.setTimeout(600_000);

beforeAll(async () => {
  await connectTestDb('broadcast');
  fake = await FakeTelegram.start();
  fake.rateLimit = { globalPerSecond: LIMIT, retryAfter: 1 };
  const started = await startTestBroadcastWorkers(fake, redis, prefix, {
    limits: { telegram: { limitPerS: LIMIT, concurrency: CONCURRENCY } },
  });
  workers = started.workers;
  deps = { redis, prefix, queues: workers.queues, env: started.env };
  // Blocked recipients are marked through the one contact writer (ingest workers).
  writer = await startContactWriter(redis, prefix);
});

afterEach(() => {
  fake.sendLatencyMs = null;
});

afterAll(async () => {
  await writer.close();
  await workers.close();
  await fake.close();
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

test('10,000 recipients: each reachable contact gets exactly one message, blocked ones are marked, never above the limit, a 429 pauses the channel, survey replies still go out', async () => {
  const ids = await seed('big', N, 1_000_000);
  // Never targeted: no consent, unsubscribed, blocked earlier, another tag, web chat.
  await Contact.insertMany([
    { channel: 'telegram', channelUserId: '900001', consentAt: null, tags: ['big'] },
    {
      channel: 'telegram',
      channelUserId: '900002',
      consentAt: new Date(),
      unsubscribedAt: new Date(),
      tags: ['big'],
    },
    {
      channel: 'telegram',
      channelUserId: '900003',
      consentAt: new Date(),
      blockedAt: new Date(),
      tags: ['big'],
    },
    { channel: 'telegram', channelUserId: '900004', consentAt: new Date(), tags: ['other'] },
    { channel: 'web', channelUserId: '900005', consentAt: new Date(), tags: ['big'] },
  ]);
  const blocked = ids.filter((id) => id % 97 === 0);
  blocked.forEach((id, i) =>
    fake.block(id, i % 3 === 0 ? 'blocked' : i % 3 === 1 ? 'deactivated' : 'not_found'),
  );
  const reachable = ids.filter((id) => id % 97 !== 0);

  const created = await createBroadcast(
    {
      text: 'Mời Ông/Bà đánh giá <dịch vụ> & góp ý',
      textEn: 'Please rate our service',
      buttons: [{ text: 'Khảo sát', url: 'https://example.gov.vn/s' }],
      target: { tags: ['big'], channels: ['telegram'] },
      createdBy: 'staff-a',
    },
    deps,
  );
  expect(created.recipients.byChannel.telegram).toBe(N);

  // A 429 a third of the way through.
  await fake.waitFor(() => fake.sent.length >= 3000, 300_000, '3000 sends');
  fake.failNext('sendMessage', { code: 429, retryAfter: 1 });

  // A survey reply while the broadcast runs: its own client, its own path.
  const refused = callsCounter((c) => c.outcome === 429);
  await fake.waitFor(() => refused() > 0, 300_000, 'the 429');
  const conversation = createTelegramClient({
    token: fake.token,
    apiRoot: fake.apiRoot,
    maxRetries: 3,
    maxRetryAfterS: 5,
    log: logger,
  });
  await fake.waitFor(() => fake.sent.length >= 6000, 300_000, '6000 sends');
  await conversation.sendMessage(CONVERSATION_CHAT, 'Câu hỏi tiếp theo');

  await waitBroadcastStatus(created.id, ['completed'], 300_000);
  const tagIds = new Set(ids.map(String));
  const calls = broadcastCalls(tagIds);

  // Exactly one message per reachable contact, none to anybody else.
  const perChat = new Map<string, number>();
  for (const s of fake.sent) perChat.set(s.chatId, (perChat.get(s.chatId) ?? 0) + 1);
  expect(reachable.filter((id) => perChat.get(String(id)) !== 1)).toEqual([]);
  expect(['900001', '900002', '900003', '900004', '900005'].filter((c) => perChat.has(c))).toEqual([]);
  expect(blocked.filter((id) => perChat.has(String(id)))).toEqual([]);

  // English for contacts who chose it; escaped HTML, the unsubscribe line and button for all.
  const vi = fake.sentTo(1_000_001)[0]!;
  expect(vi.text).toContain('Mời Ông/Bà đánh giá &lt;dịch vụ&gt; &amp; góp ý');
  expect(vi.text).toContain('/stop');
  expect(vi.replyMarkup?.inline_keyboard.flat().map((b) => b.callback_data ?? b.url)).toEqual([
    'https://example.gov.vn/s',
    'stop',
  ]);
  expect(fake.sentTo(1_000_010)[0]!.text).toContain('Please rate our service');

  // Blocked recipients: marked in the report and unsubscribed, each tried once.
  await writer.settled();
  expect(
    await Contact.countDocuments({
      channelUserId: { $in: blocked.map(String) },
      unsubscribedAt: { $ne: null },
    }),
  ).toBe(blocked.length);
  for (const id of blocked)
    expect(calls.filter((c) => String(c.params.chat_id) === String(id)).length).toBe(1);

  // Never above the limit in any 1 s window (fake's clock), and the fake never had to refuse.
  expect(maxPerSecond(calls.map((c) => c.at))).toBeLessThanOrEqual(LIMIT);
  const refusals = calls.filter((c) => c.outcome === 429);
  expect(refusals).toHaveLength(1);

  // The 429 paused the whole channel for retry_after: only sends already in flight went out.
  const t429 = refusals[0]!.at;
  const duringPause = calls.filter((c) => c.at > t429 && c.at < t429 + 1000).length;
  expect(duringPause).toBeLessThanOrEqual(CONCURRENCY);
  expect(calls.filter((c) => c.at >= t429 + 1000).length).toBeGreaterThan(0);

  // The survey reply went out while the broadcast was still sending.
  const reply = fake.calls.find((c) => String(c.params.chat_id) === String(CONVERSATION_CHAT))!;
  expect(reply.outcome).toBe('ok');
  expect(calls.filter((c) => c.at > reply.at).length).toBeGreaterThan(0);

  const progress = (await broadcastProgress(created.id, redis, prefix))!;
  expect(progress.counts).toMatchObject({
    sent: reachable.length,
    blocked: blocked.length,
    failed: 0,
    queued: 0,
    sending: 0,
  });
  expect(progress.blockedReasons).toMatchObject({
    blocked: expect.any(Number),
    deactivated: expect.any(Number),
    chat_not_found: expect.any(Number),
  });
  expect(progress.inFlightAtCrash).toBe(0);
  console.log(
    `10k broadcast: max ${maxPerSecond(calls.map((c) => c.at))}/s of ${LIMIT}, ${duringPause} in flight during the 429 pause`,
  );
}, 600_000);

test('after a cancel is acknowledged nothing more is sent except what was in flight', async () => {
  const ids = await seed('cancel', 2000, 2_000_000);
  const tagIds = new Set(ids.map(String));
  // Slow platform (0.5-1 s per call, ~85 calls/s at this concurrency): the broadcast must still
  // be running when the cancel lands, however slow the cancel's MongoDB writes are on CI.
  fake.sendLatencyMs = { min: 500, max: 1000 };
  const created = await createBroadcast(
    { text: 'Huỷ giữa chừng', target: { tags: ['cancel'] }, createdBy: 'staff-a' },
    deps,
  );
  const sent = callsCounter((c) => c.method === 'sendMessage' && tagIds.has(String(c.params.chat_id)));
  await fake.waitFor(() => sent() >= 200, 300_000, '200 sends');
  const result = await cancelBroadcast(created.id, deps);
  const ackAt = Date.now();
  expect(result.cancelled).toBe(true);
  await sleep(500);
  const after = broadcastCalls(tagIds).filter((c) => c.at > ackAt).length;
  expect(after).toBeLessThanOrEqual(result.inFlight);
  await waitBroadcastStatus(created.id, ['cancelled'], 300_000);
  // The cancel's in-flight sends settle, then the finisher records the report.
  await waitFinished(created.id);
  const progress = (await broadcastProgress(created.id, redis, prefix))!;
  expect(progress.status).toBe('cancelled');
  expect(progress.counts).toMatchObject({ queued: 0, sending: 0 });
  expect(progress.counts.cancelled).toBeGreaterThan(0);
  expect(progress.counts.sent + progress.counts.cancelled).toBe(progress.recipients);
  expect(progress.counts.sent).toBe(broadcastCalls(tagIds).length);
}, 600_000);

test('a paused broadcast sends nothing until resumed, then finishes with one message each', async () => {
  const ids = await seed('pause', 1500, 3_000_000);
  const tagIds = new Set(ids.map(String));
  fake.sendLatencyMs = { min: 500, max: 1000 }; // still running when the pause lands (see cancel)
  const created = await createBroadcast(
    { text: 'Tạm dừng rồi tiếp tục', target: { tags: ['pause'] }, createdBy: 'staff-a' },
    deps,
  );
  const sent = callsCounter((c) => c.method === 'sendMessage' && tagIds.has(String(c.params.chat_id)));
  await fake.waitFor(() => sent() >= 150, 300_000, '150 sends');
  expect(await pauseBroadcast(created.id, deps)).toBe(true);
  // In-flight sends settle; then nothing more may go out while paused.
  for (let i = 0; (await broadcastProgress(created.id, redis, prefix))!.counts.sending > 0; i++) {
    if (i > 600) throw new Error('in-flight sends never settled');
    await sleep(50);
  }
  const atPause = broadcastCalls(tagIds).length;
  await sleep(1000);
  expect(broadcastCalls(tagIds).length).toBe(atPause);
  expect(atPause).toBeLessThan(ids.length);
  expect((await broadcastProgress(created.id, redis, prefix))!.status).toBe('paused');

  expect(await resumeBroadcast(created.id, deps)).toBe(true);
  await waitBroadcastStatus(created.id, ['completed'], 300_000);
  const perChat = new Map<string, number>();
  for (const c of broadcastCalls(tagIds))
    perChat.set(String(c.params.chat_id), (perChat.get(String(c.params.chat_id)) ?? 0) + 1);
  expect(ids.filter((id) => perChat.get(String(id)) !== 1)).toEqual([]);
}, 600_000);

test('a pause loses to a cancel and to a finished broadcast: refused, and the control key is left as it was', async () => {
  await seed('late', 3, 4_000_000);
  const done = await createBroadcast(
    { text: 'Đã xong', target: { tags: ['late'] }, createdBy: 'staff-a' },
    deps,
  );
  await waitBroadcastStatus(done.id, ['completed'], 300_000);
  const doneKey = await redis.get(controlKey(prefix, done.id));
  expect(await pauseBroadcast(done.id, deps)).toBe(false);
  expect(await redis.get(controlKey(prefix, done.id))).toBe(doneKey);
  expect((await Broadcast.findById(done.id).lean())!.status).toBe('completed');

  fake.sendLatencyMs = { min: 500, max: 1000 };
  await seed('gone', 300, 4_100_000);
  const gone = await createBroadcast(
    { text: 'Huỷ trước', target: { tags: ['gone'] }, createdBy: 'staff-a' },
    deps,
  );
  expect((await cancelBroadcast(gone.id, deps)).cancelled).toBe(true);
  expect(await pauseBroadcast(gone.id, deps)).toBe(false);
  expect(await redis.get(controlKey(prefix, gone.id))).toBe('cancelled');
  // The status follows (at once on MongoDB; on FerretDB the fan-out's concurrent update can
  // rewrite the cancel's status write, and the finisher restores it from the control key).
  await waitBroadcastStatus(gone.id, ['cancelled'], 300_000);
}, 600_000);
