import { DEFAULT_FLOW_VERSIONS, defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { issueSurveyToken } from '../../bot/survey/token';
import { Dossier } from '../../models/dossier';
import { Session } from '../../models/session';
import { FakeTelegram } from '../fakes/telegram-server';
import { seedUnits, signedIn, type ApiClient } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/until';

/**
 * Issue 18: a flow published through the API is the one a new Telegram and web-chat session
 * gets in the unit it is assigned to; a session started before keeps its version. The whole
 * process (HTTP, bot, workers) against the fake Bot API.
 */
const SECRET = 'e2e_flow-live-SECRET_1';
const NEW_CONSENT =
  'Phiên bản thử nghiệm: {donvi} kính mời Ông/Bà cho ý kiến về hồ sơ {ma}. Ông/Bà có đồng ý tham gia không?';
const NEW_Q1 = 'Phiên bản thử nghiệm: Ông/Bà đánh giá thế nào về việc tiếp cận dịch vụ?';
let fake: FakeTelegram;
let t: TestApp;
let admin: ApiClient;
let n = 0;

async function tokenFor(unitCode: string): Promise<{ code: string; token: string }> {
  const code = `000.00.19.H57-251201-${String(++n).padStart(4, '0')}`;
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    procedureName: 'Chứng thực bản sao từ bản chính',
    unitCode,
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  return { code, token: (await issueSurveyToken(code, new Date(), 24)).token };
}

async function nth(id: number, count: number) {
  await fake.waitFor(() => fake.sentTo(id).length >= count, 30_000, `${count} messages to ${id}`);
  return fake.sentTo(id)[count - 1]!;
}

const sessionOf = (dossierCode: string) =>
  until(
    () => Session.findOne({ dossierCode }, { flowVersion: 1 }).lean(),
    `session of ${dossierCode}`,
    20_000,
  );

/** The web chat's first page for a survey link. */
async function webChat(token: string): Promise<string> {
  const res = await fetch(`${t.baseUrl}/s/${token}`);
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('flowlive', {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
  });
  await seedUnits();
  for (const f of DEFAULT_FLOW_VERSIONS) await new FlowRepository().ensure(f);
  admin = await signedIn(t, 'admin.live', 'admin');
}, 120_000);

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

test('a version published and assigned through the API is what new Telegram and web-chat surveys of that unit get; one started before keeps its version', async () => {
  // A citizen of Quảng Thái (merged into Đan Điền) starts before anything changes.
  const early = await tokenFor('19870');
  const before = fake.user(3001);
  await before.command('/start', early.token);
  expect((await nth(3001, 1)).text).toContain('trân trọng mời Ông/Bà cho ý kiến');
  await before.tapLabel('Đồng ý');
  await nth(3001, 2);
  expect((await sessionOf(early.code)).flowVersion).toBe(defaultFlow.version);

  // An admin writes, publishes and assigns a new version to Đan Điền through the API.
  const draft = await admin.post('/api/v1/flow-drafts', { key: 'default' });
  expect(draft.status).toBe(201);
  const def = draft.body.definition as { nodes: Array<{ id: string; text: { vi: string; en?: string } }> };
  def.nodes.find((x) => x.id === 'consent')!.text = { vi: NEW_CONSENT };
  def.nodes.find((x) => x.id === 'q1')!.text = { vi: NEW_Q1 };
  def.nodes.find((x) => x.id === 'q2')!.text = { vi: 'Phiên bản thử nghiệm: câu hỏi 2?' };
  const saved = await admin.request('PUT', `/api/v1/flow-drafts/${draft.body.id}`, {
    body: { rev: 0, definition: def },
  });
  expect(saved.body.valid).toBe(true);
  const published = await admin.post(`/api/v1/flow-drafts/${draft.body.id}/publish`, { rev: saved.body.rev });
  expect(published.status).toBe(201);
  const version = published.body.version as number;
  expect(version).toBe(defaultFlow.version + 1);
  const assigned = await admin.request('PUT', '/api/v1/flows/assignments', {
    body: { unitCode: 'QD-DAN-DIEN', flowKey: 'default', version },
  });
  expect(assigned.status).toBe(200);

  // New surveys in the unit (and in a commune it absorbed) get it, on Telegram and the web chat.
  const inUnit = await tokenFor('19870');
  const after = fake.user(3002);
  await after.command('/start', inUnit.token);
  expect((await nth(3002, 1)).text).toContain('Phiên bản thử nghiệm: Xã Quảng Thái kính mời Ông/Bà');
  await after.tapLabel('Đồng ý');
  expect((await nth(3002, 2)).text).toContain(NEW_Q1);
  expect((await sessionOf(inUnit.code)).flowVersion).toBe(version);
  const web = await tokenFor('QD-DAN-DIEN');
  expect(await webChat(web.token)).toContain('Phiên bản thử nghiệm');
  expect((await sessionOf(web.code)).flowVersion).toBe(version);

  // Elsewhere nothing changed: publishing alone makes nothing live.
  const elsewhere = await tokenFor('19867');
  const other = fake.user(3003);
  await other.command('/start', elsewhere.token);
  expect((await nth(3003, 1)).text).toContain('trân trọng mời Ông/Bà cho ý kiến');
  const webElsewhere = await tokenFor('19867');
  const page = await webChat(webElsewhere.token);
  expect(page).toContain('trân trọng mời Ông/Bà cho ý kiến');
  expect(page).not.toContain('Phiên bản thử nghiệm');

  // The survey started before keeps its version: its next question is the old wording.
  await before.tapLabel('5. Rất hài lòng');
  const next = await nth(3001, 3);
  expect(next.text).toContain(defaultFlow.nodes.find((x) => x.id === 'q2')!.text.vi);
  expect(next.text).not.toContain('Phiên bản thử nghiệm');
  expect((await sessionOf(early.code)).flowVersion).toBe(defaultFlow.version);
}, 120_000);
