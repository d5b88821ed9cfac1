import type { FastifyInstance } from 'fastify';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { jobAnswerSink } from '../../workers/answer-sink';
import { jobConversationBackground } from '../../workers/conversation-background';
import { LiveStore } from '../../bot/conversation/live-store';
import { ConversationService } from '../../bot/conversation/service';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
import { decodeAction } from '../../bot/engine/callback-data';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { createHttpServer } from '../../bot/http/server';
import { webChatRoutes } from '../../bot/channels/web/routes';
import { issueSurveyToken, newSurveyToken, resolveSurveyToken } from '../../bot/survey/token';
import { JobProducer } from '../../workers/producer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * The web chat's HTTP routes against the real conversation service, live store and database
 * (no workers: every write a request makes stays visible in Redis).
 */
const redis = testRedis();
const prefix = testPrefix('webroutes');
const env = parseEnv({
  NODE_ENV: 'test',
  PUBLIC_URL: 'http://127.0.0.1:9',
  COUNTER_NETWORKS: '203.0.113.0/28',
});
const COUNTER_IP = '203.0.113.5';
let app: FastifyInstance;
let base: string;
let producer: JobProducer;
let n = 0;

async function dossier(): Promise<{ code: string; token: string }> {
  const code = `WR-${++n}`;
  await Dossier.create({
    code,
    procedureCode: 'P',
    unitCode: 'U1',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  return { code, token: (await issueSurveyToken(code, new Date(), 24)).token };
}

async function keys(): Promise<string[]> {
  return (await redis.keys(`${prefix}*`)).sort();
}

/** Opens a survey link as a new device: its cookie and the page. */
async function open(token: string): Promise<{ cookie: string; html: string }> {
  const res = await fetch(`${base}/s/${token}`);
  const cookie = /hl_web=[A-Za-z0-9_-]{22}/.exec(String(res.headers.get('set-cookie')))![0];
  return { cookie, html: await res.text() };
}

function post(token: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(`${base}/s/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
}

/** The value of the button labelled `label` on a page. */
function button(html: string, label: string): string {
  const m = new RegExp(`<button type="submit" name="a" value="([^"]+)"[^>]*>${label}</button>`).exec(html);
  if (!m) throw new Error(`no button ${label}`);
  return m[1]!.replace(/&#39;/g, "'");
}

beforeAll(async () => {
  await connectTestDb('webroutes');
  await new FlowRepository().ensure(defaultFlow);
  producer = new JobProducer(redis, prefix);
  const service = new ConversationService({
    flows: new FlowRepository(),
    sink: jobAnswerSink(producer),
    store: new LiveStore(redis, prefix),
    records: mongoConversationRecords(),
    background: jobConversationBackground(producer),
    resolveToken: resolveSurveyToken,
    log: logger,
  });
  app = createHttpServer({ bodyLimit: env.HTTP_BODY_LIMIT });
  await app.register(webChatRoutes({ service, env, log: logger, marks: { redis, prefix } }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await producer?.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test("an answer posted to another survey's link is refused, applies nothing and leaves no counter mark", async () => {
  const real = await dossier();
  const other = await dossier();
  const { cookie, html } = await open(real.token);
  const yes = button(html, 'Đồng ý');
  const activeBefore = await redis.keys(`${prefix}:conv:sess:*`);
  expect(activeBefore).toHaveLength(1);
  const sessionKey = activeBefore[0]!;
  const before = await redis.hget(sessionKey, 'json');

  // From the counter network, to another (valid) token's URL, with this device's cookie.
  for (const target of [other.token, newSurveyToken()]) {
    const res = await post(target, { a: yes }, { cookie, 'x-forwarded-for': COUNTER_IP });
    expect(res.status).toBe(target === other.token ? 409 : 200);
    const page = await res.text();
    expect(page).toMatch(
      target === other.token ? /thuộc một khảo sát khác/ : /Không tìm thấy lời mời khảo sát này/,
    );
    expect(res.headers.get('set-cookie')).toBeNull();
  }
  // A typed answer too.
  expect((await post(other.token, { text: '5' }, { cookie })).status).toBe(409);
  expect(await redis.hget(sessionKey, 'json')).toBe(before);
  expect(await redis.keys(`${prefix}:integ:counter:*`)).toEqual([]);

  // The right URL is answered, and its dossier, the one answered, carries the mark.
  const ok = await post(real.token, { a: yes }, { cookie, 'x-forwarded-for': COUNTER_IP });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toMatch(/hài lòng ở mức nào/);
  expect(JSON.parse((await redis.hget(sessionKey, 'json'))!).state.current).toBe('q1');
  expect(await redis.keys(`${prefix}:integ:counter:*`)).toEqual([`${prefix}:integ:counter:${real.code}`]);
});

test('a post without the device cookie is refused and sets no cookie', async () => {
  const d = await dossier();
  const { html } = await open(d.token);
  const res = await post(d.token, { a: button(html, 'Đồng ý') });
  expect(res.status).toBe(409);
  expect(res.headers.get('set-cookie')).toBeNull();
  expect(decodeAction(button(html, 'Đồng ý'))).toMatchObject({ kind: 'pick', node: 'consent' });
});

test('GET /s/<unknown or malformed token> creates nothing: no cookie, no contact, no Redis key', async () => {
  const before = await keys();
  const contacts = await Contact.countDocuments();
  const tokens = [
    ...Array.from({ length: 25 }, () => newSurveyToken()),
    ...Array.from({ length: 25 }, (_, i) => ['abc', 'x'.repeat(80), 'null', 'a.b', `short${i}`][i % 5]!),
  ];
  for (const token of tokens) {
    const res = await fetch(`${base}/s/${token}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Không tìm thấy lời mời khảo sát này');
    expect(res.headers.get('set-cookie')).toBeNull();
  }
  expect(await keys()).toEqual(before);
  expect(await Contact.countDocuments()).toBe(contacts);
  // The measure can see a creation: a real link does write (its session, its contact's job).
  await open((await dossier()).token);
  expect((await keys()).length).toBeGreaterThan(before.length);
});

test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
  'GET /s/assets/%s is a 404, not a 500',
  async (name) => {
    const res = await fetch(`${base}/s/assets/${name}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', message: 'no such asset' });
  },
);

test('the real assets are served', async () => {
  const res = await fetch(`${base}/s/assets/chat.css`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/css');
});
