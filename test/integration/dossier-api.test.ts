/* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call -- responses are arbitrary JSON read by the assertions */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { createApiKey, revokeApiKey, signBody } from '../../lib/api-auth';
import { createHttpServer } from '../../bot/http/server';
import { dossierRoutes } from '../../bot/http/routes/dossiers';
import { surveyPageRoutes } from '../../bot/http/routes/survey-pages';
import { Dossier } from '../../models/dossier';
import { Contact } from '../../models/contact';
import { Unit } from '../../models/unit';
import { InvitationStat } from '../../models/invitation';
import type { AppContext } from '../../app/context';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const SECRETS_KEY = randomBytes(32).toString('hex');
const env = parseEnv({
  ...process.env,
  SECRETS_KEY,
  PUBLIC_URL: 'https://hailong.example.vn',
  TELEGRAM_BOT_USERNAME: 'HaiLongTestBot',
  PHONE_HASH_KEY: 'test-phone-key',
});

let app: FastifyInstance;
let redis: Redis;
let prefix: string;
let key: string;
let scopedKey: string;
let signer: { keyId: string; secret: string };

function event(over: Record<string, unknown> = {}): Record<string, unknown> & { code: string } {
  return {
    code: `H57.22.10-250314-${randomBytes(3).toString('hex')}`,
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: '19867',
    channel: 'in_person',
    onlineLevel: null,
    receivedAt: '2025-03-14T09:30:00+07:00',
    dueAt: '2025-03-17T17:00:00+07:00',
    finishedAt: '2025-03-16T10:00:00+07:00',
    returnedAt: null,
    status: 'finished',
    officerId: 'cb-017',
    applicant: { phone: '0912 345 678' },
    ...over,
  };
}

let base: string;
interface Res {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  rawPayload: Buffer;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test helper over arbitrary JSON
}
// light-my-request (app.inject) cannot load under jest's CommonJS runtime, so requests go over a real socket.
async function inject(o: {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string;
}): Promise<Res> {
  const r = await fetch(base + o.url, {
    method: o.method,
    headers: o.headers ?? {},
    ...(o.payload !== undefined ? { body: o.payload } : {}),
  });
  const raw = Buffer.from(await r.arrayBuffer());
  const body = raw.toString('utf8');
  return {
    statusCode: r.status,
    headers: Object.fromEntries(r.headers.entries()),
    body,
    rawPayload: raw,
    json: () => JSON.parse(body),
  };
}

function post(body: unknown, k = key, url = '/api/v1/dossiers') {
  return inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

beforeAll(async () => {
  await connectTestDb('dossierapi');
  redis = testRedis();
  prefix = testPrefix('dossierapi');
  await Unit.insertMany([
    { code: '46', name: 'Thừa Thiên Huế', level: 'province' },
    { code: '477', name: 'Huyện Quảng Điền', level: 'district', parentCode: '46' },
    { code: 'QD-NEW', name: 'Xã Quảng Điền', level: 'commune', parentCode: '46' },
    {
      code: '19867',
      name: 'Thị trấn Sịa',
      level: 'town',
      parentCode: '477',
      validTo: new Date('2025-06-30T16:59:59Z'),
      successorCode: 'QD-NEW',
    },
    {
      code: '19873',
      name: 'Xã Quảng Ngạn',
      level: 'commune',
      parentCode: '477',
      validTo: new Date('2025-06-30T16:59:59Z'),
      successorCode: 'PQ-NEW',
    },
    { code: 'PQ-NEW', name: 'Phường Phong Quảng', level: 'ward', parentCode: '46' },
  ]);
  key = (await createApiKey({ name: 'một cửa tỉnh' })).key;
  scopedKey = (await createApiKey({ name: 'xã Quảng Điền', unitCodes: ['QD-NEW'] })).key;
  const s = await createApiKey({ name: 'signed', signing: true, secretsKey: SECRETS_KEY });
  signer = { keyId: s.keyId, secret: s.signingSecret! };
  const ctx: AppContext = { env, log: logger, redis, prefix };
  app = createHttpServer({ bodyLimit: env.HTTP_BODY_LIMIT });
  await app.register(dossierRoutes({ ctx }));
  await app.register(surveyPageRoutes({ env }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a finished dossier creates exactly one survey with links and QR codes', async () => {
  const ev = event();
  const res = await post(ev);
  expect(res.statusCode).toBe(201);
  const body = res.json();
  expect(body.created).toBe(true);
  expect(body.survey.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(body.survey.telegramLink).toBe(`https://t.me/HaiLongTestBot?start=${body.survey.token}`);
  expect(body.survey.webLink).toBe(`https://hailong.example.vn/s/${body.survey.token}`);
  expect(body.survey.qrPng).toBe(`https://hailong.example.vn/s/${body.survey.token}/qr.png`);

  const stored = await Dossier.find({ code: ev.code }).lean();
  expect(stored).toHaveLength(1);
  expect(stored[0].survey?.token).toBe(body.survey.token);
  expect(stored[0].applicantPhoneHash).toMatch(/^[a-f0-9]{64}$/);
  expect(JSON.stringify(stored[0])).not.toContain('912345678');

  const png = await inject({ method: 'GET', url: `/s/${body.survey.token}/qr.png` });
  expect(png.statusCode).toBe(200);
  expect(png.headers['content-type']).toBe('image/png');
  expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
  const svg = await inject({ method: 'GET', url: `/s/${body.survey.token}/qr.svg?for=telegram` });
  expect(svg.statusCode).toBe(200);
  expect(svg.body).toContain('<svg');
  expect((await inject({ method: 'GET', url: `/s/${'x'.repeat(32)}/qr.png` })).statusCode).toBe(404);
});

test('the same event twice answers 200 with the same token and stores nothing new', async () => {
  const ev = event();
  const first = (await post(ev)).json();
  const again = await post(ev);
  expect(again.statusCode).toBe(200);
  expect(again.json().survey.token).toBe(first.survey.token);
  expect(await Dossier.countDocuments({ code: ev.code })).toBe(1);
  // Counted once per dossier: the invited counts add up to the dossiers that have a survey.
  const stats = await InvitationStat.find({}).lean();
  expect(stats.reduce((n, s) => n + s.invited, 0)).toBe(
    await Dossier.countDocuments({ 'survey.token': { $type: 'string' } }),
  );
});

test('a dossier in progress is stored without a survey, and gets one when it finishes', async () => {
  const ev = event({ status: 'processing', finishedAt: null });
  const res = await post(ev);
  expect(res.statusCode).toBe(201);
  expect(res.json().survey).toBeNull();
  expect((await Dossier.findOne({ code: ev.code }).lean())?.survey?.token ?? null).toBeNull();
  const done = await post({ ...ev, status: 'returned', returnedAt: '2025-03-16T15:00:00+07:00' });
  expect(done.statusCode).toBe(200);
  expect(done.json().status).toBe('returned');
  expect(done.json().survey.token).toBeTruthy();
  // A late "processing" event does not take the dossier back.
  const late = await post(ev);
  expect(late.json().status).toBe('returned');
});

test('a bad event gets 422 with the path of each wrong field and nothing is stored', async () => {
  const ev = event({ channel: 'fax', status: 'done', applicant: { phone: '123' } });
  const res = await post(ev);
  expect(res.statusCode).toBe(422);
  expect(
    res
      .json()
      .issues.map((i: { path: string }) => i.path)
      .sort(),
  ).toEqual(['applicant.phone', 'channel', 'status']);
  expect(await Dossier.countDocuments({ code: ev.code })).toBe(0);
  const unknownUnit = event({ unitCode: '99999' });
  const r2 = await post(unknownUnit);
  expect(r2.statusCode).toBe(422);
  expect(r2.json().issues).toEqual([{ path: 'unitCode', message: 'unknown unit code' }]);
  expect(await Dossier.countDocuments({ code: unknownUnit.code })).toBe(0);
  const notJson = await inject({
    method: 'POST',
    url: '/api/v1/dossiers',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    payload: '{"code":',
  });
  expect(notJson.statusCode).toBe(400);
  expect((await post([1, 2])).statusCode).toBe(400);
});

test('refuses missing, unknown and revoked keys', async () => {
  const ev = event();
  const none = await inject({
    method: 'POST',
    url: '/api/v1/dossiers',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(ev),
  });
  expect(none.statusCode).toBe(401);
  expect((await post(ev, `hl_000000000000_${'A'.repeat(43)}`)).statusCode).toBe(401);
  const k = await createApiKey({ name: 'to revoke' });
  expect(await revokeApiKey(k.keyId)).toBe(true);
  expect((await post(ev, k.key)).statusCode).toBe(401);
  expect(await Dossier.countDocuments({ code: ev.code })).toBe(0);
});

test('a unit-scoped key posts for its units, their descendants and merged predecessors only', async () => {
  // 19867 (merged into QD-NEW) is accepted and recorded under its own code.
  const merged = event({ unitCode: '19867' });
  const ok = await post(merged, scopedKey);
  expect(ok.statusCode).toBe(201);
  expect((await Dossier.findOne({ code: merged.code }).lean())?.unitCode).toBe('19867');
  const other = event({ unitCode: '19873' });
  const refused = await post(other, scopedKey);
  expect(refused.statusCode).toBe(403);
  expect(await Dossier.countDocuments({ code: other.code })).toBe(0);
});

test('accepts an HMAC-signed event once and refuses its replay, a bad signature and a stale timestamp', async () => {
  const payload = JSON.stringify(event());
  const ts = String(Math.floor(Date.now() / 1000));
  const headers = (sig: string, t = ts) => ({
    'content-type': 'application/json',
    'x-hailong-key-id': signer.keyId,
    'x-hailong-timestamp': t,
    'x-hailong-signature': `v1=${sig}`,
  });
  const good = signBody(signer.secret, ts, Buffer.from(payload));
  const first = await inject({ method: 'POST', url: '/api/v1/dossiers', headers: headers(good), payload });
  expect(first.statusCode).toBe(201);
  const replay = await inject({ method: 'POST', url: '/api/v1/dossiers', headers: headers(good), payload });
  expect(replay.statusCode).toBe(401);
  expect(replay.json().message).toBe('replayed request');
  const tampered = await inject({
    method: 'POST',
    url: '/api/v1/dossiers',
    headers: headers(good),
    payload: payload.replace('cb-017', 'cb-018'),
  });
  expect(tampered.statusCode).toBe(401);
  const old = String(Number(ts) - 3600);
  const stale = await inject({
    method: 'POST',
    url: '/api/v1/dossiers',
    headers: headers(signBody(signer.secret, old, Buffer.from(payload)), old),
    payload,
  });
  expect(stale.statusCode).toBe(401);
});

test('the national portal shape is stored as the same event', async () => {
  const code = `H57.22.10-250314-${randomBytes(2).toString('hex')}`;
  const res = await post(
    {
      MaHoSo: code,
      MaTTHC: '1.001234',
      TenTTHC: 'Đăng ký khai sinh',
      KenhThucHien: '2',
      MucDo: '4',
      NgayTiepNhan: '20250314093000',
      NgayHenTra: '20250317170000',
      NgayKetThucXuLy: '20250316100000',
      TrangThaiHoSo: '9',
      DonViXuLy: '19867',
      SoDienThoai: '0912345678',
      TelegramChatId: '555000111',
      QuaTrinhXuLy: [{ NguoiXuLy: 'cb-021' }],
    },
    key,
    '/api/v1/dossiers/dvc',
  );
  expect(res.statusCode).toBe(201);
  const d = await Dossier.findOne({ code }).lean();
  expect(d).toMatchObject({ channel: 'online', onlineLevel: 4, status: 'finished', officerId: 'cb-021' });
  const contact = await Contact.findOne({ channel: 'telegram', channelUserId: '555000111' }).lean();
  expect(contact?.phoneHash).toBe(d?.applicantPhoneHash);
  expect(d?.contactIds.map(String)).toContain(String(contact?._id));
  const bad = await post({ MaHoSo: code, KenhThucHien: 9 }, key, '/api/v1/dossiers/dvc');
  expect(bad.statusCode).toBe(422);
  expect(bad.json().issues.map((i: { path: string }) => i.path)).toEqual(
    expect.arrayContaining(['KenhThucHien', 'MaTTHC', 'DonViXuLy', 'TrangThaiHoSo']),
  );
});
