import { DEFAULT_CSP } from '../../bot/http/security-headers';
import { startTestApp, type TestApp } from '../support/app';

/**
 * Security headers on every response of the whole HTTP server as `hailong start` builds it
 * (bot/http/security-headers.ts through one onSend hook): pages, JSON, files, errors, 404s and
 * 429s. A route's own content security policy is kept, never replaced by the default.
 */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp('secheaders', { RATE_LIMIT_WEB_PER_MIN: '3' });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

function req(path: string, init: RequestInit = {}, from = '198.51.100.1') {
  return fetch(t.baseUrl + path, {
    ...init,
    headers: { 'x-forwarded-for': from, ...(init.headers as Record<string, string>) },
  });
}

function expectBaseline(r: Response): void {
  expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  expect(r.headers.get('referrer-policy')).toBe('no-referrer');
  expect(r.headers.get('content-security-policy')).toBeTruthy();
}

const json = { 'content-type': 'application/json' };

test.each([
  ['the health endpoint', '/healthz', {}, 200],
  ['the OpenAPI document', '/api/v1/openapi.json', {}, 200],
  ['an unknown route', '/no/such/page', {}, 404],
  ['an unauthenticated API call', '/api/v1/units', {}, 401],
  ['malformed JSON', '/api/v1/dossiers', { method: 'POST', headers: json, body: '{"code":' }, 400],
  [
    'a wrong content type',
    '/api/v1/dossiers',
    { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' },
    415,
  ],
  [
    'a body over the limit',
    '/api/v1/dossiers',
    { method: 'POST', headers: json, body: `{"a":"${'x'.repeat(2_000_000)}"}` },
    413,
  ],
  [
    'the Zalo webhook without Zalo configured',
    '/webhooks/zalo',
    { method: 'POST', headers: json, body: '{}' },
    404,
  ],
] as const)(
  '%s gets the default policy, nosniff, DENY and no-referrer',
  async (_name, path, init, status) => {
    const r = await req(path, init as RequestInit);
    expect(r.status).toBe(status);
    expectBaseline(r);
    expect(r.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
  },
);

test("the web chat's own stricter policy is kept, with the default's other headers", async () => {
  const r = await req(`/s/${'A'.repeat(32)}`);
  expect(r.status).toBe(200);
  expectBaseline(r);
  const csp = r.headers.get('content-security-policy')!;
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toBe(DEFAULT_CSP);
  expect(r.headers.get('x-frame-options')).toBe('DENY');
  // Its script and style sheet (no policy of their own): the default one.
  const css = await req('/s/assets/chat.css');
  expect(css.status).toBe(200);
  expectBaseline(css);
  expect(css.headers.get('x-frame-options')).toBe('DENY');
});

test('the public results keep their policy; the embed stays frameable (no X-Frame-Options)', async () => {
  const page = await req('/ket-qua');
  expect(page.status).toBe(200);
  expectBaseline(page);
  expect(page.headers.get('content-security-policy')).toContain('style-src');
  expect(page.headers.get('x-frame-options')).toBe('DENY');

  const embed = await req('/ket-qua/19870/embed');
  expectBaseline(embed);
  expect(embed.headers.get('content-security-policy')).toContain('frame-ancestors *');
  expect(embed.headers.get('x-frame-options')).toBeNull();
});

test('the API documentation keeps its own policy', async () => {
  const r = await req('/api/docs/static/index.html');
  expect(r.status).toBe(200);
  expectBaseline(r);
  expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(r.headers.get('x-frame-options')).toBe('DENY');
});

test("a refused request (429) has the headers too, the survey page's 429 included", async () => {
  let last: Response | undefined;
  for (let i = 0; i < 5; i++)
    last = await req(`/s/${'B'.repeat(32)}`, { headers: { accept: 'text/html' } }, '198.51.100.77');
  expect(last!.status).toBe(429);
  expectBaseline(last!);
  expect(last!.headers.get('x-frame-options')).toBe('DENY');
});
