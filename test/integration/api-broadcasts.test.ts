import { API_PREFIX } from '../../bot/http/api/register';
import { producersOf } from '../../bot/http/api/producers';
import { AuditLog } from '../../models/audit-log';
import { Broadcast } from '../../models/broadcast';
import { Contact } from '../../models/contact';
import { User } from '../../models/user';
import { JOB_FANOUT } from '../../workers/broadcast/queues';
import { FakeTelegram } from '../fakes/telegram-server';
import { ApiClient, seedUnits, signedIn, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';
import { makeBroadcast } from '../support/survey-fixtures';

let fake: FakeTelegram;
let t: TestApp;
let broadcaster: ApiClient;
let manager: ApiClient;
let district: ApiClient;
let contract: OpenApiContract;
const B = `${API_PREFIX}/broadcasts`;

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp(
    'apibroadcasts',
    {
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: 'apibc_secret',
      TELEGRAM_BOT_USERNAME: 'hailong_test_bot',
    },
    ['http'],
  );
  await seedUnits();
  broadcaster = await signedIn(t, 'bc.soan', 'broadcaster', ['QD-DAN-DIEN']);
  manager = await signedIn(t, 'bc.duyet', 'unit', ['QD-DAN-DIEN']);
  district = await signedIn(t, 'bc.huyen', 'district', ['477']);
  contract = await OpenApiContract.load(t.baseUrl);
  const consentAt = new Date();
  await Contact.insertMany([
    ...['7001', '7002', '7003'].map((id) => ({
      channel: 'telegram',
      channelUserId: id,
      consentAt,
      unitCodes: ['19870'],
    })),
    { channel: 'telegram', channelUserId: '7009', consentAt, unitCodes: ['19867'] },
  ]);
});
afterAll(async () => {
  await t.stop();
  await fake.close();
});

const conforms = (method: string, path: string, r: ApiResponse) =>
  expect(contract.check(method, `${B}${path}`, r.status, r.headers.get('content-type'), r.body)).toEqual([]);
const fanoutJobs = async (id: string) =>
  (await producersOf(t.app.ctx).broadcasts.control.getDelayed()).filter(
    (j) => j.name === JOB_FANOUT && j.data.b === id,
  );

test('counts the recipients of a unit subtree; another unit is 404, no unit is 422 for a unit’s caller', async () => {
  const r = await broadcaster.post(`${B}/count`, { unitCode: 'QD-DAN-DIEN' });
  expect(r.status).toBe(200);
  conforms('POST', '/count', r);
  expect(r.body).toMatchObject({ total: 3, byChannel: { telegram: 3, zalo: 0 } });
  expect((await broadcaster.post(`${B}/count`, { unitCode: '19867' })).status).toBe(404);
  expect((await broadcaster.post(`${B}/count`, {})).status).toBe(422);
});

test('a broadcaster’s broadcast waits for a unit manager, who approves it; the author cannot', async () => {
  const r = await broadcaster.post(B, { text: 'Lịch tiếp công dân tháng 12', unitCode: 'QD-DAN-DIEN' });
  expect(r.status).toBe(201);
  conforms('POST', '', r);
  expect(r.body).toMatchObject({
    status: 'pending_approval',
    createdBy: 'bc.soan',
    recipients: { total: 3 },
  });
  const id = r.body.id as string;
  expect((await broadcaster.post(`${B}/${id}/approve`)).status).toBe(403);
  const ok = await manager.post(`${B}/${id}/approve`);
  expect(ok.status).toBe(200);
  conforms('POST', '/:id/approve', ok);
  expect(ok.body).toMatchObject({ status: 'scheduled', approvedBy: 'bc.duyet' });
  const again = await manager.post(`${B}/${id}/approve`);
  expect(again.status).toBe(409);
  conforms('POST', '/:id/approve', again);
  expect(
    await AuditLog.exists({ action: 'broadcast.approved', targetId: id, actor: 'bc.duyet' }),
  ).toBeTruthy();
  expect(await AuditLog.exists({ action: 'broadcast.created', targetId: id, actor: 'bc.soan' })).toBeTruthy();
});

test('bad content is 422 and creates nothing', async () => {
  const before = await Broadcast.countDocuments();
  const r = await district.post(B, { text: '<script>x</script>', format: 'html', unitCode: '477' });
  expect(r.status).toBe(422);
  conforms('POST', '', r);
  expect(await Broadcast.countDocuments()).toBe(before);
});

test('preview renders the content per language as the senders send it, with the problems create would refuse; stores nothing', async () => {
  const before = await Broadcast.countDocuments();
  const r = await broadcaster.post(`${B}/preview`, {
    text: 'Lịch tiếp <công dân>',
    textEn: 'Citizen hours',
    buttons: [{ text: 'Xem lịch', textEn: 'See', url: 'https://example.gov.vn/lich' }],
  });
  expect(r.status).toBe(200);
  conforms('POST', '/preview', r);
  const messages = r.body.messages as Array<Record<string, unknown>>;
  expect(messages.map((m) => m.lang)).toEqual(['vi', 'en']);
  expect(messages[0]).toMatchObject({
    html: expect.stringMatching(/^Lịch tiếp &lt;công dân&gt;\n\n<i>Nhắn \/stop/),
    plain: expect.stringMatching(/^Lịch tiếp <công dân>\n\nNhắn \/stop/),
    links: [{ text: 'Xem lịch', url: 'https://example.gov.vn/lich' }],
    stopButton: 'Ngừng nhận tin',
  });
  expect(messages[1]).toMatchObject({ links: [{ text: 'See' }], stopButton: 'Unsubscribe' });
  expect(r.body.problems).toEqual([]);
  const bad = await broadcaster.post(`${B}/preview`, { text: '<b>mở', format: 'html' });
  expect(bad.status).toBe(200);
  expect(bad.body.problems).toEqual(['text: unclosed <b>']);
  expect((await broadcaster.post(`${B}/preview`, { text: '' })).status).toBe(422);
  expect((await manager.post(`${B}/preview`, { text: 'x' })).status).toBe(403);
  expect(await Broadcast.countDocuments()).toBe(before);
});

test('schedule moves the start: the waiting fan-out job is replaced by one at the new time', async () => {
  const at = new Date(Date.now() + 86_400_000);
  const r = await district.post(B, {
    text: 'Hẹn giờ',
    unitCode: '477',
    sendAt: at.toISOString(),
    ignoreQuietHours: true,
  });
  expect(r.body.status).toBe('scheduled');
  const id = r.body.id as string;
  expect(await fanoutJobs(id)).toHaveLength(1);
  const later = new Date(Date.now() + 2 * 86_400_000);
  const moved = await district.post(`${B}/${id}/schedule`, {
    sendAt: later.toISOString(),
    ignoreQuietHours: true,
  });
  expect(moved.status).toBe(200);
  conforms('POST', '/:id/schedule', moved);
  expect(moved.body).toMatchObject({ sendAt: later.toISOString(), startsAt: later.toISOString() });
  const jobs = await fanoutJobs(id);
  expect(jobs).toHaveLength(1);
  expect(jobs[0]!.timestamp + jobs[0]!.delay).toBeGreaterThanOrEqual(later.getTime() - 1000);
  await Broadcast.updateOne({ _id: id }, { $set: { status: 'sending', startedAt: new Date() } });
  expect((await district.post(`${B}/${id}/schedule`, { sendAt: null })).status).toBe(409);
});

test('a scheduled broadcast paused and resumed waits for its own start again, not now', async () => {
  const at = new Date(Date.now() + 7 * 86_400_000);
  const r = await district.post(B, {
    text: 'Tuần sau',
    unitCode: '477',
    sendAt: at.toISOString(),
    ignoreQuietHours: true,
  });
  const id = r.body.id as string;
  expect((await district.post(`${B}/${id}/pause`)).body.status).toBe('paused');
  expect((await district.post(`${B}/${id}/resume`)).body.status).toBe('scheduled');
  const control = producersOf(t.app.ctx).broadcasts.control;
  const waiting = (await control.getWaiting()).filter((j) => j.name === JOB_FANOUT && j.data.b === id);
  expect(waiting).toEqual([]);
  const jobs = await fanoutJobs(id);
  expect(jobs).toHaveLength(1);
  expect(jobs[0]!.timestamp + jobs[0]!.delay).toBeGreaterThanOrEqual(at.getTime() - 1000);
});

test('a test goes to the caller’s own linked chat, and is a clear 409 without one', async () => {
  const id = await makeBroadcast('19870');
  const none = await broadcaster.post(`${B}/${id}/test`, {});
  expect(none.status).toBe(409);
  expect(none.body.error).toBe('no_linked_chat');
  conforms('POST', '/:id/test', none);
  await User.updateOne(
    { username: 'bc.soan' },
    { $set: { linkedChat: { channel: 'telegram', userId: '8123' } } },
  );
  const sent = await broadcaster.post(`${B}/${id}/test`, {});
  expect(sent.status).toBe(200);
  conforms('POST', '/:id/test', sent);
  expect(fake.sent.filter((m) => m.chatId === '8123').map((m) => m.text)).toEqual([
    expect.stringContaining('Thông báo cho 19870'),
  ]);
});

test('pause, resume and cancel follow the broadcast’s state, and each is audited', async () => {
  const id = await makeBroadcast('19870', { status: 'sending' });
  const paused = await broadcaster.post(`${B}/${id}/pause`);
  expect(paused.status).toBe(200);
  conforms('POST', '/:id/pause', paused);
  expect(paused.body.status).toBe('paused');
  expect((await broadcaster.post(`${B}/${id}/pause`)).status).toBe(409);
  expect((await broadcaster.post(`${B}/${id}/resume`)).body.status).toBe('fanning_out');
  const cancelled = await broadcaster.post(`${B}/${id}/cancel`);
  expect(cancelled.body).toMatchObject({ status: 'cancelled', inFlight: 0 });
  expect((await broadcaster.post(`${B}/${id}/cancel`)).status).toBe(409);
  const actions = (await AuditLog.find({ targetId: id }).sort({ seq: 1 }).lean()).map((e) => e.action);
  expect(actions).toEqual(['broadcast.paused', 'broadcast.resumed', 'broadcast.cancelled']);
});

test('progress streams as server-sent events until the broadcast ends', async () => {
  const id = await makeBroadcast('19870', { status: 'sending' });
  const res = await fetch(`${t.baseUrl}${B}/${id}/stream`, { headers: { cookie: broadcaster.cookie! } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  expect(first).toContain('event: progress');
  expect(JSON.parse(first.split('data: ')[1]!.split('\n')[0]!)).toMatchObject({ id, status: 'sending' });
  await Broadcast.updateOne({ _id: id }, { $set: { status: 'completed', finishedAt: new Date() } });
  let rest = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
    rest += new TextDecoder().decode(chunk.value);
  expect(rest).toContain('"status":"completed"');
  expect(rest.trimEnd().endsWith('event: end\ndata: {}')).toBe(true);
});

test('the final report once finished; 409 before', async () => {
  const running = await makeBroadcast('19870', { status: 'sending' });
  const early = await broadcaster.get(`${B}/${running}/report`);
  expect(early.status).toBe(409);
  conforms('GET', '/:id/report', early);
  const report = {
    total: 3,
    queued: 0,
    sending: 0,
    sent: 2,
    failed: 0,
    blocked: 1,
    skipped: 0,
    cancelled: 0,
    inFlightAtCrash: 0,
    reasons: { failed: { refused: 0 }, blocked: { blocked_by_user: 1 }, skipped: { unsubscribed: 0 } },
  };
  const done = await makeBroadcast('19870', { status: 'completed', report });
  const r = await broadcaster.get(`${B}/${done}/report`);
  expect(r.status).toBe(200);
  conforms('GET', '/:id/report', r);
  expect(r.body).toMatchObject({
    status: 'completed',
    counts: { sent: 2, blocked: 1 },
    blockedReasons: { blocked_by_user: 1 },
  });
  // Nothing failed, blocked or skipped: Mongoose saved the report without its empty reasons.
  const clean = await makeBroadcast('19870', { status: 'completed', report: { sent: 3 } });
  for (const path of ['', '/report']) {
    const c = await broadcaster.get(`${B}/${clean}${path}`);
    expect([path, c.status]).toEqual([path, 200]);
  }
  const cr = await broadcaster.get(`${B}/${clean}/report`);
  expect(cr.body).toMatchObject({ counts: { sent: 3 }, failedReasons: {}, blockedReasons: {} });
});

test('a broadcast of another commune is 404 everywhere, the stream included', async () => {
  const id = await makeBroadcast('19867', { status: 'sending' });
  for (const [method, path] of [
    ['GET', ''],
    ['GET', '/stream'],
    ['GET', '/report'],
    ['POST', '/approve'],
    ['POST', '/pause'],
    ['POST', '/cancel'],
  ] as const) {
    const client = method === 'POST' && path === '/approve' ? manager : broadcaster;
    expect((await client.request(method, `${B}/${id}${path}`)).status).toBe(404);
  }
  expect((await Broadcast.findById(id).lean())?.status).toBe('sending');
  const list = await broadcaster.get(B);
  expect(list.text).not.toContain('Thông báo cho 19867');
});
