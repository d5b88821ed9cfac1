import http from 'node:http';
import type { Locator, Page } from 'playwright-core';
import { SECTIONS } from '../../bot/http/console/nav';
import { a11yViolations, htmxSettled, shot, type Width, WIDTHS } from '../support/browser';
import { startConsoleTest, type ConsoleTest } from '../support/console-test';
import { ADMIN, seedTwoCommunes, TWO_COMMUNES_USERS } from '../support/two-communes';

/**
 * Issue 19, across the console: every section of the menu (nav.ts, so sections added later are
 * checked too) and the first page each links to deeper inside it pass the accessibility check
 * at a phone and a desktop width, for an admin (every section) and a commune's official; and
 * the JavaScript and CSS a page loads, measured as the server sends them, stay under 400 KB.
 */
const NOT_PAGES = /^\/admin\/(logout|login|lang\/|assets\/)/;
const BUDGET = 400 * 1024;
let c: ConsoleTest;

beforeAll(async () => {
  c = await startConsoleTest('consolepages', { users: TWO_COMMUNES_USERS });
  await seedTwoCommunes(c);
}, 300_000);

afterAll(() => c?.stop(), 60_000);

function hrefs(l: Locator): Promise<string[]> {
  return l.evaluateAll((as: Array<{ getAttribute(name: string): string | null }>) =>
    as.map((x) => x.getAttribute('href') ?? ''),
  );
}

async function open(page: Page, path: string): Promise<number> {
  const res = await page.goto(`${c.baseUrl}${path}`);
  await htmxSettled(page);
  return res!.status();
}

/**
 * The menu's sections the signed-in person sees (checked against nav.ts), each followed by the
 * first page it links to deeper inside it (a case, a flow version, a drill-down), when it has one.
 */
async function pagesOf(page: Page): Promise<string[]> {
  await open(page, '/admin');
  const menu = await hrefs(page.getByRole('navigation', { name: 'Điều hướng chính' }).locator('a'));
  const known = SECTIONS.map((s) => s.href);
  expect(menu.filter((h) => !known.includes(h))).toEqual([]);
  const pages: string[] = [];
  for (const href of menu) {
    pages.push(href);
    expect([href, await open(page, href)]).toEqual([href, 200]);
    const deeper = (await hrefs(page.locator('main a[href]'))).find((h) => {
      const u = new URL(h, c.baseUrl);
      if (u.origin !== c.baseUrl || NOT_PAGES.test(u.pathname)) return false;
      return href === '/admin'
        ? u.pathname === '/admin' && u.search !== ''
        : u.pathname.startsWith(`${href}/`);
    });
    if (deeper) pages.push(new URL(deeper, c.baseUrl).pathname + new URL(deeper, c.baseUrl).search);
  }
  return pages;
}

// One test per person and width: axe on a dozen pages takes minutes on the loaded 2-core machine.
for (const user of [ADMIN, 'xa.dandien'])
  for (const width of Object.keys(WIDTHS) as Width[])
    test(`every page ${user} reaches passes the accessibility check at the ${width} width`, async () => {
      const failing: Array<{ path: string; violations: string[] }> = [];
      const { context, page, watch } = await c.signedInPage(user, width);
      const pages = await pagesOf(page);
      for (const path of pages) {
        await open(page, path);
        const violations = await a11yViolations(page);
        if (violations.length) failing.push({ path, violations });
        await shot(page, `trang-${user}-${path.replace(/[^a-z0-9]+/gi, '-')}-${width}`);
      }
      expect(watch.errors).toEqual([]);
      await context.close();
      expect(failing).toEqual([]);
      // At least the menu's overview, flows and cases, and a page inside each.
      expect(pages.length).toBeGreaterThanOrEqual(6);
    }, 900_000);

/** One GET as the browser sent it (its Accept-Encoding): the bytes on the wire and their encoding. */
function wire(url: string, acceptEncoding: string): Promise<{ bytes: number; encoding: string | null }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve({ bytes, encoding: (res.headers['content-encoding'] as string | undefined) ?? null })
            : reject(new Error(`${url}: ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

/** What Chromium sends, so the server answers as it answers the browser. */
const CHROMIUM_ACCEPT = 'gzip, deflate, br, zstd';

test('the JavaScript and CSS each page loads weigh under 400 KB as the server sends them', async () => {
  const { context, page } = await c.signedInPage(ADMIN, 'desktop');
  const weights: Record<string, number> = {};
  for (const path of await pagesOf(page)) {
    await open(page, path);
    // The console's scripts and styles are files it links (its CSP allows no inline ones).
    const assets = [
      ...(await page
        .locator('script[src]')
        .evaluateAll((xs: Array<{ src: string }>) => xs.map((x) => x.src))),
      ...(await page
        .locator('link[rel=stylesheet]')
        .evaluateAll((xs: Array<{ href: string }>) => xs.map((x) => x.href))),
    ];
    expect([path, assets.some((u) => u.includes('/admin/assets/console.css'))]).toEqual([path, true]);
    let total = 0;
    for (const url of new Set(assets)) {
      const { bytes, encoding } = await wire(url, CHROMIUM_ACCEPT);
      expect([url, encoding === 'br' || encoding === 'gzip']).toEqual([url, true]);
      total += bytes;
    }
    weights[path] = total;
  }
  await context.close();
  expect(Object.keys(weights).length).toBeGreaterThanOrEqual(3);
  expect(Object.entries(weights).filter(([, w]) => w >= BUDGET || w < 5_000)).toEqual([]);
});
