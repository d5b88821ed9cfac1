import { decodeAction, encodeAction } from '../../bot/engine/callback-data';
import type { ChoiceAction } from '../../bot/engine/types';
import { FlowRepository } from '../../bot/flow/repository';
import { isZaloEventDone } from '../../bot/channels/zalo/inbound-queue';
import { ZaloOAuthClient } from '../../bot/channels/zalo/oauth';
import { parseSecretsKey } from '../../lib/secret-box';
import { ZaloTokenStore } from '../../bot/channels/zalo/token-store';
import { issueSurveyToken } from '../../bot/survey/token';
import { logger } from '../../lib/logger';
import { Answer } from '../../models/answer';
import { AuditLog } from '../../models/audit-log';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Response } from '../../models/response';
import { Session } from '../../models/session';
import { FakeTelegram } from '../fakes/telegram-server';
import { FakeZaloServer } from '../fakes/zalo-server';
import { startTestApp, type TestApp } from '../support/app';
import { conformanceFlow } from '../support/conformance-flow';
import { until } from '../support/until';

/**
 * The conformance matrix: one script, driving every question type and every engine message kind
 * (single and multi choice, the "Khác" free text, a scale with "not applicable", a rating, a
 * number, free text, optional free text with "Bỏ qua", messages, consent decline, resume, expiry,
 * /stop, /help, /lang), through each channel's real inbound path (Telegram through the fake Bot
 * API's webhook, Zalo through the fake OA's signed webhook, the web chat over HTTP) in one whole
 * process. At every step the channel must show the citizen a control that answers what the
 * engine asks (Telegram: an inline keyboard, or typing; Zalo: buttons (at most 5) or a numbered
 * list, or typing; the web chat: form controls), the driver answers through it, and the engine
 * must move on.
 */

interface Button {
  label: string;
  action: ChoiceAction;
  selected: boolean;
}
/** What a citizen sees of the question a channel is waiting on. */
interface Seen {
  text: string;
  buttons: Button[];
  /** Typed numbers answer it (Zalo's numbered list): "number. label" per option. */
  list: Array<{ n: string; label: string }>;
  /** A typed reply can be sent. */
  typing: boolean;
}
interface Screen {
  /** Texts shown since the last step (messages, notices), questions included. */
  texts: string[];
  /** The question waited on: the last one shown, its buttons as they are now (edited in place). */
  question: Seen | null;
  /** Whether that question was shown since the last step (not an earlier copy of it). */
  fresh: boolean;
}
type Command = 'help' | 'lang' | 'stop';
interface Driver {
  name: 'telegram' | 'zalo' | 'web';
  start(token: string): Promise<void>;
  resume(token: string): Promise<void>;
  command(name: Command): Promise<void>;
  press(b: Button, seen: Seen): Promise<void>;
  type(text: string): Promise<void>;
  screen(): Promise<Screen>;
}

type Choose = { kind: ChoiceAction['kind']; label?: string };
type Step =
  | { do: 'start' | 'resume' }
  | { do: 'command'; name: Command }
  | { do: 'choose'; choose: Choose }
  | { do: 'type'; text: string };
interface Expect {
  /** The question waited on: its node id in brackets, or "other" for the "Khác" text. */
  q?: string | null;
  expects?: 'choice' | 'multi' | 'text' | 'number';
  optional?: boolean;
  /** How many options a choice question has (each needs a control). */
  options?: number;
  /** Labels shown as selected (a multi-choice being built). */
  pressed?: string[];
  /** Some text shown since the last step matches. */
  said?: RegExp;
  progress?: string;
  /** The question may be one shown before this step (a toggle edits it in place). */
  stale?: boolean;
}

const OTHER = /ghi rõ lý do khác/;
function nodeOf(text: string): string | null {
  if (OTHER.test(text)) return 'other';
  return /\[([a-z0-9]+)\]/.exec(text)?.[1] ?? null;
}
const isQuestionText = (text: string) =>
  nodeOf(text) !== null && !/\[(intro|declined|thanks[a-z-]*)\]/.test(text);

/** Why `screen` does not (yet) show what `e` expects; null when it does. */
function mismatch(screen: Screen, e: Expect, channel: Driver['name']): string | null {
  const all = screen.texts.join('\n');
  if (e.said && !e.said.test(all)) return `no text matching ${e.said}`;
  if (e.q === undefined) return null;
  const q = screen.question;
  if (e.q === null)
    return q && screen.texts.some(isQuestionText) ? `a question is still shown: ${q.text}` : null;
  if (!q) return `no question shown (expected ${e.q})`;
  if (nodeOf(q.text) !== e.q) return `shows ${nodeOf(q.text)} instead of ${e.q}`;
  if (!screen.fresh && !e.stale) return `${e.q} not asked again since the last step`;
  if (e.progress && !q.text.includes(e.progress) && !all.includes(e.progress))
    return `no progress ${e.progress}`;
  const picks = q.buttons.filter((b) => b.action.kind === 'pick' || b.action.kind === 'toggle');
  const skip = q.buttons.some((b) => b.action.kind === 'skip');
  switch (e.expects) {
    case 'choice':
    case 'multi': {
      const answerable = picks.length + q.list.length;
      if (e.options !== undefined && answerable !== e.options)
        return `${answerable} answerable options, expected ${e.options}`;
      if (answerable === 0) return 'no control to choose with';
      if (q.list.length > 0 && !q.typing) return 'a numbered list but no typing';
      if (e.expects === 'multi' && q.list.length === 0 && !q.buttons.some((b) => b.action.kind === 'done'))
        return 'no "Xong" button';
      break;
    }
    case 'text':
    case 'number':
      if (!q.typing) return `${channel} gives no way to type the answer`;
      if (picks.length > 0) return 'option buttons on a typed question';
      break;
  }
  if (e.optional !== undefined && skip !== e.optional)
    return e.optional ? 'no "Bỏ qua" button' : 'a "Bỏ qua" button on a required question';
  if (e.pressed) {
    const on = q.buttons.filter((b) => b.selected).map((b) => b.label.replace(/^[☐☑]\s*/u, ''));
    if (JSON.stringify(on.sort()) !== JSON.stringify([...e.pressed].sort()))
      return `selected ${JSON.stringify(on)}, expected ${JSON.stringify(e.pressed)}`;
  }
  return null;
}

async function settle(d: Driver, e: Expect, ms = 15_000): Promise<Screen> {
  const deadline = Date.now() + ms;
  for (;;) {
    const screen = await d.screen();
    const why = mismatch(screen, e, d.name);
    if (!why) return screen;
    if (Date.now() > deadline)
      throw new Error(`${d.name}: ${why}\nscreen: ${JSON.stringify(screen, null, 1).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the steps; returns the question shown at the end (a later run may go on from it). */
async function run(
  d: Driver,
  token: string,
  steps: Array<[Step, Expect]>,
  from: Seen | null = null,
): Promise<Seen | null> {
  let seen = from;
  for (const [step, e] of steps) {
    switch (step.do) {
      case 'start':
        await d.start(token);
        break;
      case 'resume':
        await d.resume(token);
        break;
      case 'command':
        await d.command(step.name);
        break;
      case 'type':
        if (!seen?.typing) throw new Error(`${d.name}: cannot type "${step.text}" here`);
        await d.type(step.text);
        break;
      case 'choose': {
        const c = step.choose;
        const button = seen?.buttons.find(
          (b) =>
            b.action.kind === c.kind && (!c.label || b.label.replace(/^[☐☑]\s*/u, '').startsWith(c.label)),
        );
        const listed = c.label ? seen?.list.find((l) => l.label.startsWith(c.label!)) : undefined;
        if (button) await d.press(button, seen!);
        else if (listed && seen?.typing) await d.type(listed.n);
        else throw new Error(`${d.name}: no control for ${c.kind} ${c.label ?? ''} on ${seen?.text}`);
        break;
      }
    }
    seen = (await settle(d, e)).question;
  }
  return seen;
}

/** The main script: every question type, resume in the middle of the "Khác" text, /help, /lang. */
const main = (thanks: RegExp): Array<[Step, Expect]> => [
  [{ do: 'start' }, { q: 'consent', expects: 'choice', options: 2, optional: false }],
  [
    { do: 'command', name: 'help' },
    { said: /\/stop/, q: 'consent', expects: 'choice' },
  ],
  [
    { do: 'command', name: 'lang' },
    { said: /Switched to English/, q: 'consent', expects: 'choice' },
  ],
  [
    { do: 'command', name: 'lang' },
    { said: /Đã chuyển sang Tiếng Việt/, q: 'consent' },
  ],
  [
    { do: 'choose', choose: { kind: 'pick', label: 'Đồng ý' } },
    { said: /\[intro\]/, q: 'c1', expects: 'choice', options: 3, progress: 'Câu 1/7' },
  ],
  [
    { do: 'choose', choose: { kind: 'pick', label: 'Trực tuyến' } },
    { q: 'm1', expects: 'multi', options: 3, progress: 'Câu 2/7' },
  ],
  [
    { do: 'choose', choose: { kind: 'toggle', label: 'Chờ lâu' } },
    { q: 'm1', expects: 'multi', pressed: ['Chờ lâu'], stale: true },
  ],
  [
    { do: 'choose', choose: { kind: 'toggle', label: 'Lý do khác' } },
    { q: 'm1', pressed: ['Chờ lâu', 'Lý do khác'], stale: true },
  ],
  [
    { do: 'choose', choose: { kind: 'done' } },
    { q: 'other', expects: 'text', optional: true },
  ],
  // A reload / a new /start in the middle of the "Khác" text asks for it again.
  [{ do: 'resume' }, { said: /Tiếp tục khảo sát/, q: 'other', expects: 'text', optional: true }],
  [
    { do: 'type', text: 'Giấy hẹn ghi sai ngày' },
    { q: 's1', expects: 'choice', options: 6, progress: 'Câu 3/7' },
  ],
  [
    { do: 'choose', choose: { kind: 'pick', label: 'Chưa góp ý' } },
    { q: 'rt', expects: 'choice', options: 5 },
  ],
  [
    { do: 'choose', choose: { kind: 'pick', label: '2 ⭐' } },
    { q: 'nb', expects: 'number', optional: false },
  ],
  [
    { do: 'type', text: 'nhiều lần' },
    { said: /nhập một số từ 0 đến 100/, q: 'nb', expects: 'number' },
  ],
  [
    { do: 'type', text: '3' },
    { q: 'ft', expects: 'text', optional: false },
  ],
  [
    { do: 'type', text: 'Đăng ký khai sinh' },
    { q: 'op', expects: 'text', optional: true, progress: 'Câu 7/7' },
  ],
  [
    { do: 'choose', choose: { kind: 'skip' } },
    { said: thanks, q: null },
  ],
];

const decline: Array<[Step, Expect]> = [
  [{ do: 'start' }, { q: 'consent', expects: 'choice' }],
  [
    { do: 'choose', choose: { kind: 'pick', label: 'Không đồng ý' } },
    { said: /\[declined\]/, q: null },
  ],
];
const stop: Array<[Step, Expect]> = [
  [{ do: 'start' }, { q: 'consent', expects: 'choice' }],
  [{ do: 'choose', choose: { kind: 'pick', label: 'Đồng ý' } }, { q: 'c1' }],
  [
    { do: 'command', name: 'stop' },
    { said: /Đã dừng khảo sát/, q: null },
  ],
];
// The same typed words stop the survey on every channel (bot/conversation/commands.ts), here at
// the free-text question, where the web chat too lets the citizen type.
const typedStop = (thanks: RegExp): Array<[Step, Expect]> => {
  const steps = main(thanks);
  const atText = steps.findIndex(([, e]) => e.q === 'ft');
  return [
    ...steps.slice(0, atText + 1),
    [
      { do: 'type', text: 'Dừng' },
      { said: /Đã dừng khảo sát/, q: null },
    ],
  ];
};
const expiry: Array<[Step, Expect]> = [
  [
    { do: 'choose', choose: { kind: 'pick', label: 'Đồng ý' } },
    { said: /đã hết hạn/, q: null },
  ],
];

const SECRET = 'conformance_secret-TOKEN_1';
const SECRETS_KEY = Buffer.alloc(32, 9).toString('base64');
let telegram: FakeTelegram;
let zalo: FakeZaloServer;
let t: TestApp;
let seq = 0;

async function dossier(ttlHours = 24): Promise<{ code: string; token: string }> {
  const code = `CF-${String(++seq).padStart(4, '0')}`;
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    unitCode: '19870',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  return { code, token: (await issueSurveyToken(code, new Date(), ttlHours)).token };
}

function telegramDriver(chatId: number): Driver {
  const u = telegram.user(chatId);
  let mark = 0;
  const begin = () => void (mark = telegram.sentTo(chatId).length);
  return {
    name: 'telegram',
    start: async (token) => void (begin(), await u.command('/start', token)),
    resume: async () => void (begin(), await u.command('/start')),
    command: async (name) => void (begin(), await u.command(`/${name}`)),
    type: async (text) => void (begin(), await u.send(text)),
    press: async (b) => {
      begin();
      const msg = [...telegram.sentTo(chatId)]
        .reverse()
        .find((m) =>
          m.replyMarkup?.inline_keyboard
            .flat()
            .some((k) => k.callback_data && decodeAction(k.callback_data)?.node === b.action.node),
        );
      const data = msg!.replyMarkup!.inline_keyboard.flat().find((k) => k.text === b.label)!.callback_data!;
      await u.tap(data, msg!.messageId);
    },
    screen: async () => {
      const all = telegram.sentTo(chatId);
      const last = [...all].reverse().find((m) => isQuestionText(m.text));
      const question: Seen | null = last
        ? {
            text: last.text,
            buttons: (last.replyMarkup?.inline_keyboard.flat() ?? []).map((k) => ({
              label: k.text,
              action: decodeAction(k.callback_data ?? '')!,
              selected: k.text.startsWith('☑'),
            })),
            list: [],
            // A private chat always lets the citizen type.
            typing: true,
          }
        : null;
      return {
        texts: all.slice(mark).map((m) => m.text),
        question,
        fresh: !!last && all.indexOf(last) >= mark,
      };
    },
  };
}

function zaloDriver(userId: string): Driver {
  const url = `${t.baseUrl}/webhooks/zalo`;
  let mark = 0;
  let clock = Date.now();
  type Sent = {
    text?: string;
    attachment?: { payload: { buttons: Array<{ title: string; payload: string }> } };
  };
  const say = async (text: string) => {
    mark = zalo.csTo(userId).length;
    const msgId = `cf${userId}${(clock += 10)}`;
    expect(await zalo.deliver(url, zalo.textEvent(userId, text, msgId), { timestamp: clock })).toEqual([200]);
    const deadline = Date.now() + 15_000;
    while (!(await isZaloEventDone(t.redis, t.env.REDIS_PREFIX, `m-${msgId}`))) {
      if (Date.now() > deadline) throw new Error(`zalo: event ${msgId} not processed`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    name: 'zalo',
    start: (token) => say(`/start ${token}`),
    resume: () => say('/start'),
    command: (name) => say(name === 'lang' ? '/lang' : `/${name}`),
    type: (text) => say(text),
    press: (b, seen) => say(seen.buttons.length > 0 ? zaloPayload(b) : b.label),
    screen: async () => {
      const all = zalo.csTo(userId) as Sent[];
      const last = [...all].reverse().find((m) => m.text && isQuestionText(m.text));
      const buttons = last?.attachment?.payload.buttons ?? [];
      const question: Seen | null =
        last?.text !== undefined
          ? {
              text: last.text,
              buttons: buttons.map((b) => ({
                label: b.title,
                action: decodeAction(b.payload)!,
                selected: b.title.startsWith('☑'),
              })),
              list:
                buttons.length > 0
                  ? []
                  : [...last.text.matchAll(/^(\d+)\. (.+)$/gm)].map((m) => ({
                      n: m[1]!,
                      label: m[2]!.replace(/^\d+\.\s*/, ''),
                    })),
              typing: true,
            }
          : null;
      return {
        texts: all.slice(mark).map((m) => m.text ?? ''),
        question,
        fresh: !!last && all.indexOf(last) >= mark,
      };
    },
  };
  function zaloPayload(b: Button): string {
    const all = zalo.csTo(userId) as Sent[];
    for (const m of [...all].reverse()) {
      const hit = m.attachment?.payload.buttons.find((x) => x.title === b.label);
      if (hit) return hit.payload;
    }
    throw new Error(`zalo: no button ${b.label}`);
  }
}

function webDriver(): Driver {
  let cookie = '';
  let page = '';
  const unescape = (s: string) =>
    s
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const textOf = (html: string) => unescape(html.replace(/<br>/g, '\n').replace(/<[^>]+>/g, ''));
  async function request(path: string, body?: Record<string, string>): Promise<void> {
    const res = await fetch(`${t.baseUrl}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: body ? new URLSearchParams(body).toString() : null,
      redirect: 'manual',
    });
    const set = /hl_web=[A-Za-z0-9_-]{22}/.exec(res.headers.get('set-cookie') ?? '');
    if (set) cookie = set[0];
    page = await res.text();
  }
  let path = '';
  /** The open question's form: hidden fields, buttons, text field. */
  function openForm(): { section: string; hidden: Record<string, string> } | null {
    const sections = [...page.matchAll(/<section class="msg bot q"[^>]*>([\s\S]*?)<\/section>/g)]
      .map((m) => m[1]!)
      .filter((s) => s.includes('<form'));
    const section = sections.at(-1);
    if (!section) return null;
    const hidden = Object.fromEntries(
      [...section.matchAll(/<input type="hidden" name="([a-z]+)" value="([^"]*)">/g)].map((m) => [
        m[1]!,
        unescape(m[2]!),
      ]),
    );
    return { section, hidden };
  }
  return {
    name: 'web',
    start: async (token) => {
      path = `/s/${token}`;
      await request(path);
    },
    resume: () => request(path),
    command: async (name) => {
      // The page's own controls: the footer's buttons.
      if (!page.includes(`name="cmd" value="${name}"`)) throw new Error(`web: no ${name} button on the page`);
      await request(path, { cmd: name });
    },
    // A typed command (/dulieu, /xoa) may come when no question is open.
    type: async (text) => request(path, { ...(openForm()?.hidden ?? {}), text }),
    press: async (b) => {
      const form = openForm()!;
      await request(path, { ...form.hidden, a: encodeAction(b.action) });
    },
    screen: async () => {
      const texts = [textOf(/<div id="log"[^>]*>([\s\S]*?)<\/div>\n<\/main>/.exec(page)?.[1] ?? '')];
      const form = openForm();
      const question: Seen | null = form
        ? {
            text: [
              textOf(/<p class="progress">([\s\S]*?)<\/p>/.exec(form.section)?.[1] ?? ''),
              textOf(/<h2[^>]*>([\s\S]*?)<\/h2>/.exec(form.section)?.[1] ?? ''),
            ].join('\n'),
            buttons: [
              ...form.section.matchAll(
                /<button type="submit" name="a" value="([^"]+)"([^>]*)>([\s\S]*?)<\/button>/g,
              ),
            ].map((m) => ({
              label: textOf(m[3]!),
              action: decodeAction(unescape(m[1]!))!,
              selected: m[2]!.includes('aria-pressed="true"'),
            })),
            list: [],
            typing: /<(textarea|input)[^>]* name="text"/.test(form.section),
          }
        : null;
      // Every answer returns a new page.
      return { texts, question, fresh: true };
    },
  };
}

async function storedAnswers(code: string): Promise<Record<string, { value: unknown; text: unknown }>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await Response.findOne({ dossierCode: code, status: 'completed' }).lean();
    if (r) {
      const answers = await Answer.find({ responseId: r.responseId }).lean();
      if (answers.length >= 6)
        return Object.fromEntries(
          answers.map((a) => [a.questionId, { value: a.value, text: a.text ?? null }]),
        );
    }
    if (Date.now() > deadline) throw new Error(`answers of ${code} not stored`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  telegram = await FakeTelegram.start();
  zalo = await new FakeZaloServer().start();
  t = await startTestApp('conform', {
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    ZALO_APP_ID: zalo.appId,
    ZALO_APP_SECRET: zalo.appSecret,
    ZALO_OA_SECRET_KEY: zalo.oaSecretKey,
    ZALO_API_ROOT: zalo.url,
    ZALO_OAUTH_ROOT: zalo.url,
    ZALO_BUSINESS_API_ROOT: zalo.url,
    SECRETS_KEY,
  });
  // As `hailong zalo connect` leaves it: a token pair stored for the app.
  const tokens = new ZaloTokenStore({
    appId: zalo.appId,
    secretsKey: parseSecretsKey(SECRETS_KEY),
    redis: t.redis,
    prefix: t.env.REDIS_PREFIX,
    oauth: new ZaloOAuthClient({ oauthRoot: zalo.url, appId: zalo.appId, appSecret: zalo.appSecret }),
    log: logger,
    refreshAheadMs: 0,
  });
  await tokens.save(zalo.issuePair());
  // The flow with every question type, as the newest version of the default flow.
  await new FlowRepository().publish(conformanceFlow);
}, 180_000);

afterAll(async () => {
  await t?.stop();
  await telegram?.close();
  await zalo?.close();
});

const drivers: Array<[Driver['name'], () => Driver, RegExp]> = [
  ['telegram', () => telegramDriver(3001 + seq), /\[thanks-reachable\]/],
  ['zalo', () => zaloDriver(`cf-zalo-${seq}`), /\[thanks-reachable\]/],
  ['web', () => webDriver(), /\[thanks-unreachable\]/],
];

describe.each(drivers)('%s', (name, driver, thanks) => {
  test('every question type can be answered, with the same script, and the answers are stored', async () => {
    const d = await dossier();
    await run(driver(), d.token, main(thanks));
    const byQ = await storedAnswers(d.code);
    expect(byQ).toEqual({
      c1: { value: 'b', text: null },
      m1: { value: ['a', 'khac'], text: 'Giấy hẹn ghi sai ngày' },
      s1: { value: 0, text: null },
      rt: { value: 2, text: null },
      nb: { value: 3, text: null },
      ft: { value: null, text: 'Đăng ký khai sinh' },
    });
    const response = await Response.findOne({ dossierCode: d.code }).lean();
    expect(response?.surveyChannel).toBe(name);
  });

  test('declining consent says goodbye and asks nothing more', async () => {
    const d = await dossier();
    await run(driver(), d.token, decline);
  });

  test('/stop ends the survey', async () => {
    const d = await dossier();
    await run(driver(), d.token, stop);
  });

  test('typing "Dừng" ends the survey as /stop does', async () => {
    const d = await dossier();
    await run(driver(), d.token, typedStop(thanks));
    expect(await Response.countDocuments({ dossierCode: d.code, status: 'completed' })).toBe(0);
  });

  test('/dulieu shows what is held; /xoa asks first, "/xoa dongy" erases the contact and the session', async () => {
    const d = await dossier();
    const c = driver();
    await run(c, d.token, [
      [{ do: 'start' }, { q: 'consent', expects: 'choice' }],
      [{ do: 'choose', choose: { kind: 'pick', label: 'Đồng ý' } }, { said: /\[intro\]/ }],
    ]);
    const session = await until(
      () => Session.findOne({ dossierCode: d.code }).lean(),
      'session copied to MongoDB',
      20_000,
    );
    await c.type('/dulieu');
    await settle(c, {
      said: new RegExp(`Dữ liệu hệ thống đang lưu[\\s\\S]*${d.code}[\\s\\S]*What we hold about you`),
    });
    await c.type('/xoa');
    await settle(c, { said: /Để xác nhận, xin gửi: \/xoa dongy/ });
    expect(await Session.countDocuments({ _id: session._id })).toBe(1);
    await c.type('/xoa dongy');
    await settle(c, { said: /Dữ liệu cá nhân của Quý ông\/bà đã được xóa/ });
    expect(await Session.countDocuments({ _id: session._id })).toBe(0);
    expect(await Contact.countDocuments({ _id: session.contactId })).toBe(0);
    expect(
      await AuditLog.countDocuments({ action: 'privacy.erased', actor: `citizen:${name}` }),
    ).toBeGreaterThanOrEqual(1);
  });

  test('an answer after the invitation expired gets a polite "đã hết hạn"', async () => {
    const d = await dossier(2 / 3600);
    const c = driver();
    const consent = await run(c, d.token, [[{ do: 'start' }, { q: 'consent', expects: 'choice' }]]);
    await new Promise((r) => setTimeout(r, 2100));
    await run(c, d.token, expiry, consent);
  });
});
