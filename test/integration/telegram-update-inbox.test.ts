import { parseSecretsKey } from '../../lib/secret-box';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Update } from 'telegraf/types';
import { UpdateInbox, type UpdateHandler } from '../../bot/channels/telegram/update-inbox';
import { logger } from '../../lib/logger';
import { updatesDeadLettered } from '../../lib/metrics';
import { createProducerConnection } from '../../lib/redis';
import { startOwnRedis } from '../support/fleet';
import { clearPrefix, testPrefix, testRedis } from '../support/services';
import { until as untilAsync } from '../support/until';

/**
 * The inbox is what makes several bot processes sharing Redis apply each chat's updates once and
 * in order. Two UpdateInbox instances with their own Redis connections stand for two processes.
 */
const redis = testRedis();
const prefix = testPrefix('tginbox');
const connections = [redis];
const inboxes: UpdateInbox[] = [];
let nextId = 5000;

function process_(handler: UpdateHandler, opts: ConstructorParameters<typeof UpdateInbox>[5] = {}) {
  const conn = testRedis();
  connections.push(conn);
  const inbox = new UpdateInbox(conn, prefix, '123456', handler, logger, { retryBaseMs: 5, ...opts });
  inboxes.push(inbox);
  return { inbox, conn };
}

function message(chatId: number, id = ++nextId): Update {
  return {
    update_id: id,
    message: {
      message_id: id,
      date: 0,
      chat: { id: chatId, type: 'private', first_name: 'x' },
      from: { id: chatId, is_bot: false, first_name: 'x' },
      text: `m${id}`,
    },
  };
}

/** Records what a handler saw, per chat, with a little async work to widen race windows. */
function recorder() {
  const seen = new Map<string, number[]>();
  const handler: UpdateHandler = async (u) => {
    const chat = String((u as { message?: { chat: { id: number } } }).message?.chat.id ?? 'none');
    await sleep(Math.random() * 3);
    seen.set(chat, [...(seen.get(chat) ?? []), u.update_id]);
  };
  return { seen, handler };
}

async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

afterEach(async () => {
  await Promise.all(inboxes.splice(0).map((i) => i.stop()));
});
afterAll(async () => {
  await clearPrefix(redis, prefix);
  // Not the "crashed" one again: a second disconnect() leaves ioredis waiting 2 s on a closed socket.
  await Promise.all(connections.filter((c) => c.status !== 'end').map((c) => c.quit()));
});

describe('UpdateInbox', () => {
  test('accepts an update_id once and refuses its duplicates', async () => {
    const { inbox } = process_(() => Promise.resolve());
    const u = message(1);
    await expect(inbox.accept(u)).resolves.toEqual({ chatKey: '1' });
    await expect(inbox.accept(u)).resolves.toBe(false);
    expect(await redis.ttl(`${prefix}:tg:123456:seen:${u.update_id}`)).toBeGreaterThan(23 * 3600);
  });

  test('two processes accepting one chat concurrently, out of order and with duplicates apply each update once, in update_id order', async () => {
    const rec = recorder();
    const a = process_(rec.handler);
    const b = process_(rec.handler);
    const updates = Array.from({ length: 30 }, () => message(10));
    const deliveries = shuffle([...updates, ...updates.slice(0, 12)]);
    await Promise.all(deliveries.map((u, i) => (i % 2 ? a : b).inbox.accept(u)));
    // Both processes race to drain, several times each.
    await Promise.all([a, b, a, b, a].map((p) => p.inbox.drain('10')));
    await until(() => (rec.seen.get('10') ?? []).length >= 30);
    expect(rec.seen.get('10')).toEqual(updates.map((u) => u.update_id));
  });

  test('updates that arrive while a drain runs, each delivered twice to both processes at once, are applied once and in order', async () => {
    const rec = recorder();
    const a = process_(rec.handler);
    const b = process_(rec.handler);
    const updates = Array.from({ length: 25 }, () => message(11));
    // As Telegram delivers: a chat's next update after the previous was acknowledged (stored);
    // here each one also reaches both processes concurrently (webhook retry racing the original).
    for (const u of updates) {
      await Promise.all(
        [a, b].map(async (p) => {
          const r = await p.inbox.accept(u);
          if (r) p.inbox.kick(r.chatKey);
          else p.inbox.kick('11');
        }),
      );
    }
    await until(() => (rec.seen.get('11') ?? []).length >= 25);
    await sleep(50);
    expect(rec.seen.get('11')).toEqual(updates.map((u) => u.update_id));
    expect(await redis.zcard(`${prefix}:tg:123456:chat:11`)).toBe(0);
  });

  test('different chats proceed in parallel: a slow chat does not hold up another', async () => {
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    const order: string[] = [];
    const handler: UpdateHandler = async (u) => {
      const chat = (u as { message: { chat: { id: number } } }).message.chat.id;
      if (chat === 20) await slowGate;
      order.push(`${chat}:${u.update_id}`);
      // The fast chat finishing is what lets the slow one go: serialised chats would deadlock.
      if (chat === 21) releaseSlow();
    };
    const a = process_(handler);
    const slow = message(20);
    const fast = message(21);
    await a.inbox.accept(slow);
    await a.inbox.accept(fast);
    a.inbox.kick('20');
    a.inbox.kick('21');
    await until(() => order.length === 2, 5_000);
    expect(order).toEqual([`21:${fast.update_id}`, `20:${slow.update_id}`]);
  });

  test("an update failing for longer than the old 3 s (a database outage) is retried later without holding its chat, then applied before the chat's next update", async () => {
    const failUntil = Date.now() + 4_000;
    let attempts = 0;
    const applied: number[] = [];
    const failing = message(30);
    const next = message(30);
    const other = message(31);
    const handler: UpdateHandler = async (u) => {
      await sleep(0);
      if (u.update_id === failing.update_id && Date.now() < failUntil) {
        attempts++;
        throw new Error('MongoServerSelectionError: connection refused');
      }
      applied.push(u.update_id);
    };
    const a = process_(handler, { retryBaseMs: 50, retryMaxDelayMs: 400, retryForMs: 60_000 });
    for (const u of [failing, next]) await a.inbox.accept(u);
    a.inbox.kick('30');
    await until(() => attempts >= 2);
    // Between attempts the chat's lock is free (nobody busy-waits on it) and other chats go on.
    let lockFreeSeen = false;
    for (let i = 0; i < 100 && !lockFreeSeen; i++) {
      lockFreeSeen = (await redis.exists(`${prefix}:tg:123456:lock:30`)) === 0;
      await sleep(10);
    }
    expect(lockFreeSeen).toBe(true);
    await a.inbox.accept(other);
    a.inbox.kick('31');
    await until(() => applied.includes(other.update_id), 2_000);
    expect(applied).toEqual([other.update_id]);
    // A webhook's kick while the head waits applies nothing out of order.
    a.inbox.kick('30');
    await until(() => applied.length === 3, 10_000);
    expect(applied).toEqual([other.update_id, failing.update_id, next.update_id]);
    expect(attempts).toBeGreaterThan(5);
    expect(await a.inbox.deadLetters.get(failing.update_id)).toBeNull();
    expect(await redis.exists(`${prefix}:tg:123456:retry:30`)).toBe(0);
    expect(await a.inbox.pendingChats()).not.toContain('30');
  });

  test('past its retry window an update becomes a dead letter that expires and keeps no personal data, counted, and the chat goes on', async () => {
    const applied: number[] = [];
    const poison: Update = {
      update_id: ++nextId,
      message: {
        message_id: 1,
        date: 0,
        chat: { id: 32, type: 'private', first_name: 'Nguyễn', last_name: 'Văn A', username: 'nva_hue' },
        from: {
          id: 32,
          is_bot: false,
          first_name: 'Nguyễn',
          last_name: 'Văn A',
          username: 'nva_hue',
          language_code: 'vi',
        },
        text: 'Tôi là Nguyễn Văn A, số 0912345678',
      },
    } as Update;
    const after = message(32);
    const handler: UpdateHandler = async (u) => {
      await sleep(0);
      if (u.update_id === poison.update_id) throw new TypeError('always');
      applied.push(u.update_id);
    };
    const before =
      (await updatesDeadLettered.get()).values.find((v) => v.labels.channel === 'telegram')?.value ?? 0;
    const a = process_(handler, {
      retryBaseMs: 20,
      retryMaxDelayMs: 50,
      retryForMs: 300,
      deadLetterTtlS: 3600,
    });
    for (const u of [poison, after]) await a.inbox.accept(u);
    a.inbox.kick('32');
    await until(() => applied.length === 1, 5_000);
    expect(applied).toEqual([after.update_id]);
    const [letter] = await a.inbox.deadLetters.list();
    expect(letter).toMatchObject({
      updateId: poison.update_id,
      chatKey: '32',
      chatType: 'private',
      lang: 'vi',
      error: 'TypeError',
      input: { kind: 'text', sealed: null },
    });
    expect(letter.attempts).toBeGreaterThan(1);
    const stored = (await redis.get(a.inbox.deadLetters.letterKey(poison.update_id)))!;
    for (const personal of ['Nguyễn', 'Văn A', 'nva_hue', '0912345678', 'Tôi là'])
      expect(stored).not.toContain(personal);
    const ttl = await redis.ttl(a.inbox.deadLetters.letterKey(poison.update_id));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await redis.ttl(a.inbox.deadLetters.indexKey)).toBeGreaterThan(3500);
    const after_ =
      (await updatesDeadLettered.get()).values.find((v) => v.labels.channel === 'telegram')?.value ?? 0;
    expect(after_ - before).toBe(1);
    expect(await a.inbox.pendingChats()).not.toContain('32');
  });

  test('a replayed dead letter is applied at its place: a command with its token, a button, a typed text only when it was sealed', async () => {
    const key = parseSecretsKey(randomBytes(32).toString('hex'));
    let failing = true;
    const seen: Update[] = [];
    const handler: UpdateHandler = async (u) => {
      await sleep(0);
      if (failing) throw new Error('down');
      seen.push(u);
    };
    const sealed = process_(handler, {
      retryBaseMs: 10,
      retryMaxDelayMs: 10,
      retryForMs: 0,
      secretsKey: key,
    });
    const plain = process_(handler, { retryBaseMs: 10, retryMaxDelayMs: 10, retryForMs: 0 });
    const start = { ...message(33), update_id: ++nextId } as Update & { message: { text: string } };
    start.message.text = '/start AbC_def-123456789012345';
    const typed = message(33);
    const tap = {
      update_id: ++nextId,
      callback_query: {
        id: 'cq1',
        from: { id: 34, is_bot: false, first_name: 'x' },
        chat_instance: 'ci',
        data: 'p:3:q1:5',
        message: { message_id: 77, date: 0, chat: { id: 34, type: 'private', first_name: 'x' }, text: 'q' },
      },
    } as unknown as Update;
    const lost = message(35);
    for (const u of [start, typed, tap]) await sealed.inbox.accept(u);
    await plain.inbox.accept(lost);
    await sealed.inbox.drain('33');
    await sealed.inbox.drain('34');
    await plain.inbox.drain('35');
    const mine = new Set([start, typed, tap, lost].map((u) => u.update_id));
    const letters = (await sealed.inbox.deadLetters.list()).filter((l) => mine.has(l.updateId));
    expect(letters.map((l) => [l.updateId, l.input.kind])).toEqual([
      [start.update_id, 'command'],
      [typed.update_id, 'text'],
      [tap.update_id, 'button'],
      [lost.update_id, 'text'],
    ]);
    expect(JSON.stringify(letters)).not.toContain((typed as { message: { text: string } }).message.text);
    failing = false;
    for (const l of letters) {
      const inbox = l.updateId === lost.update_id ? plain.inbox : sealed.inbox;
      expect(await inbox.replayDeadLetter(l.updateId)).toBe(true);
      expect(await inbox.replayDeadLetter(l.updateId)).toBe(false);
    }
    expect((await sealed.inbox.deadLetters.list()).filter((l) => mine.has(l.updateId))).toEqual([]);
    // The bot's sweeper applies what an operator replayed.
    sealed.inbox.startSweeper(50);
    // (Other chats this file left queued are swept too.)
    await until(() => seen.filter((u) => mine.has(u.update_id)).length === 4, 5_000);
    const byId = new Map(
      seen.map((u) => [u.update_id, u as unknown as Record<string, Record<string, unknown>>]),
    );
    expect(byId.get(start.update_id)!.message).toMatchObject({ text: start.message.text, chat: { id: 33 } });
    expect(byId.get(typed.update_id)!.message).toMatchObject({
      text: (typed as { message: { text: string } }).message.text,
    });
    expect(byId.get(tap.update_id)!.callback_query).toMatchObject({
      data: 'p:3:q1:5',
      message: { message_id: 77, chat: { id: 34 } },
    });
    expect(byId.get(lost.update_id)!.message.text).toBeUndefined();
    expect(byId.get(lost.update_id)!.hailong_replay).toEqual({ textLost: true });
  });

  test('dead letters of the old kind (raw updates, kept forever) are converted when the sweeper starts, and the old list is deleted', async () => {
    const u = message(36);
    await redis.lpush(
      `${prefix}:tg:123456:dead`,
      JSON.stringify({
        chatKey: '36',
        updateId: u.update_id,
        error: 'Error',
        at: Date.now(),
        update: JSON.stringify(u),
      }),
    );
    const a = process_(() => Promise.resolve(), { deadLetterTtlS: 600 });
    a.inbox.startSweeper(10_000);
    await untilAsync(
      async () => (await a.inbox.deadLetters.get(u.update_id)) !== null,
      'the converted letter',
    );
    expect(await redis.exists(`${prefix}:tg:123456:dead`)).toBe(0);
    const letter = await a.inbox.deadLetters.get(u.update_id);
    expect(letter).toMatchObject({ chatKey: '36', input: { kind: 'text', sealed: null } });
    expect(await redis.ttl(a.inbox.deadLetters.letterKey(u.update_id))).toBeGreaterThan(0);
  });

  test('applies an update without a chat right away', async () => {
    const seen: number[] = [];
    const a = process_((u) => {
      seen.push(u.update_id);
      return Promise.resolve();
    });
    const poll = {
      update_id: ++nextId,
      poll: {
        id: 'p',
        question: 'q',
        options: [],
        total_voter_count: 0,
        is_closed: false,
        is_anonymous: true,
        type: 'regular',
        allows_multiple_answers: false,
      },
    } as unknown as Update;
    const r = await a.inbox.accept(poll);
    expect(r).toEqual({ chatKey: `u${poll.update_id}` });
    a.inbox.kick((r as { chatKey: string }).chatKey);
    await until(() => seen.length === 1);
    expect(seen).toEqual([poll.update_id]);
  });

  test("a drain that crashed mid-update (lock held, handler never finished) is recovered by the other process's sweeper after the lock expires", async () => {
    let releaseStuck!: () => void;
    const stuck = new Promise<void>((r) => (releaseStuck = r));
    const crashedSaw: number[] = [];
    const crashed = process_(
      async (u) => {
        crashedSaw.push(u.update_id);
        await stuck;
      },
      { lockMs: 300 },
    );
    const rec = recorder();
    const survivor = process_(rec.handler, { lockMs: 300 });
    const updates = [message(40), message(40), message(40)];
    for (const u of updates) await crashed.inbox.accept(u);
    const crashedDrain = crashed.inbox.drain('40').catch(() => 'connection lost');
    await until(() => crashedSaw.length === 1);
    // The process "dies": its Redis connection is gone, so its lock is no longer renewed.
    crashed.conn.disconnect();
    survivor.inbox.startSweeper(50);
    expect(await redis.exists(`${prefix}:tg:123456:lock:40`)).toBe(1);
    await until(() => (rec.seen.get('40') ?? []).length === 3, 5_000);
    // At-least-once: the update in flight during the crash is applied again, then the rest, in order.
    expect(rec.seen.get('40')).toEqual(updates.map((u) => u.update_id));
    expect(crashedSaw).toEqual([updates[0].update_id]);
    releaseStuck();
    await crashedDrain;
    expect(await redis.zcard(`${prefix}:tg:123456:chat:40`)).toBe(0);
  });

  test('stop() waits for the drain in progress and takes no more work', async () => {
    let finished = 0;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const a = process_(async () => {
      started();
      await sleep(30);
      finished++;
    });
    await a.inbox.accept(message(50));
    a.inbox.kick('50');
    // Once the update is being handled (a fixed sleep here failed under load: the drain had not
    // started yet when stop() came).
    await running;
    await a.inbox.stop();
    expect(finished).toBe(1);
    await a.inbox.accept(message(50));
    a.inbox.kick('50');
    await sleep(50);
    expect(finished).toBe(1);
    expect(await a.inbox.pendingChats()).toContain('50');
  });

  test('Redis restarting just after a handler succeeded: the applied update is recorded once Redis is back, not applied (and its replies sent) again', async () => {
    const own = await startOwnRedis();
    // The bot's own connection kind: commands fail after 3 reconnection attempts.
    const conn = createProducerConnection({
      REDIS_URL: own.url,
      REDIS_CLUSTER_NODES: undefined,
      REDIS_PASSWORD: undefined,
    });
    const inbox = new UpdateInbox(conn, prefix, '123456', () => Promise.resolve(), logger, {
      retryBaseMs: 5,
    });
    inboxes.push(inbox);
    const restart: { done: Promise<void> | null } = { done: null };
    const applied: number[] = [];
    try {
      await inbox.accept(message(60));
      await inbox.accept(message(60));
      await inbox.drain('60', async (u) => {
        applied.push(u.update_id);
        // Down for 1.5 s from the moment the turn's replies would have gone out.
        if (applied.length === 1) {
          restart.done = own.restart(1500);
          await untilAsync(() => conn.status !== 'ready', 'the connection sees Redis gone');
        }
      });
      await restart.done;
      await untilAsync(async () => !(await inbox.pendingChats()).includes('60'), 'chat 60 drained');
      expect(applied).toEqual([nextId - 1, nextId]);
    } finally {
      await inbox.stop();
      conn.disconnect();
      await own.stop();
    }
  });
});
