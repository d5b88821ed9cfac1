import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { createWorkerConnection } from '../../lib/redis';
import { Answer } from '../../models/answer';
import { Dossier } from '../../models/dossier';
import { InvitationStat } from '../../models/invitation';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import type { AppContext } from '../../lib/app-context';
import { jobAnswerSink } from '../../workers/answer-sink';
import { jobConversationBackground } from '../../workers/conversation-background';
import { LiveStore } from '../../bot/conversation/live-store';
import { ConversationService } from '../../bot/conversation/service';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
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
 * MongoDB-compatible server. Screenshots at phone and desktop widths go to
 * $WEBCHAT_SCREENSHOT_DIR (default test-artifacts/, git-ignored): look at them after a change.
 */
const chromiumPath = execFileSync('bash', ['scripts/install-chromium.sh'], { encoding: 'utf8' }).trim();
const shots = process.env.WEBCHAT_SCREENSHOT_DIR ?? join(__dirname, '..', '..', 'test-artifacts');
mkdirSync(shots, { recursive: true });
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
  const r = await ingestDossierEvent(parsed.event, { env, rollups: null });
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
    createConnection: () => createWorkerConnection(env),
    queues: ['ingest', 'aggregate'],
  });
  outreach = new Outreach({ ctx, senders: {} });
  const service = new ConversationService({
    flows: new FlowRepository(),
    sink: jobAnswerSink(producer),
    store: new LiveStore(redis, prefix),
    records: mongoConversationRecords(),
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

const open = (page: Page) => page.locator('section.q:has(form)');

test('a citizen completes the survey on a phone-sized page, and the answers are stored', async () => {
  const url = await finishedDossier('WEB-250314-0001');
  const page = await browser.newPage({ viewport: { width: 360, height: 740 }, locale: 'vi-VN' });
  page.setDefaultTimeout(8000);
  await page.goto(url);
  expect(await page.getAttribute('html', 'lang')).toBe('vi');
  await page.getByText('WEB-250314-0001').first().waitFor();
  await page.getByRole('button', { name: 'Đồng ý', exact: true }).click();

  // q1 dissatisfied → the reasons (multi-choice): toggle two, then done.
  await open(page).locator('h2', { hasText: 'tiếp cận dịch vụ' }).waitFor();
  expect(await open(page).locator('.progress').textContent()).toBe('Câu 1/7');
  // Focus moves to the new question's first answer (keyboard users go on from there), not its heading.
  expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe(
    '1. Rất không hài lòng',
  );
  await open(page).getByRole('button', { name: '2. Không hài lòng', exact: true }).click();
  await open(page).locator('h2', { hasText: 'chưa hài lòng về điều gì' }).waitFor();
  await open(page)
    .getByRole('button', { name: /chờ lâu/ })
    .click();
  await open(page).locator('button[aria-pressed="true"]', { hasText: 'chờ lâu' }).waitFor();
  await open(page).getByRole('button', { name: 'Lý do khác' }).click();
  await open(page).locator('button[aria-pressed="true"]').nth(1).waitFor();
  // A toggle changes the button in place (one copy of the question) and keeps focus on it.
  expect(await page.locator('section.q h2', { hasText: 'chưa hài lòng về điều gì' }).count()).toBe(1);
  expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe(
    'Lý do khác',
  );
  await page.screenshot({ path: `${shots}/webchat-phone-multi.png`, fullPage: true });
  await open(page).getByRole('button', { name: /Xong/ }).click();

  // "Khác": a text box to describe it (it was a dead end), and the choices said back, not "Xong".
  const other = page.getByLabel('Câu trả lời của Ông/Bà');
  await other.waitFor();
  expect(await page.locator('ul.me li').allTextContents()).toEqual([
    'Phải chờ lâu, thiếu chỗ ngồi',
    'Lý do khác',
  ]);
  expect(await page.locator('.me', { hasText: 'Xong' }).count()).toBe(0);
  await page.screenshot({ path: `${shots}/webchat-phone-other.png`, fullPage: true });
  // A reload in the middle asks for it again (it used to answer every button "already answered").
  await page.reload();
  await page.getByText('Tiếp tục khảo sát').waitFor();
  await page.getByLabel('Câu trả lời của Ông/Bà').fill('Không có chỗ để xe');
  await page.getByRole('button', { name: 'Gửi' }).click();

  await open(page).locator('h2', { hasText: 'niêm yết công khai' }).waitFor();
  expect(await open(page).locator('.progress').textContent()).toBe('Câu 2/7');
  for (const hint of [
    'niêm yết công khai',
    'cán bộ, công chức',
    'kết quả giải quyết',
    'góp ý, phản ánh hoặc kiến nghị',
    'Nhìn chung',
  ]) {
    const q = page.locator('section.q:has(form)', { has: page.locator('h2', { hasText: hint }) });
    await q.waitFor();
    await q.getByRole('button', { name: '4. Hài lòng', exact: true }).click();
    await page.locator('.me', { hasText: '4. Hài lòng' }).last().waitFor();
  }
  // The optional suggestion: "Bỏ qua" instead of typing "bỏ qua".
  await open(page).locator('.progress', { hasText: 'Câu 7/7' }).waitFor();
  await open(page).getByRole('button', { name: 'Bỏ qua' }).click();
  // A 1 or 2 opens a case: the unit head will see it; the web chat says it cannot contact back.
  await page.getByText('sẽ được chuyển đến lãnh đạo Thị trấn Sịa').waitFor();
  await page.getByText('không thể liên hệ lại').waitFor();
  await page.screenshot({ path: `${shots}/webchat-phone-done.png`, fullPage: true });

  // Persisted by the BullMQ workers, apart from identity.
  const dossier = await waitFor(async () =>
    Dossier.findOne({ code: 'WEB-250314-0001', 'survey.responseId': { $ne: null } }).lean(),
  );
  const responseId = dossier.survey!.responseId!;
  const response = await waitFor(async () => Response.findOne({ responseId, status: 'completed' }).lean());
  expect(response).toMatchObject({
    dossierCode: 'WEB-250314-0001',
    surveyChannel: 'web',
    unitCode: '19867',
    flowVersion: 2,
  });
  const answers = await waitFor(async () => {
    const a = await Answer.find({ responseId }).lean();
    return a.length >= 7 ? a : null; // q1, r1, q2–q6 (consent is not an answer; q7 skipped)
  });
  const by = Object.fromEntries(answers.map((a) => [a.questionId, a]));
  expect(by.q1?.value).toBe(2);
  expect([...(by.r1?.value as string[])].sort()).toEqual(['cho', 'khac']);
  expect(by.r1?.text).toBe('Không có chỗ để xe');
  expect(by.q6?.value).toBe(4);
  expect(by.q7).toBeUndefined();
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
  await page.getByRole('button', { name: 'Đồng ý', exact: true }).click();
  await page.waitForURL(url);
  await page.locator('h2', { hasText: 'tiếp cận dịch vụ' }).waitFor();
  await page.getByRole('button', { name: '1. Rất không hài lòng' }).click();
  await page.getByRole('button', { name: 'Lý do khác' }).click();
  await page.locator('button[aria-pressed="true"]', { hasText: 'Lý do khác' }).waitFor();
  await page.getByRole('button', { name: /Xong/ }).click();
  // The "Khác" text box, and its "Bỏ qua" submits with the box left empty.
  await page.getByLabel('Câu trả lời của Ông/Bà').waitFor();
  await page.getByRole('button', { name: 'Bỏ qua' }).click();
  await page.locator('h2', { hasText: 'niêm yết công khai' }).waitFor();
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

/** sRGB relative luminance of a CSS rgb()/rgba() colour. */
function luminance(css: string): number {
  const [r, g, b] = css
    .match(/[\d.]+/g)!
    .slice(0, 3)
    .map((v) => Number(v) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
};

describe('accessibility', () => {
  test('every control shows a focus ring with at least 3:1 contrast against what surrounds it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(await finishedDossier('WEB-250314-0003'));
    await page.getByRole('button', { name: 'Đồng ý', exact: true }).click();
    await open(page).getByRole('button', { name: '1. Rất không hài lòng' }).click();
    await open(page)
      .getByRole('button', { name: /chờ lâu/ })
      .click();
    await open(page).locator('button[aria-pressed="true"]').waitFor();
    await page.screenshot({ path: `${shots}/webchat-desktop-multi.png`, fullPage: true });
    const rings: Array<{ what: string; ring: string; width: number; around: string }> = [];
    const tabThrough = async () => {
      await page.evaluate('document.activeElement && document.activeElement.blur()');
      for (let i = 0; i < 20; i++) {
        await page.keyboard.press('Tab');
        const r = await page.evaluate(`(() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const cs = getComputedStyle(el);
          let p = el.parentElement, around = 'rgb(255, 255, 255)';
          for (; p; p = p.parentElement) { const bg = getComputedStyle(p).backgroundColor; if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') { around = bg; break; } }
          return { what: el.tagName + ':' + (el.textContent || el.getAttribute('name') || '').trim().slice(0, 30), ring: cs.outlineColor, width: cs.outlineStyle === 'none' ? 0 : parseFloat(cs.outlineWidth), around };
        })()`);
        if (r) rings.push(r as (typeof rings)[number]);
      }
    };
    await tabThrough();
    // The "Khác" text box and its buttons.
    await open(page).getByRole('button', { name: 'Lý do khác' }).click();
    await open(page).locator('button[aria-pressed="true"]').nth(1).waitFor();
    await open(page).getByRole('button', { name: /Xong/ }).click();
    await page.getByLabel('Câu trả lời của Ông/Bà').waitFor();
    await page.screenshot({ path: `${shots}/webchat-desktop-other.png`, fullPage: true });
    await tabThrough();
    const kinds = new Set(rings.map((r) => r.what.split(':')[0]));
    expect([...kinds].sort()).toEqual(['BUTTON', 'TEXTAREA']);
    for (const r of rings) {
      expect({ ...r, ok: r.width >= 2 }).toMatchObject({ ok: true });
      expect({
        ...r,
        contrast: contrast(r.ring, r.around) >= 3 && contrast(r.ring, 'rgb(255, 255, 255)') >= 3,
      }).toMatchObject({ contrast: true });
    }
    await page.close();
  });

  test("a question's text is announced once: one live region, no second copy, focus not on the text", async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
    await page.goto(await finishedDossier('WEB-250314-0004'));
    await page.getByRole('button', { name: 'Đồng ý', exact: true }).click();
    const heading = open(page).locator('h2');
    await heading.filter({ hasText: 'tiếp cận dịch vụ' }).waitFor();
    const text = (await heading.textContent())!;
    const live = await page.locator('[aria-live], [role="log"], [role="status"], [role="alert"]').count();
    expect(live).toBe(1);
    // The question's words are on the page once (no hidden legend or label repeating them)…
    // (Strings run in the page: this project's TypeScript has no DOM types.)
    const copies = (await page.evaluate(
      `(() => {
      const all = [document.body.textContent || '', ...[...document.querySelectorAll('[aria-label]')].map((e) => e.getAttribute('aria-label') || '')].join('\\n');
      return all.split(${JSON.stringify('__T__')}).length - 1;
    })()`.replace('"__T__"', JSON.stringify(text)),
    )) as number;
    expect(copies).toBe(1);
    // …no element is named by them (a group entered or a region focused would read them again)…
    const id = await heading.getAttribute('id');
    expect(await page.locator(`[aria-labelledby~="${id}"], [aria-describedby~="${id}"]`).count()).toBe(0);
    // …and focus is on an answer, not on the text.
    const focused = await page.evaluate(
      'document.activeElement ? document.activeElement.tagName + "|" + document.activeElement.textContent : ""',
    );
    expect(focused).toBe('BUTTON|1. Rất không hài lòng');
    await page.close();
  });

  test('a tap on a phone leaves no unselected option looking selected', async () => {
    const context = await browser.newContext({
      viewport: { width: 360, height: 740 },
      hasTouch: true,
      isMobile: true,
    });
    const page = await context.newPage();
    await page.goto(await finishedDossier('WEB-250314-0005'));
    await page.getByRole('button', { name: 'Đồng ý', exact: true }).tap();
    await open(page).getByRole('button', { name: '2. Không hài lòng', exact: true }).tap();
    const option = open(page).getByRole('button', { name: /chờ lâu/ });
    await option.tap();
    await open(page).locator('button[aria-pressed="true"]').waitFor();
    await option.tap();
    // A locator wait, not waitForFunction: a string predicate polls through eval, which the
    // page's CSP refuses whenever the first check is not already true.
    await page.locator('button[aria-pressed="true"]').waitFor({ state: 'detached' });
    const look = (l: typeof option) =>
      l.evaluate(
        '(el) => { const cs = getComputedStyle(el); return { bg: cs.backgroundColor, color: cs.color, outline: cs.outlineStyle }; }',
      ) as Promise<unknown>;
    const untouched = await look(open(page).getByRole('button', { name: /thiết bị/ }));
    expect(await look(option)).toEqual(untouched);
    // The viewport, not fullPage: a full-page capture lifts the phone emulation for a moment (and
    // with it `hover: none`), which would show a hover this phone never shows.
    await option.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${shots}/webchat-phone-touch.png` });
    await context.close();
  });
});
