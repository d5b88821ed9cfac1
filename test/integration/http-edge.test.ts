import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { UpdateInbox } from '../../bot/channels/telegram/update-inbox';
import { telegramWebhookRoute } from '../../bot/channels/telegram/webhook-route';
import { dossierRoutes } from '../../bot/http/routes/dossiers';
import { surveyPageRoutes } from '../../bot/http/routes/survey-pages';
import { createHttpServer, MAX_JSON_DEPTH } from '../../bot/http/server';
import { issueSurveyToken } from '../../bot/survey/token';
import { createApiKey } from '../../lib/api-auth';
import { Dossier } from '../../models/dossier';
import { startTestApp, type TestApp } from '../support/app';
import { clearPrefix, testPrefix } from '../support/services';

/**
 * The HTTP edge of the whole process (startApp: web chat, API, pages) and, for what it logs, the
 * same server built with a logger that writes to memory.
 */
const SECRET = 'edge_webhook-secret';
let t: TestApp;
let key: string;
let token: string;
let edge: FastifyInstance;
let edgeUrl: string;
const edgePrefix = testPrefix('httpedge');
const lines: Array<Record<string, unknown>> = [];
let logText = '';

function logLines(): Array<Record<string, unknown>> {
  return lines;
}

async function dossierWithToken(code: string): Promise<string> {
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    unitCode: '19870',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  return (await issueSurveyToken(code, new Date(), 24)).token;
}

function nested(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

beforeAll(async () => {
  t = await startTestApp('httpedge');
  key = (await createApiKey({ name: 'edge' })).key;
  token = await dossierWithToken('EDGE-0001');

  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logText += l + '\n';
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const ctx = { env: t.env, log, redis: t.redis, prefix: edgePrefix };
  edge = createHttpServer({ bodyLimit: t.env.HTTP_BODY_LIMIT, log });
  edge.get('/boom', () => Promise.reject(new Error('kaboom')));
  await edge.register(dossierRoutes({ ctx }));
  await edge.register(surveyPageRoutes({ env: t.env }));
  await edge.register(
    telegramWebhookRoute({
      secret: SECRET,
      inbox: new UpdateInbox(t.redis, edgePrefix, 'edge', () => Promise.resolve(), log),
      log,
    }),
  );
  edgeUrl = await edge.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await edge?.close();
  if (t) await clearPrefix(t.redis, edgePrefix);
  await t?.stop();
});

function postApi(base: string, body: string, contentType: string) {
  return fetch(`${base}/api/v1/dossiers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    body,
  });
}

test('non-JSON bodies on the JSON routes get 415, while the web chat still takes its form posts', async () => {
  const body = JSON.stringify({ code: 'EDGE-0002' });
  for (const type of [
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'application/xml',
  ]) {
    const r = await postApi(t.baseUrl, body, type);
    expect([type, r.status]).toEqual([type, 415]);
    expect(((await r.json()) as { error: string }).error).toBe('unsupported_media_type');
  }
  expect(await Dossier.countDocuments({ code: 'EDGE-0002' })).toBe(0);

  // The web chat: the page, then a form post of its first button, as a browser without JavaScript.
  const page = await fetch(`${t.baseUrl}/s/${token}`);
  expect(page.status).toBe(200);
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
  const button = /name="a" value="([^"]+)"/.exec(await page.text());
  expect(button).not.toBeNull();
  const answer = await fetch(`${t.baseUrl}/s/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ a: button![1]!.replace(/&amp;/g, '&') }).toString(),
  });
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toContain('text/html');
  const plain = await fetch(`${t.baseUrl}/s/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', cookie },
    body: 'a=1',
  });
  expect(plain.status).toBe(415);
});

test('JSON nested deeper than the limit, or with a __proto__ key, is a 400 on every JSON route', async () => {
  // The Telegram webhook stores the update as JSON: a deep one used to fail there with a 503.
  const webhook = (body: string) =>
    fetch(`${edgeUrl}/webhooks/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      body,
    });
  const deepUpdate = await webhook(`{"update_id":1,"message":${nested(10_000)}}`);
  expect(deepUpdate.status).toBe(400);
  expect(await deepUpdate.json()).toEqual({
    error: 'bad_request',
    message: `JSON body nested deeper than ${MAX_JSON_DEPTH} levels`,
  });
  // At the limit (the update object, then MAX_JSON_DEPTH - 1 levels inside it) it is taken.
  expect((await webhook(`{"update_id":2,"message":${nested(MAX_JSON_DEPTH - 1)}}`)).status).toBe(200);
  expect((await webhook(`{"update_id":3,"message":${nested(MAX_JSON_DEPTH)}}`)).status).toBe(400);

  expect((await postApi(t.baseUrl, nested(10_000), 'application/json')).status).toBe(400);
  const poisoned = await postApi(
    t.baseUrl,
    '{"code":"EDGE-0003","__proto__":{"admin":true}}',
    'application/json',
  );
  expect(poisoned.status).toBe(400);
  expect(((await poisoned.json()) as { message: string }).message).toContain('__proto__');
});

test('a 5xx is logged with its error and request id; request lines name the route, never the URL, a key or a phone', async () => {
  const boom = await fetch(`${edgeUrl}/boom?q=secret-query`);
  expect(boom.status).toBe(500);
  expect(await boom.json()).toEqual({ error: 'internal', message: 'internal error' });
  const reqId = boom.headers.get('x-request-id');
  expect(reqId).toMatch(/^[0-9a-f-]{36}$/);
  const failed = logLines().find((l) => l.msg === 'request failed');
  expect(failed).toMatchObject({
    level: 50,
    reqId,
    component: 'http',
    err: { message: 'kaboom' },
    req: { method: 'GET', route: '/boom' },
  });
  expect((failed!.err as { stack: string }).stack).toContain('kaboom');

  const qr = await fetch(`${edgeUrl}/s/${token}/qr.png?for=telegram&x=secret-query`);
  expect(qr.status).toBe(404); // Telegram is not configured in this process
  const posted = await fetch(`${edgeUrl}/api/v1/dossiers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      code: 'EDGE-0004',
      procedureCode: 'P1',
      unitCode: '19870',
      channel: 'in_person',
      status: 'received',
      receivedAt: '2025-03-14T09:30:00+07:00',
      applicant: { phone: '0912 345 678' },
    }),
  });
  expect(posted.status).toBe(201);

  const completed = logLines().filter((l) => l.msg === 'request completed');
  expect(completed.map((l) => (l.req as { route: string }).route)).toEqual(
    expect.arrayContaining(['/boom', '/s/:token/qr.:ext', '/api/v1/dossiers']),
  );
  expect(completed.find((l) => (l.req as { route: string }).route === '/api/v1/dossiers')).toMatchObject({
    res: { statusCode: 201 },
    reqId: expect.any(String),
  });
  for (const secret of [
    token,
    'secret-query',
    key,
    key.split('_').slice(2).join('_'),
    '912345678',
    '0912 345 678',
  ])
    expect(logText).not.toContain(secret);
});

test('a platform webhook’s request line is written at debug level: none at info, one at debug', async () => {
  const post = (base: string, updateId: number) =>
    fetch(`${base}/webhooks/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      body: JSON.stringify({ update_id: updateId }),
    });
  const webhookLines = (ls: Array<Record<string, unknown>>) =>
    ls.filter(
      (l) => l.msg === 'request completed' && (l.req as { route?: string }).route === '/webhooks/telegram',
    );
  // The edge server logs at info: the webhook's call is answered and writes no line, the API's does.
  expect((await post(edgeUrl, 9_001)).status).toBe(200);
  expect((await postApi(edgeUrl, '{}', 'text/plain')).status).toBe(415);
  await new Promise((r) => setImmediate(r));
  expect(webhookLines(lines)).toEqual([]);
  expect(
    lines.some(
      (l) => l.msg === 'request completed' && (l.req as { route?: string }).route === '/api/v1/dossiers',
    ),
  ).toBe(true);

  const debugLines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
        debugLines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const debugEdge = createHttpServer({ bodyLimit: t.env.HTTP_BODY_LIMIT, log });
  await debugEdge.register(
    telegramWebhookRoute({
      secret: SECRET,
      inbox: new UpdateInbox(t.redis, edgePrefix, 'edge-debug', () => Promise.resolve(), log),
      log,
    }),
  );
  const debugUrl = await debugEdge.listen({ port: 0, host: '127.0.0.1' });
  try {
    expect((await post(debugUrl, 9_002)).status).toBe(200);
    await new Promise((r) => setImmediate(r));
    expect(webhookLines(debugLines)).toEqual([
      expect.objectContaining({ level: 20, res: { statusCode: 200 }, reqId: expect.any(String) }),
    ]);
  } finally {
    await debugEdge.close();
  }
});
