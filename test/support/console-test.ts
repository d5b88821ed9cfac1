import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Role } from '../../app/start';
import type { UserRole } from '../../models/user';
import { createUser, GOOD_PASSWORD, seedUnits } from './api';
import { startTestApp, type TestApp } from './app';
import { launchBrowser, openPage, signIn, type PageWatch, type Width } from './browser';

/**
 * The set-up every console browser test shares (docs/console.md): the whole process serving
 * HTTP on a fresh database and prefix, the seed units, the named accounts, one browser.
 *
 *   let c: ConsoleTest;
 *   beforeAll(async () => { c = await startConsoleTest('consolex', { users: { 'xa.a': ['unit', ['QD-DAN-DIEN']] } }); }, 180_000);
 *   afterAll(() => c?.stop(), 60_000);
 */
// Browsers on a shared 2-core machine: a generous limit for every test of a file that imports
// this, never a timing assertion (a page's step took over 60 s under load).
jest.setTimeout(300_000);

export interface ConsoleTestOptions {
  /** Accounts made before the browser starts: username → [role, unit codes]. */
  users?: Record<string, readonly [UserRole, readonly string[]]>;
  /** Environment overrides of the app (startTestApp). */
  env?: Record<string, string>;
  /** The app's roles; the console needs `http`. */
  roles?: Role[];
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  watch: PageWatch;
}

export interface ConsoleTest {
  t: TestApp;
  browser: Browser;
  baseUrl: string;
  /** An account of this role and these units (made once per pair); its username. Password GOOD_PASSWORD. */
  userOf(role: UserRole, units?: readonly string[]): Promise<string>;
  /** A fresh context and page at a width, with the error watch (openPage). */
  page(width?: Width): Promise<OpenedPage>;
  /** page(width), signed in as the user through the sign-in form, landed on path. */
  signedInPage(username: string, width?: Width, path?: string): Promise<OpenedPage>;
  /** Closes the browser, then stops the app and removes its data. */
  stop(): Promise<void>;
}

export async function startConsoleTest(label: string, opts: ConsoleTestOptions = {}): Promise<ConsoleTest> {
  const t = await startTestApp(label, opts.env ?? {}, opts.roles ?? ['http']);
  let browser: Browser | undefined;
  try {
    await seedUnits();
    for (const [username, [role, units]] of Object.entries(opts.users ?? {}))
      await createUser(t, username, role, [...units]);
    browser = await launchBrowser();
  } catch (e) {
    await t.stop();
    throw e;
  }
  const b = browser;
  const made = new Map<string, Promise<string>>();
  return {
    t,
    browser: b,
    baseUrl: t.baseUrl,
    userOf(role, units = []) {
      const key = `${role}:${[...units].sort().join(',')}`;
      let name = made.get(key);
      if (!name) {
        const username = `${role}.${made.size + 1}`;
        name = createUser(t, username, role, [...units]).then(() => username);
        made.set(key, name);
      }
      return name;
    },
    page: (width = 'desktop') => openPage(b, width),
    async signedInPage(username, width = 'desktop', path = '/admin') {
      const opened = await openPage(b, width);
      await signIn(opened.page, t.baseUrl, username, GOOD_PASSWORD, path);
      return opened;
    },
    async stop() {
      await b.close().catch(() => undefined);
      await t.stop();
    },
  };
}
