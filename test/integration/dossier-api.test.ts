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
import { upsertDossier } from '../../bot/survey/dossier-ingest';
import { verifySurveyToken } from '../../bot/survey/token';
import { expandUnits } from '../../indices/units';
import { InvitationStat } from '../../models/invitation';
import type { AppContext } from '../../lib/app-context';
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
let phongQuangKey: string;
let oldCommuneKey: string;
/** 30/6/2025 23:59:59 and 1/7/2025 00:00 in Asia/Ho_Chi_Minh. */
const LAST_OLD_DAY = new Date('2025-06-30T16:59:59Z');
const FIRST_NEW_DAY = new Date('2025-06-30T17:00:00Z');

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
    // Merged on 1/7/2025 into one commune (cli/seed-data/units.ts).
    {
      code: '19870',
      name: 'Xã Quảng Thái',
      level: 'commune',
      parentCode: '477',
      validTo: LAST_OLD_DAY,
      successorCode: 'QD-DAN-DIEN',
    },
    {
      code: 'QD-DAN-DIEN',
      name: 'Xã Đan Điền',
      level: 'commune',
      parentCode: '46',
      validFrom: FIRST_NEW_DAY,
    },
    // Split between two units.
    {
      code: '478',
      name: 'Huyện Tách Đôi',
      level: 'district',
      parentCode: '46',
      validTo: LAST_OLD_DAY,
      successorCodes: ['QD-NEW', 'PQ-NEW'],
    },
    // Merged twice: into MID-B on 1/7/2025, MID-B into NEW-C on 1/7/2026.
    {
      code: 'OLD-A',
      name: 'Xã A',
      level: 'commune',
      parentCode: '46',
      validTo: LAST_OLD_DAY,
      successorCode: 'MID-B',
    },
    {
      code: 'MID-B',
      name: 'Xã B',
      level: 'commune',
      parentCode: '46',
      validFrom: FIRST_NEW_DAY,
      validTo: new Date('2026-06-30T16:59:59Z'),
      successorCode: 'NEW-C',
    },
    {
      code: 'NEW-C',
      name: 'Xã C',
      level: 'commune',
      parentCode: '46',
      validFrom: new Date('2026-06-30T17:00:00Z'),
    },
    // Its successor is missing from the units collection.
    {
      code: 'LOST-1',
      name: 'Xã Mất',
      level: 'commune',
      parentCode: '46',
      validTo: LAST_OLD_DAY,
      successorCode: 'NOWHERE',
    },
  ]);
  key = (await createApiKey({ name: 'một cửa tỉnh' })).key;
  scopedKey = (await createApiKey({ name: 'xã Quảng Điền', unitCodes: ['QD-NEW'] })).key;
  phongQuangKey = (await createApiKey({ name: 'phường Phong Quảng', unitCodes: ['PQ-NEW'] })).key;
  oldCommuneKey = (await createApiKey({ name: 'thị trấn Sịa (cũ)', unitCodes: ['19867'] })).key;
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

describe('a key cannot take over a dossier of a unit outside its units', () => {
  test("posting another unit's dossier code under one's own unit answers 404, reveals nothing and changes nothing", async () => {
    const theirs = event({ unitCode: '19873' });
    const first = await post(theirs);
    expect(first.statusCode).toBe(201);
    const token = first.json().survey.token as string;
    const before = await Dossier.findOne({ code: theirs.code }).lean();

    // The Quảng Điền key names its own (merged) unit and a Telegram chat, with the other dossier's code.
    const takeover = await post(
      {
        ...theirs,
        unitCode: '19867',
        officerId: 'cb-999',
        applicant: { phone: '0987 654 321', telegramChatId: 777000111 },
      },
      scopedKey,
    );
    expect(takeover.statusCode).toBe(404);
    expect(takeover.json()).toEqual({
      error: 'not_found',
      message: "no dossier with this code among the key's units",
    });
    expect(takeover.body).not.toContain(token);
    expect(takeover.body).not.toMatch(/19873|PQ-NEW/);

    const after = await Dossier.findOne({ code: theirs.code }).lean();
    expect(after).toEqual(before);
    expect(after?.unitCode).toBe('19873');
    expect(await Contact.countDocuments({ channel: 'telegram', channelUserId: '777000111' })).toBe(0);
    // The same through the portal shape.
    const dvc = await post(
      {
        MaHoSo: theirs.code,
        MaTTHC: '1.001234',
        KenhThucHien: '1',
        TrangThaiHoSo: '9',
        NgayTiepNhan: '20250314093000',
        NgayKetThucXuLy: '20250316100000',
        DonViXuLy: '19867',
      },
      scopedKey,
      '/api/v1/dossiers/dvc',
    );
    expect(dvc.statusCode).toBe(404);
    expect(await Dossier.findOne({ code: theirs.code }).lean()).toEqual(before);
  });

  test('the owner, and a key of every unit, still update the dossier', async () => {
    const ev = event({ unitCode: '19873', status: 'processing', finishedAt: null });
    expect((await post(ev, phongQuangKey)).statusCode).toBe(201);
    const done = await post(
      { ...ev, status: 'finished', finishedAt: '2025-03-16T10:00:00+07:00' },
      phongQuangKey,
    );
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'finished', unitCode: '19873' });
    // The province system may move it to another unit: it covers both.
    const moved = await post({
      ...ev,
      unitCode: 'PQ-NEW',
      status: 'finished',
      finishedAt: '2025-03-16T10:00:00+07:00',
    });
    expect(moved.statusCode).toBe(200);
    expect((await Dossier.findOne({ code: ev.code }).lean())?.unitCode).toBe('PQ-NEW');
  });

  test('the write itself matches only a dossier of the units, so a race past the check cannot move it', async () => {
    const code = `RACE-${randomBytes(3).toString('hex')}`;
    await Dossier.create({
      code,
      procedureCode: 'P1',
      unitCode: '19873',
      channel: 'in_person',
      status: 'processing',
    });
    const units = await expandUnits(['QD-NEW']);
    const r = await upsertDossier(code, { $set: { unitCode: '19867', status: 'finished' } }, units);
    expect(r).toBe('elsewhere');
    expect(await Dossier.findOne({ code }).lean()).toMatchObject({ unitCode: '19873', status: 'processing' });
    expect(
      await upsertDossier(code, { $set: { status: 'finished' } }, await expandUnits(['PQ-NEW'])),
    ).toMatchObject({ outcome: 'updated' });
  });

  test('two keys posting the same new code at once: one stores it, the other gets 404', async () => {
    for (let i = 0; i < 8; i++) {
      const ev = event();
      const [a, b] = await Promise.all([
        post({ ...ev, unitCode: '19867' }, scopedKey),
        post({ ...ev, unitCode: '19873' }, phongQuangKey),
      ]);
      expect([a.statusCode, b.statusCode].sort()).toEqual([201, 404]);
      const winner = a.statusCode === 201 ? a : b;
      const stored = await Dossier.findOne({ code: ev.code }).lean();
      expect(stored?.unitCode).toBe(a.statusCode === 201 ? '19867' : '19873');
      expect(stored?.survey?.token).toBe(winner.json().survey.token);
    }
  });
});

describe('a dossier naming a unit that no longer existed on its dates', () => {
  const late = {
    receivedAt: '2026-11-05T09:00:00+07:00',
    dueAt: null,
    finishedAt: '2026-11-06T10:00:00+07:00',
  };

  test('is stored under the unit it was merged into, so its answers count there', async () => {
    const ev = event({ unitCode: '19870', ...late });
    const res = await post(ev);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ unitCode: 'QD-DAN-DIEN', unitMappedFrom: '19870' });
    expect((await Dossier.findOne({ code: ev.code }).lean())?.unitCode).toBe('QD-DAN-DIEN');
    // The survey's answers take their unit from the dossier the token resolves to.
    const v = await verifySurveyToken(
      res.json().survey.token as string,
      new Date('2026-11-06T12:00:00+07:00'),
    );
    expect(v.ok && v.dossier.unitCode).toBe('QD-DAN-DIEN');
    // The repeat maps the same way and stays one dossier.
    const again = await post(ev);
    expect(again.statusCode).toBe(200);
    expect(again.json().unitCode).toBe('QD-DAN-DIEN');
  });

  test('is judged on its reception date: received before the merger, it keeps the old unit', async () => {
    const ev = event({
      unitCode: '19870',
      receivedAt: '2025-06-30T16:00:00+07:00',
      finishedAt: '2025-07-03T10:00:00+07:00',
    });
    const res = await post(ev);
    expect(res.statusCode).toBe(201);
    expect(res.json().unitCode).toBe('19870');
    expect(res.json()).not.toHaveProperty('unitMappedFrom');
    // Without a reception date, the finishing date decides.
    const noReception = event({
      unitCode: '19870',
      receivedAt: null,
      finishedAt: '2025-07-03T10:00:00+07:00',
    });
    expect((await post(noReception)).json().unitCode).toBe('QD-DAN-DIEN');
  });

  test('follows a chain of mergers to the unit valid on its date', async () => {
    expect((await post(event({ unitCode: 'OLD-A', ...late }))).json()).toMatchObject({
      unitCode: 'NEW-C',
      unitMappedFrom: 'OLD-A',
    });
    const between = event({
      unitCode: 'OLD-A',
      receivedAt: '2025-12-01T09:00:00+07:00',
      finishedAt: '2025-12-02T09:00:00+07:00',
    });
    expect((await post(between)).json()).toMatchObject({ unitCode: 'MID-B', unitMappedFrom: 'OLD-A' });
  });

  test('is refused with 422 naming the successors when the unit was split, or its successor is unknown', async () => {
    const split = event({ unitCode: '478', ...late });
    const res = await post(split);
    expect(res.statusCode).toBe(422);
    const issue = res.json().issues[0];
    expect(issue).toMatchObject({ path: 'unitCode', successors: ['QD-NEW', 'PQ-NEW'] });
    expect(issue.message).toContain('QD-NEW, PQ-NEW');
    expect(issue.message).toContain('2025-06-30');
    expect(await Dossier.countDocuments({ code: split.code })).toBe(0);
    const lost = await post(event({ unitCode: 'LOST-1', ...late }));
    expect(lost.statusCode).toBe(422);
    expect(lost.json().issues[0]).toMatchObject({ path: 'unitCode', successors: ['NOWHERE'] });
  });

  test("the key's units are checked against the unit stored: the successor's key may use the old code, the old unit's key may not", async () => {
    const bySuccessor = event({ unitCode: '19867', ...late });
    const ok = await post(bySuccessor, scopedKey);
    expect(ok.statusCode).toBe(201);
    expect(ok.json().unitCode).toBe('QD-NEW');
    const byOld = event({ unitCode: '19867', ...late });
    const refused = await post(byOld, oldCommuneKey);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      error: 'forbidden',
      message: 'this key may not post events of unit 19867 (now QD-NEW)',
    });
    expect(await Dossier.countDocuments({ code: byOld.code })).toBe(0);
    // Its own dossiers from before the merger are still its own.
    expect((await post(event({ unitCode: '19867' }), oldCommuneKey)).statusCode).toBe(201);
  });
});
