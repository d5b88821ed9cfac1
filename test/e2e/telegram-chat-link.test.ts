import { API_PREFIX } from '../../bot/http/api/register';
import { AuditLog } from '../../models/audit-log';
import { Contact } from '../../models/contact';
import { User } from '../../models/user';
import { FakeTelegram } from '../fakes/telegram-server';
import { seedUnits, signedIn, type ApiClient } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';
import { makeBroadcast } from '../support/survey-fixtures';

/**
 * Issue 18: an official links their own Telegram chat by a one-time code from the API, then a
 * broadcast's test to oneself arrives there. The whole process against the fake Bot API.
 */
const LINK = `${API_PREFIX}/me/chat-link`;
let fake: FakeTelegram;
let t: TestApp;
let official: ApiClient;
let other: ApiClient;
let contract: OpenApiContract;

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('chatlink', {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: 'chat_link_SECRET_1',
    TELEGRAM_BOT_USERNAME: 'hailong_test_bot',
  });
  await seedUnits();
  official = await signedIn(t, 'cl.soan', 'broadcaster', ['QD-DAN-DIEN']);
  other = await signedIn(t, 'cl.khac', 'broadcaster', ['QD-DAN-DIEN']);
  contract = await OpenApiContract.load(t.baseUrl);
}, 120_000);

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

const conforms = (method: string, path: string, r: { status: number; headers: Headers; body: unknown }) =>
  expect(contract.check(method, path, r.status, r.headers.get('content-type'), r.body)).toEqual([]);

async function reply(chatId: number, count: number): Promise<string> {
  await fake.waitFor(() => fake.sentTo(chatId).length >= count, 30_000, `${count} messages to ${chatId}`);
  return fake.sentTo(chatId)[count - 1]!.text;
}

test('a code from the API, opened as the Telegram deep link, links that chat; the test to oneself then arrives there', async () => {
  const id = await makeBroadcast('19870');
  expect((await official.post(`${API_PREFIX}/broadcasts/${id}/test`)).body).toMatchObject({
    error: 'no_linked_chat',
  });

  const issued = await official.post(LINK);
  expect(issued.status).toBe(201);
  conforms('POST', LINK, issued);
  const { code, telegramLink, zaloText } = issued.body as Record<string, string>;
  expect(code).toMatch(/^[A-Z2-9]{5}-[A-Z2-9]{8}$/);
  expect(telegramLink).toBe(`https://t.me/hailong_test_bot?start=l_${code}`);
  expect(zaloText).toBe(`/lienket ${code}`);

  const chat = fake.user(8123);
  await chat.command('/start', new URL(telegramLink).searchParams.get('start')!);
  expect(await reply(8123, 1)).toContain('Đã liên kết cuộc trò chuyện này với tài khoản cán bộ cl.soan');
  const me = await User.findOne({ username: 'cl.soan' }, { linkedChat: 1 }).lean();
  expect(me?.linkedChat).toEqual({ channel: 'telegram', userId: '8123' });
  // An official's chat is not a citizen: no contact, no survey.
  expect(await Contact.countDocuments({ channelUserId: '8123' })).toBe(0);
  const read = await official.get(LINK);
  expect(read.body).toEqual({ linkedChat: { channel: 'telegram' } });
  conforms('GET', LINK, read);

  const sent = await official.post(`${API_PREFIX}/broadcasts/${id}/test`);
  expect(sent.status).toBe(200);
  expect(await reply(8123, 2)).toContain('Thông báo cho 19870');

  const actions = (await AuditLog.find({ targetType: 'user', targetId: me!._id.toString() }).lean()).map(
    (e) => e.action,
  );
  expect(actions).toEqual(expect.arrayContaining(['user.chat_link_issued', 'user.chat_linked']));
  expect(JSON.stringify(await AuditLog.find({ action: 'user.chat_linked' }).lean())).not.toContain('8123');
});

test('a code works once, a wrong secret burns it, and a new code cancels the previous one', async () => {
  const first = ((await other.post(LINK)).body as { code: string }).code;
  const second = ((await other.post(LINK)).body as { code: string }).code;
  const chat = fake.user(8200);
  await chat.command('/start', `l_${first}`);
  expect(await reply(8200, 1)).toContain('Mã liên kết không đúng, đã được dùng hoặc đã hết hạn');

  // The right handle with a wrong secret: refused, and the code is gone.
  const wrong = `${second.slice(0, 6)}${second.slice(6).split('').reverse().join('')}`;
  expect(wrong).not.toBe(second);
  await chat.send(`/lienket ${wrong}`);
  expect(await reply(8200, 2)).toContain('Mã liên kết không đúng');
  await chat.send(`/lienket ${second}`);
  expect(await reply(8200, 3)).toContain('Mã liên kết không đúng');
  expect((await User.findOne({ username: 'cl.khac' }).lean())?.linkedChat).toBeNull();

  // Typed in lower case without the dash, as a person may: accepted, and only once.
  const third = ((await other.post(LINK)).body as { code: string }).code;
  await chat.send(`/lienket ${third.replace('-', '').toLowerCase()}`);
  expect(await reply(8200, 4)).toContain('tài khoản cán bộ cl.khac');
  await fake.user(8201).command('/start', `l_${third}`);
  expect(await reply(8201, 1)).toContain('Mã liên kết không đúng');
  expect((await User.findOne({ username: 'cl.khac' }).lean())?.linkedChat).toEqual({
    channel: 'telegram',
    userId: '8200',
  });
});

test('unlinking makes the test to oneself a 409 again; a disabled account’s code links nothing', async () => {
  const del = await other.request('DELETE', LINK);
  expect(del.status).toBe(204);
  expect((await other.get(LINK)).body).toEqual({ linkedChat: null });
  const id = await makeBroadcast('19870');
  expect((await other.post(`${API_PREFIX}/broadcasts/${id}/test`)).status).toBe(409);

  const late = await signedIn(t, 'cl.nghi', 'broadcaster', ['QD-DAN-DIEN']);
  const code = ((await late.post(LINK)).body as { code: string }).code;
  await User.updateOne({ username: 'cl.nghi' }, { $set: { disabledAt: new Date() } });
  await fake.user(8300).command('/start', `l_${code}`);
  expect(await reply(8300, 1)).toContain('Mã liên kết không đúng');
  expect((await User.findOne({ username: 'cl.nghi' }).lean())?.linkedChat).toBeNull();
});
