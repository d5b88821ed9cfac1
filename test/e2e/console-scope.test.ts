import ExcelJS from 'exceljs';
import type { Locator, Page } from 'playwright-core';
import { API_PREFIX } from '../../bot/http/api/register';
import { formatFor } from '../../bot/http/console/i18n';
import { SECTIONS } from '../../bot/http/console/nav';
import { hcmYear } from '../../lib/time';
import { ApiClient, GOOD_PASSWORD } from '../support/api';
import { htmxSettled, shot } from '../support/browser';
import { startConsoleTest, type ConsoleTest, type OpenedPage } from '../support/console-test';
import { ADMIN, leaks, seedTwoCommunes, TWO_COMMUNES_USERS, type CommuneData } from '../support/two-communes';

/**
 * Issue 19: a commune's user signs in and sees nothing of another commune, on any page. Xã Đan
 * Điền's official walks every section of the console's menu (nav.ts, so a section added later
 * joins the sweep) and every console page those pages link to; then opens each of Xã Quảng Điền's
 * objects at the addresses where Đan Điền's own open (404, as the API answers); then the exports.
 * No page, file or status carries Quảng Điền's names, codes, ids or figures.
 */
const year = String(hcmYear(new Date()));
const vi = formatFor('vi');
let c: ConsoleTest;
let a: CommuneData;
let b: CommuneData;
let mine: OpenedPage;
/** Every console page the sweep reached, with its status; the API files linked from them. */
const reached = new Map<string, number>();
const files = new Set<string>();

/** Never followed: they change the session or the language, or are not pages. */
const NOT_PAGES = /^\/admin\/(logout|login|lang\/|assets\/)/;
const MAX_PAGES = 80;

interface Seen {
  status: number;
  html: string;
  links: string[];
}

/** The links' targets, read in the page in one round trip. */
function hrefs(l: Locator): Promise<string[]> {
  return l.evaluateAll((as: Array<{ getAttribute(name: string): string | null }>) =>
    as.map((x) => x.getAttribute('href') ?? ''),
  );
}

/** Opens the path, waits for the htmx requests the page makes on load, and reads it. */
async function visit(page: Page, path: string): Promise<Seen> {
  const res = await page.goto(`${c.baseUrl}${path}`);
  await htmxSettled(page);
  const links = await hrefs(page.locator('a[href]'));
  return { status: res!.status(), html: await page.content(), links };
}

beforeAll(async () => {
  c = await startConsoleTest('consolescope', { users: TWO_COMMUNES_USERS });
  ({ a, b } = await seedTwoCommunes(c));
  mine = await c.signedInPage(a.user, 'desktop');
}, 300_000);

afterAll(() => c?.stop(), 60_000);

test('every section of the menu, and every console page they link to, shows the commune’s own data and nothing of the other', async () => {
  const me = new ApiClient(c.baseUrl);
  await me.login(a.user, GOOD_PASSWORD);
  const held = new Set(
    ((await me.get(`${API_PREFIX}/auth/me`)).body as { user: { permissions: string[] } }).user.permissions,
  );
  const sections = SECTIONS.filter((s) => s.anyOf.some((p) => held.has(p))).map((s) => s.href);
  expect(sections).toEqual(expect.arrayContaining(['/admin', '/admin/flows', '/admin/cases']));
  // The menu the page shows is that list: the sweep covers what the person can reach.
  const { page } = mine;
  await visit(page, '/admin');
  const menu = await hrefs(page.getByRole('navigation', { name: 'Điều hướng chính' }).locator('a'));
  expect(menu).toEqual(sections);

  // Breadth first from the menu and last year's overview (the absorbed communes' history).
  const queue = [...sections, `/admin?unit=${a.unit}&period=2025`];
  const own = new Set<string>();
  const found: Array<{ path: string; leaked: string[] }> = [];
  while (queue.length && reached.size < MAX_PAGES) {
    const path = queue.shift()!;
    if (reached.has(path)) continue;
    const seen = await visit(page, path);
    reached.set(path, seen.status);
    found.push({ path, leaked: leaks(seen.html, b) });
    for (const m of leaks(seen.html, a)) own.add(m);
    for (const href of seen.links) {
      const u = new URL(href, c.baseUrl);
      if (u.origin !== c.baseUrl) continue;
      const p = `${u.pathname}${u.search}`;
      if (u.pathname.startsWith(API_PREFIX)) files.add(p);
      else if (u.pathname.startsWith('/admin') && !NOT_PAGES.test(u.pathname) && !reached.has(p))
        queue.push(p);
    }
  }
  expect(found.filter((f) => f.leaked.length)).toEqual([]);
  // Every page the menu and its links lead to opens.
  expect([...reached].filter(([, status]) => status !== 200)).toEqual([]);
  // The sweep saw the commune's own objects: a check that could not see them would prove nothing.
  expect([...own]).toEqual(
    expect.arrayContaining([a.unit, 'Xã Đan Điền', a.ids.case, a.ids.oldCase, a.user]),
  );
  expect([...reached.keys()]).toEqual(expect.arrayContaining([`/admin/cases/${a.ids.case}`]));
  await shot(page, 'pham-vi-xa');
});

test('the overview’s figures are the commune’s alone, not its district’s or the other commune’s', async () => {
  const admin = new ApiClient(c.baseUrl);
  await admin.login(ADMIN, GOOD_PASSWORD);
  const n = async (unit: string) =>
    ((await admin.get(`${API_PREFIX}/indices`, { unit, period: year })).body as { responses: number })
      .responses;
  const [ownN, otherN, provinceN] = [await n(a.unit), await n(b.unit), await n('46')];
  expect(otherN).not.toBe(ownN);
  expect(provinceN).toBeGreaterThanOrEqual(ownN + otherN);
  await visit(mine.page, `/admin?unit=${a.unit}&period=${year}`);
  expect(await mine.page.getByTestId('overall-n').textContent()).toContain(`từ ${vi.count(ownN)} phiếu`);
});

test('each of the other commune’s objects, at the address where the commune’s own opens, is a 404 with nothing of it', async () => {
  const pairs: Array<[string, string]> = [
    [a.ids.case, b.ids.case],
    [a.ids.oldCase, b.ids.oldCase],
    [a.ids.dossier, b.ids.dossier],
    [a.ids.response, b.ids.response],
    [a.ids.flag, b.ids.flag],
    [a.ids.broadcast, b.ids.broadcast],
    [a.unit, b.unit],
    [a.old, b.old],
  ];
  const probes = new Set<string>();
  for (const [path, status] of reached) {
    if (status !== 200) continue;
    for (const [ours, theirs] of pairs)
      if (path.includes(ours) || path.includes(encodeURIComponent(ours)))
        probes.add(path.split(ours).join(theirs).split(encodeURIComponent(ours)).join(theirs));
  }
  // Addresses the sections may give their objects, whether or not a page links to them yet.
  for (const s of SECTIONS.filter((x) => x.href !== '/admin'))
    for (const id of Object.values(b.ids)) probes.add(`${s.href}/${encodeURIComponent(id)}`);
  probes.add(`/admin?unit=${b.unit}&period=${year}`);
  probes.add(`/admin?unit=${b.old}&period=2025`);
  expect([...probes]).toEqual(expect.arrayContaining([`/admin/cases/${b.ids.case}`]));

  const wrong: Array<{ path: string; status: number; leaked: string[] }> = [];
  for (const path of probes) {
    const seen = await visit(mine.page, path);
    const leaked = leaks(seen.html, b);
    if (seen.status !== 404 || leaked.length) wrong.push({ path, status: seen.status, leaked });
  }
  expect(wrong).toEqual([]);
  await shot(mine.page, 'pham-vi-xa-khac-404');
});

/** Every text of every cell of every sheet. */
async function xlsxText(body: Buffer): Promise<string> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(body as unknown as ArrayBuffer);
  const out: string[] = [];
  for (const ws of wb.worksheets) {
    out.push(ws.name);
    ws.eachRow((row) => row.eachCell((cell) => out.push(cell.text)));
  }
  return out.join('\n');
}

test('the exports the pages link to carry the commune’s figures only; the other commune’s are a 404', async () => {
  const xlsx = [...files].filter((f) => f.includes('/reports/export.xlsx'));
  expect(xlsx.length).toBeGreaterThan(0);
  const request = mine.context.request;
  for (const path of xlsx) {
    for (const [ext, read] of [
      ['xlsx', (buf: Buffer) => xlsxText(buf)],
      ['csv', async (buf: Buffer) => buf.toString('utf8')],
    ] as const) {
      const url = path.replace('/export.xlsx', `/export.${ext}`);
      const res = await request.get(`${c.baseUrl}${url}`);
      expect([url, res.status()]).toEqual([url, 200]);
      const text = await read(await res.body());
      expect([url, leaks(text, b)]).toEqual([url, []]);
      // The file is the commune's own: a check of an empty file would prove nothing.
      expect([url, leaks(text, a).includes(a.unit)]).toEqual([url, true]);
      for (const [ours, theirs] of [
        [a.unit, b.unit],
        [a.old, b.old],
      ])
        if (url.includes(`unit=${ours}`)) {
          const other = url.replace(`unit=${ours}`, `unit=${theirs}`);
          const r = await request.get(`${c.baseUrl}${other}`);
          expect([other, r.status()]).toEqual([other, 404]);
          expect([other, leaks(await r.text(), b)]).toEqual([other, []]);
        }
    }
  }
  for (const unit of [b.unit, b.old])
    for (const ext of ['csv', 'xlsx']) {
      const r = await request.get(`${c.baseUrl}${API_PREFIX}/reports/export.${ext}?unit=${unit}&period=2025`);
      expect([unit, ext, r.status()]).toEqual([unit, ext, 404]);
    }
});
