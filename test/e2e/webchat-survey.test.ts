import { execFileSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { createWorkerConnection } from '../../lib/redis';
import { Answer } from '../../models/answer';
import { Dossier } from '../../models/dossier';
import { InvitationStat } from '../../models/invitation';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import type { AppContext } from '../../app/context';
import { jobAnswerSink } from '../../app/answer-sink';
import { jobConversationBackground } from '../../app/conversation-background';
import { HotStore } from '../../bot/conversation/hot-store';
import { ConversationService } from '../../bot/conversation/service';
import { FlowRepository } from '../../bot/flow/repository';
import { defaultFlow } from '../../bot/flow/default-flow';
import { createHttpServer } from '../../bot/http/server';
import { surveyPageRoutes } from '../../bot/http/routes/survey-pages';
import { webChatRoutes } from '../../bot/channels/web/routes';
import { parseDossierEvent } from '../../bot/survey/dossier-event';
import { ingestDossierEvent } from '../../bot/survey/dossier-ingest';
import { resolveSurveyToken } from '../../bot/survey/token';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { Outreach } from '../../workers/jobs/invitation-queue';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * The web chat in a real browser: Debian's chromium (scripts/install-chromium.sh) driven by
 * playwright-core, against the real HTTP server, conversation service, BullMQ workers and
 * MongoDB-compatible server. Screenshots go to $WEBCHAT_SCREENSHOT_DIR (default /tmp).
 */
const chromiumPath = execFileSync('bash', ['scripts/install-chromium.sh'], { encoding: 'utf8' }).trim();
const shots = process.env.WEBCHAT_SCREENSHOT_DIR ?? '/tmp';
const redis = testRedis();
const prefix = testPrefix('webchat');
let env: ReturnType<typeof parseEnv>;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let workers: RunningWorkers;
let producer: JobProducer;
let outreach: Outreach;

async function finishedDossier(code: string): Promise<string> {
  const parsed = parseDossierEvent({
    code,
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: '19867',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date().toISOString(),
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const r = await ingestDossierEvent(parsed.event, { env });
  if (!r.ok || !r.survey) throw new Error('no survey');
  return r.survey.webLink.replace(env.PUBLIC_URL, base);
}

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  await connectTestDb('webchat');
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
  await new FlowRepository().ensure(defaultFlow);
  env = parseEnv({ ...process.env, PUBLIC_URL: 'http://127.0.0.1:9' });
  const ctx: AppContext = { env, log: logger, redis, prefix };
  producer = new JobProducer(redis, prefix);
  workers = await startWorkers({
    ctx,
    producer,
    createConnection: () => createWorkerConnection(env.REDIS_URL),
    queues: ['ingest', 'aggregate'],
  });
  outreach = new Outreach({ ctx, senders: {} });
  const service = new ConversationService({
    flows: new FlowRepository(),
    sink: jobAnswerSink(producer),
    store: new HotStore(redis, prefix),
    background: jobConversationBackground(producer),
    resolveToken: resolveSurveyToken,
    log: logger,
    hooks: outreach.hooks(),
  });
  app = createHttpServer({ bodyLimit: env.HTTP_BODY_LIMIT });
  await app.register(surveyPageRoutes({ env, webChat: webChatRoutes({ service, env, log: logger }) }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await workers?.close();
  await outreach?.close();
  await producer?.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
}, 60_000);

test('a citizen completes the survey on a phone-sized page, and the answers are stored', async () => {
  const url = await finishedDossier('WEB-250314-0001');
  const page = await browser.newPage({ viewport: { width: 360, height: 740 }, locale: 'vi-VN' });
  page.setDefaultTimeout(8000);
  await page.goto(url);
  expect(await page.getAttribute('html', 'lang')).toBe('vi');
  await page.getByText('WEB-250314-0001').first().waitFor();
  await page.getByRole('button', { name: 'Đồng ý' }).click();

  // q1 dissatisfied → the reasons (multi-choice): toggle two, then done.
  const q1 = page.locator('section.q:not(.done) h2');
  await q1.filter({ hasText: 'thuận tiện' }).waitFor();
  // Focus moves to the new question (screen readers read it; keyboard users continue from it).
  expect(await page.evaluate('document.activeElement && document.activeElement.tagName')).toBe('H2');
  await page
    .locator('section.q:not(.done)')
    .getByRole('button', { name: '2. Không hài lòng', exact: true })
    .click();
  await page.locator('section.q:not(.done) h2', { hasText: 'vì sao' }).waitFor();
  await page
    .locator('section.q:not(.done)')
    .getByRole('button', { name: /Chờ lâu/ })
    .click();
  await page.locator('section.q:not(.done) button[aria-pressed="true"]', { hasText: 'Chờ lâu' }).waitFor();
  await page
    .locator('section.q:not(.done)')
    .getByRole('button', { name: /Thiết bị/ })
    .click();
  await page.locator('section.q:not(.done) button[aria-pressed="true"]').nth(1).waitFor();
  // A toggle redraws the question in place (one copy) and keeps focus on the pressed option.
  expect(await page.locator('section.q h2', { hasText: 'vì sao' }).count()).toBe(1);
  expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toContain(
    'Thiết bị',
  );
  await page.screenshot({ path: `${shots}/webchat-multi.png`, fullPage: true });
  await page.locator('section.q:not(.done)').getByRole('button', { name: /Xong/ }).click();

  // Resume after a reload: the same question comes back.
  await page.locator('section.q:not(.done) h2', { hasText: 'Giấy tờ' }).waitFor();
  await page.reload();
  await page.getByText('Tiếp tục khảo sát').waitFor();
  await page.locator('section.q:not(.done) h2', { hasText: 'Giấy tờ' }).waitFor();

  for (const hint of ['Giấy tờ', 'Cán bộ', 'Kết quả', 'Góp ý', 'Nhìn chung']) {
    const q = page.locator('section.q:not(.done)', { has: page.locator('h2', { hasText: hint }) });
    await q.waitFor();
    await q.getByRole('button', { name: '4. Hài lòng', exact: true }).click();
  }
  const free = page.getByLabel('Câu trả lời của Ông/Bà');
  await free.waitFor();
  await free.fill('Cần thêm ghế chờ');
  await page.getByRole('button', { name: 'Gửi' }).click();
  await page.getByText('Cảm ơn Ông/Bà').waitFor();
  await page.screenshot({ path: `${shots}/webchat-done.png`, fullPage: true });

  // Persisted by the BullMQ workers, apart from identity.
  const dossier = await waitFor(async () =>
    Dossier.findOne({ code: 'WEB-250314-0001', 'survey.responseId': { $ne: null } }).lean(),
  );
  const responseId = dossier.survey!.responseId!;
  const response = await waitFor(async () => Response.findOne({ responseId, status: 'completed' }).lean());
  expect(response).toMatchObject({ dossierCode: 'WEB-250314-0001', surveyChannel: 'web', unitCode: '19867' });
  const answers = await waitFor(async () => {
    const a = await Answer.find({ responseId }).lean();
    return a.length >= 8 ? a : null; // q1, r1, q2–q6, q7 (consent is not an answer)
  });
  const by = Object.fromEntries(answers.map((a) => [a.questionId, a]));
  expect(by.q1?.value).toBe(2);
  expect([...(by.r1?.value as string[])].sort()).toEqual(['cho', 'thiet_bi']);
  expect(by.q6?.value).toBe(4);
  expect(by.q7?.text).toBe('Cần thêm ghế chờ');
  const stats = await InvitationStat.find({ unitCode: '19867' }).lean();
  expect(stats.reduce((n, s) => n + s.completed, 0)).toBe(1);

  // The link again: already rated.
  await page.goto(url);
  await page.getByText('Hồ sơ này đã được đánh giá').waitFor();
  await page.close();
});

test('works without JavaScript: each answer is a form post returning the next question', async () => {
  const url = await finishedDossier('WEB-250314-0002');
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 360, height: 740 },
  });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole('button', { name: 'Đồng ý' }).click();
  await page.waitForURL(url);
  await page.locator('h2', { hasText: 'thuận tiện' }).waitFor();
  await page.getByRole('button', { name: '5. Rất hài lòng' }).click();
  await page.locator('h2', { hasText: 'Giấy tờ' }).waitFor();
  await page.screenshot({ path: `${shots}/webchat-nojs.png`, fullPage: true });
  await context.close();
});

test('an unknown token gets a polite page, not an error', async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${base}/s/${'A'.repeat(32)}`);
  expect(res?.status()).toBe(200);
  await page.getByText('Không tìm thấy lời mời khảo sát này').waitFor();
  await page.close();
});
