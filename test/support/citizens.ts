import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryOptions, FakeTelegram, SentMessage } from '../fakes/telegram-server';
import type { FakeZaloServer } from '../fakes/zalo-server';

/**
 * Simulated citizens for the fault tests: each answers the default survey through the fake
 * Telegram with answers of its own (a vector of six values in 3..5, none of which asks "why?"),
 * so what they sent can be reconciled with what the database holds (test/support/reconcile.ts)
 * without linking a response to a chat (responses are kept apart from contacts).
 */
export const QUESTIONS = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'] as const;

/** Citizen i's answers: distinct for i < 3^6 = 729. */
export function answersOf(i: number): number[] {
  return QUESTIONS.map((_, q) => 3 + (Math.floor(i / 3 ** q) % 3));
}

export interface SurveyOptions {
  /** The unit whose poster the citizen scanned (`/start u_<unit>`). */
  unitCode: string;
  /** How long one reply may take (faults make replies late, never lost). */
  replyTimeoutMs?: number;
  /** Called before each turn with its index (0: /start … 7: the suggestion): a test injects a fault there. */
  beforeTurn?: (turn: number) => Promise<void> | void;
  /** How each update is delivered (e.g. `{ copies: 2, concurrent: true }`: twice, racing). */
  delivery?: DeliveryOptions;
  /** Collects the update_id of each turn. */
  updateIds?: number[];
}

/** Messages to a chat from index `from` on, cheaply (the fake's list of every message grows). */
function newMessages(fake: FakeTelegram, chat: number, seen: { at: number }): SentMessage[] {
  const out: SentMessage[] = [];
  const id = String(chat);
  for (let i = seen.at; i < fake.sent.length; i++) if (fake.sent[i]!.chatId === id) out.push(fake.sent[i]!);
  return out;
}

async function waitMessage(
  fake: FakeTelegram,
  chat: number,
  from: number,
  match: (m: SentMessage) => boolean,
  timeoutMs: number,
  what: string,
  updateId: number,
): Promise<SentMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = newMessages(fake, chat, { at: from }).find(match);
    if (m) return m;
    if (Date.now() > deadline) {
      // What the test needs to explain it: how the update was delivered, what the chat last got.
      const deliveries = fake.webhookDeliveries.filter((d) => d.updateId === updateId).map((d) => d.status);
      const last = fake
        .sentTo(chat)
        .slice(-2)
        .map((x) => x.text.slice(0, 40));
      const cq =
        (fake.updates.get(updateId)?.callback_query as { id?: string; data?: string } | undefined) ?? null;
      const acks = fake.calls
        .filter((c) => c.method === 'answerCallbackQuery' && cq && c.params.callback_query_id === cq.id)
        .map((c) => `${String(c.outcome)} ${String(c.params.text ?? '')}`);
      const calls = fake.calls
        .filter((c) => String(c.params.chat_id) === String(chat))
        .slice(-4)
        .map((c) => `${c.method} ${String(c.outcome)}`);
      throw new Error(
        `citizen ${chat}: no ${what} within ${timeoutMs} ms (update ${updateId} delivered: ${JSON.stringify(deliveries)}; last messages: ${JSON.stringify(last)}; tap ${cq?.data ?? '-'} answered ${JSON.stringify(acks)}; last calls ${JSON.stringify(calls)})`,
      );
    }
    await sleep(50);
  }
}

const buttonOf = (m: SentMessage, label: string) =>
  m.replyMarkup?.inline_keyboard.flat().find((b) => b.text.startsWith(label) && b.callback_data);

/**
 * One whole survey: /start u_<unit>, consent, q1–q6 with `answers`, the suggestion skipped (9
 * turns). Each question is recognised by its own text ("Câu k/7") and answered by a press of
 * that message's button, so a reply the bot sent twice (at-least-once after a crash) is not
 * taken for the next question.
 */
export async function answerSurvey(
  fake: FakeTelegram,
  chat: number,
  answers: readonly number[],
  o: SurveyOptions,
): Promise<void> {
  const timeout = o.replyTimeoutMs ?? 60_000;
  const u = fake.user(chat);
  const d = o.delivery ?? {};
  const turn = async (
    n: number,
    send: () => Promise<number>,
    what: string,
    match: (m: SentMessage) => boolean,
  ) => {
    const from = fake.sent.length;
    await o.beforeTurn?.(n);
    const id = await send();
    o.updateIds?.push(id);
    return waitMessage(fake, chat, from, match, timeout, what, id);
  };
  let msg = await turn(
    0,
    () => u.command('/start', `u_${o.unitCode}`, d),
    'consent question',
    (m) => Boolean(buttonOf(m, 'Đồng ý')),
  );
  for (let q = 0; q <= QUESTIONS.length; q++) {
    const label = q === 0 ? 'Đồng ý' : `${answers[q - 1]}.`;
    const button = buttonOf(msg, label);
    if (!button) throw new Error(`citizen ${chat}: no button ${label} on ${msg.text.slice(0, 40)}`);
    const pressed = msg;
    const next = q < QUESTIONS.length ? `Câu ${q + 1}/7` : 'Câu 7/7';
    msg = await turn(
      q + 1,
      () => u.tap(button.callback_data!, pressed.messageId, d),
      next,
      (m) => m.text.startsWith(next),
    );
  }
  await turn(
    8,
    () => u.send('bỏ qua', d),
    'thank-you',
    (m) => m.text.includes('Trân trọng cảm ơn'),
  );
}

/** Runs `count` citizens (chats base, base+1, …) at most `concurrency` at a time; returns their answers. */
export async function runCitizens(
  fake: FakeTelegram,
  base: number,
  count: number,
  concurrency: number,
  o: SurveyOptions & { offset?: number },
): Promise<number[][]> {
  const sent: number[][] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) {
        const answers = answersOf((o.offset ?? 0) + i);
        await answerSurvey(fake, base + i, answers, o);
        sent.push(answers);
      }
    }),
  );
  return sent;
}

export interface Repeated {
  chat: string;
  text: string;
  /** When each copy reached the fake (its clock). */
  at: number[];
}

/** Texts sent more than once to one of the chats, for the "each message once" checks. */
export function repeatedMessages(fake: FakeTelegram, chats: readonly number[]): Repeated[] {
  const ids = new Set(chats.map(String));
  const seen = new Map<string, Repeated>();
  for (const m of fake.sent) {
    if (!ids.has(m.chatId)) continue;
    const k = `${m.chatId}\u0000${m.text}`;
    const r = seen.get(k) ?? { chat: m.chatId, text: m.text.slice(0, 60), at: [] };
    r.at.push(m.at);
    seen.set(k, r);
  }
  return [...seen.values()].filter((r) => r.at.length > 1);
}

type ZaloSent = {
  text?: string;
  attachment?: { payload: { buttons?: Array<{ title: string; payload: string }> } };
};

/**
 * One whole survey on Zalo, as `answerSurvey` on Telegram: `/start u_<unit>`, consent, q1–q6
 * typed as numbers (Zalo reads a typed number as the choice of that value), the suggestion
 * skipped. Each event is delivered signed to `webhook` with Zalo's retries (the fake's
 * `retryDelaysMs`); each question is recognised by its own text ("Câu k/7").
 */
export async function answerZaloSurvey(
  fake: FakeZaloServer,
  webhook: string,
  userId: string,
  answers: readonly number[],
  o: Pick<SurveyOptions, 'unitCode' | 'replyTimeoutMs' | 'beforeTurn'>,
): Promise<void> {
  const timeout = o.replyTimeoutMs ?? 60_000;
  let seq = 0;
  const turn = async (text: string, what: string, match: (m: ZaloSent) => boolean): Promise<ZaloSent> => {
    const from = fake.csTo(userId).length;
    await o.beforeTurn?.(seq);
    const statuses = await fake.deliver(webhook, fake.textEvent(userId, text, `z${userId}t${seq++}`));
    if (!statuses.includes(200))
      throw new Error(`zalo citizen ${userId}: webhook answered ${statuses.join(',')}`);
    const deadline = Date.now() + timeout;
    for (;;) {
      const m = (fake.csTo(userId).slice(from) as ZaloSent[]).find(match);
      if (m) return m;
      if (Date.now() > deadline) {
        const last = (fake.csTo(userId) as ZaloSent[]).slice(-2).map((x) => (x.text ?? '').slice(0, 40));
        throw new Error(
          `zalo citizen ${userId}: no ${what} within ${timeout} ms (last messages: ${JSON.stringify(last)})`,
        );
      }
      await sleep(100);
    }
  };
  const consent = await turn(`/start u_${o.unitCode}`, 'consent question', (m) =>
    Boolean(m.attachment?.payload.buttons?.some((b) => b.title === 'Đồng ý')),
  );
  const agree = consent.attachment!.payload.buttons!.find((b) => b.title === 'Đồng ý')!;
  await turn(agree.payload, 'Câu 1/7', (m) => (m.text ?? '').startsWith('Câu 1/7'));
  for (let q = 1; q <= QUESTIONS.length; q++) {
    const next = q < QUESTIONS.length ? `Câu ${q + 1}/7` : 'Câu 7/7';
    await turn(String(answers[q - 1]), next, (m) => (m.text ?? '').startsWith(next));
  }
  await turn('bỏ qua', 'thank-you', (m) => (m.text ?? '').includes('Trân trọng cảm ơn'));
}

/** Zalo texts sent more than once to one of the users (the Zalo twin of `repeatedMessages`). */
export function repeatedZaloMessages(fake: FakeZaloServer, users: readonly string[]): Repeated[] {
  const ids = new Set(users);
  const seen = new Map<string, Repeated>();
  for (const s of fake.sent) {
    const user = (s.body.recipient as { user_id?: string } | undefined)?.user_id;
    if (s.endpoint !== 'cs' || !user || !ids.has(user)) continue;
    const text = String((s.body.message as { text?: unknown }).text ?? '');
    const k = `${user}\u0000${text}`;
    const r = seen.get(k) ?? { chat: user, text: text.slice(0, 60), at: [] };
    r.at.push(s.at);
    seen.set(k, r);
  }
  return [...seen.values()].filter((r) => r.at.length > 1);
}
