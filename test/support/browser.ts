import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { GOOD_PASSWORD } from './api';

/**
 * Browser tests of the console (docs/console.md): Debian's chromium (scripts/install-chromium.sh)
 * driven by playwright-core against the whole process. Screenshots go to test-artifacts/console/
 * (git-ignored; look at them after a change) and, with CONSOLE_DOCS_SHOTS=1, also to docs/img/
 * for the user guide (docs/huong-dan-su-dung.md), which commits them.
 */
const ROOT = join(__dirname, '..', '..');
export const SHOTS_DIR = process.env.CONSOLE_SCREENSHOT_DIR ?? join(ROOT, 'test-artifacts', 'console');
const DOCS_IMG = join(ROOT, 'docs', 'img');

/** The two widths every page is checked at: a phone and an office PC. */
export const WIDTHS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 900 } } as const;
export type Width = keyof typeof WIDTHS;

let chromiumPath: string | null = null;

export async function launchBrowser(): Promise<Browser> {
  chromiumPath ??= execFileSync('bash', [join(ROOT, 'scripts', 'install-chromium.sh')], {
    encoding: 'utf8',
  }).trim();
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}

/** What went wrong in the page: script errors and console errors (a CSP refusal is one). */
export interface PageWatch {
  errors: string[];
}

/** A fresh context (its own cookies) at a width, Vietnamese, Asia/Ho_Chi_Minh. */
export async function openPage(
  browser: Browser,
  width: Width = 'desktop',
): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({
    viewport: WIDTHS[width],
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const watch: PageWatch = { errors: [] };
  page.on('pageerror', (e) => watch.errors.push(`pageerror: ${e.message}`));
  // A page answered 401 or 400 (a refused sign-in, a form with errors) is not a fault; a script,
  // style or fragment that fails to load is.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      watch.errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && r.request().resourceType() !== 'document')
      watch.errors.push(`${r.status()} ${r.request().resourceType()} ${new URL(r.url()).pathname}`);
  });
  return { context, page, watch };
}

/** Signs in through the sign-in form, as a person would, and waits for the page after it. */
export async function signIn(
  page: Page,
  baseUrl: string,
  username: string,
  password = GOOD_PASSWORD,
  path = '/admin',
): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('Tên đăng nhập').fill(username);
  await page.getByLabel('Mật khẩu').fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/admin/login')),
    page.getByRole('button', { name: 'Đăng nhập' }).click(),
  ]);
}

/** Saves a full-page screenshot as <name>.png (and into docs/img/ when CONSOLE_DOCS_SHOTS=1). */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS_DIR, { recursive: true });
  const file = join(SHOTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.CONSOLE_DOCS_SHOTS === '1') {
    mkdirSync(DOCS_IMG, { recursive: true });
    await page.screenshot({ path: join(DOCS_IMG, `${name}.png`), fullPage: true });
  }
  return file;
}

/**
 * The serious and critical accessibility violations axe-core finds on the page as it is (WCAG
 * 2.1 A and AA rules), one line each: `expect(await a11yViolations(page)).toEqual([])`.
 */
export async function a11yViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} (${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')})`,
    );
}

/**
 * Waits until the page's htmx requests have settled. A function, not a string: a string is
 * evaluated in the page, which the console's content security policy (no 'unsafe-eval') refuses.
 */
export async function htmxSettled(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      !(globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(
        '.htmx-request',
      ),
  );
}
