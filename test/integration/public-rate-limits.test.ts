import { addressBudgetOf } from '../../bot/http/rate-limit';
import { startTestApp, type TestApp } from '../support/app';

/**
 * What the address budgets cover on the whole server as `hailong start` builds it: the web chat
 * (pages and answers), the dossier endpoints (posting, the DVC feed, reading one by code), with
 * refused authentication counted; the web chat's static assets are not counted.
 */
let t: TestApp;
const BUDGET = 4;

beforeAll(async () => {
  t = await startTestApp('publicrl', {
    RATE_LIMIT_WEB_PER_MIN: String(BUDGET),
    RATE_LIMIT_API_PER_MIN: String(BUDGET),
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

function req(path: string, from: string, init: RequestInit = {}) {
  return fetch(t.baseUrl + path, {
    ...init,
    headers: { 'x-forwarded-for': from, ...(init.headers as Record<string, string>) },
  });
}

async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
}

test('which routes count against which budget', () => {
  expect(addressBudgetOf('/s/:token')).toBe('web');
  expect(addressBudgetOf('/s/u/:unit')).toBe('web');
  expect(addressBudgetOf('/s/:token/qr.:ext')).toBe('web');
  expect(addressBudgetOf('/ket-qua/:unit')).toBe('web');
  expect(addressBudgetOf('/s/assets/:file')).toBeNull();
  expect(addressBudgetOf('/api/v1/dossiers')).toBe('api');
  expect(addressBudgetOf('/api/v1/dossiers/dvc')).toBe('api');
  expect(addressBudgetOf('/api/v1/dossiers/:code')).toBe('api');
  expect(addressBudgetOf('/webhooks/telegram')).toBeNull();
});

test('guessing a dossier code with a made-up key is counted before authentication: 401s, then 429', async () => {
  const got = await statuses(BUDGET + 2, () =>
    req('/api/v1/dossiers/HS-0001', '203.0.113.21', {
      headers: { authorization: 'Bearer hl_nokey_nosecret' },
    }),
  );
  expect(got).toEqual([...Array<number>(BUDGET).fill(401), 429, 429]);
});

test('the DVC feed and dossier posts share the address budget', async () => {
  const post = (path: string) =>
    req(path, '203.0.113.22', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
  const got = [
    ...(await statuses(2, () => post('/api/v1/dossiers'))),
    ...(await statuses(3, () => post('/api/v1/dossiers/dvc'))),
  ];
  expect(got).toEqual([401, 401, 401, 401, 429]);
});

test('web chat answers are counted; its script and style sheet are not', async () => {
  const from = '203.0.113.23';
  const assets = await statuses(10, () => req('/s/assets/chat.js', from));
  expect(assets).toEqual(Array<number>(10).fill(200));
  const answers = await statuses(BUDGET + 1, () =>
    req(`/s/${'C'.repeat(32)}`, from, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'text=xin+ch%C3%A0o',
    }),
  );
  expect(answers).toEqual([...Array<number>(BUDGET).fill(200), 429]);
  // Over the budget, the assets still load (the 429 page uses the style sheet).
  expect((await req('/s/assets/chat.css', from)).status).toBe(200);
});
