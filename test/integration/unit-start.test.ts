import type { FastifyInstance } from 'fastify';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { jobAnswerSink } from '../../workers/answer-sink';
import { jobConversationBackground } from '../../workers/conversation-background';
import { LiveStore } from '../../bot/conversation/live-store';
import { ConversationService } from '../../bot/conversation/service';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { createHttpServer } from '../../bot/http/server';
import { webChatRoutes } from '../../bot/channels/web/routes';
import { issueSurveyToken, resolveSurveyToken } from '../../bot/survey/token';
import { JobProducer } from '../../workers/producer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * A unit's own survey, without a dossier: the poster's Telegram payload u_<unit> and the web chat
 * /s/u/<unit> start a survey whose answers count for that unit.
 */
const redis = testRedis();
const prefix = testPrefix('unitstart');
const env = parseEnv({ NODE_ENV: 'test', PUBLIC_URL: 'http://127.0.0.1:9' });
let app: FastifyInstance;
let base = '';
let producer: JobProducer;
let service: ConversationService;

interface LiveSession {
  dossierCode: string | null;
  meta: { unitCode: string | null; dossierCode: string | null };
}

async function sessions(): Promise<LiveSession[]> {
  const keys = await redis.keys(`${prefix}:conv:sess:*`);
  return Promise.all(keys.map(async (k) => JSON.parse((await redis.hget(k, 'json'))!) as LiveSession));
}

function button(html: string, label: string): string {
  const m = new RegExp(`<button type="submit" name="a" value="([^"]+)"[^>]*>${label}</button>`).exec(html);
  if (!m) throw new Error(`no button ${label}`);
  return m[1]!.replace(/&#39;/g, "'");
}

function post(path: string, body: Record<string, string>, cookie: string) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams(body).toString(),
  });
}

beforeAll(async () => {
  await connectTestDb('unitstart');
  await new FlowRepository().ensure(defaultFlow);
  await Unit.insertMany([
    { code: 'PTH', name: 'Phường Thuận Hoá', level: 'ward' },
    {
      code: 'OLD',
      name: 'Xã đã sáp nhập',
      level: 'commune',
      validTo: new Date('2025-06-30T16:59:59Z'),
      successorCode: 'PTH',
    },
  ]);
  producer = new JobProducer(redis, prefix);
  service = new ConversationService({
    flows: new FlowRepository(),
    sink: jobAnswerSink(producer),
    store: new LiveStore(redis, prefix),
    records: mongoConversationRecords(),
    background: jobConversationBackground(producer),
    resolveToken: resolveSurveyToken,
    log: logger,
  });
  app = createHttpServer({ bodyLimit: env.HTTP_BODY_LIMIT });
  await app.register(webChatRoutes({ service, env, log: logger }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await producer?.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('u_<unit> resolves to the unit when it exists today, and a dossier token keeps its dossier', async () => {
  const now = new Date();
  await expect(resolveSurveyToken('u_PTH', now)).resolves.toEqual({
    ok: true,
    dossier: null,
    unitCode: 'PTH',
  });
  await expect(resolveSurveyToken('u_OLD', now)).resolves.toEqual({ ok: false, reason: 'unknown' });
  await expect(resolveSurveyToken('u_KHONG-CO', now)).resolves.toEqual({ ok: false, reason: 'unknown' });
  await Dossier.create({
    code: 'US-1',
    procedureCode: 'P',
    unitCode: 'PTH',
    channel: 'in_person',
    status: 'finished',
    finishedAt: now,
  });
  const { token } = await issueSurveyToken('US-1', now, 24);
  await expect(resolveSurveyToken(token, now)).resolves.toMatchObject({
    ok: true,
    dossier: { code: 'US-1' },
  });
});

test('the Telegram start payload u_<unit> starts a survey for that unit without a dossier', async () => {
  const reply = await service.handle({
    channel: 'telegram',
    userId: '900001',
    updateId: 1,
    input: { kind: 'start', token: 'u_PTH' },
  });
  expect(reply.messages.length).toBeGreaterThan(0);
  const s = (await sessions()).find((x) => x.meta.unitCode === 'PTH');
  expect(s).toMatchObject({ dossierCode: null, meta: { unitCode: 'PTH', dossierCode: null } });
});

test('/s/u/<unit> opens the unit’s survey, takes answers, and an unknown unit creates nothing', async () => {
  const before = (await sessions()).length;
  const res = await fetch(`${base}/s/u/PTH`);
  expect(res.status).toBe(200);
  const cookie = /hl_web=[A-Za-z0-9_-]{22}/.exec(String(res.headers.get('set-cookie')))![0];
  const html = await res.text();
  expect(html).toContain('action="/s/u/PTH"');
  const ok = await post('/s/u/PTH', { a: button(html, 'Đồng ý') }, cookie);
  expect(ok.status).toBe(200);
  expect(await ok.text()).toMatch(/hài lòng ở mức nào/);
  const all = await sessions();
  expect(all).toHaveLength(before + 1);
  expect(all.filter((s) => s.meta.unitCode === 'PTH' && s.dossierCode === null)).toHaveLength(2);

  const unknown = await fetch(`${base}/s/u/KHONG-CO`);
  expect(unknown.headers.get('set-cookie')).toBeNull();
  expect(await unknown.text()).toMatch(/Không tìm thấy lời mời khảo sát này/);
  expect(await sessions()).toHaveLength(before + 1);
});

test("an answer posted to a unit's page from a device whose survey is a dossier's is refused", async () => {
  const now = new Date();
  await Dossier.create({
    code: 'US-2',
    procedureCode: 'P',
    unitCode: 'PTH',
    channel: 'in_person',
    status: 'finished',
    finishedAt: now,
  });
  const { token } = await issueSurveyToken('US-2', now, 24);
  const res = await fetch(`${base}/s/${token}`);
  const cookie = /hl_web=[A-Za-z0-9_-]{22}/.exec(String(res.headers.get('set-cookie')))![0];
  const yes = button(await res.text(), 'Đồng ý');
  const refused = await post('/s/u/PTH', { a: yes }, cookie);
  expect(refused.status).toBe(409);
  expect(await refused.text()).toMatch(/thuộc một khảo sát khác/);
});
