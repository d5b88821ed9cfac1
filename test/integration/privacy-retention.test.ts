import { Types } from 'mongoose';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Answer } from '../../models/answer';
import { AuditLog } from '../../models/audit-log';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Rollup } from '../../models/rollup';
import { Session } from '../../models/session';
import { Unit } from '../../models/unit';
import { buildReport } from '../../indices/report';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { privacyRetention } from '../../workers/jobs/privacy-retention';
import type { JobContext } from '../../workers/registry';
import { meta, reasons, scale } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('retention');
const env = parseEnv({ ...process.env, NODE_ENV: 'test', RETENTION_DAYS: '365' });
const ctx = { redis, prefix, env, log: logger } as unknown as JobContext;
const now = new Date();
const daysAgo = (n: number) => new Date(now.getTime() - n * 86400_000);

/** A citizen last heard from `age` days ago, with a dossier, a session and an answer with free text. */
async function citizen(chat: string, age: number, q1: number) {
  const at = daysAgo(age);
  const contactId = new Types.ObjectId();
  await Contact.create({
    _id: contactId,
    channel: 'telegram',
    channelUserId: chat,
    consentAt: at,
    lastInteractionAt: at,
    phoneHash: `h-${chat}`,
  });
  const code = `RET-${chat}`;
  await Dossier.create({
    code,
    procedureCode: 'P1',
    unitCode: 'U1',
    channel: 'in_person',
    status: 'finished',
    finishedAt: at,
    applicantPhoneHash: `h-${chat}`,
    contactIds: [contactId],
  });
  await Dossier.collection.updateOne({ code }, { $set: { createdAt: at } });
  await Session.create({
    contactId,
    channel: 'telegram',
    dossierCode: code,
    responseId: `resp-${chat}`,
    flowKey: 'default',
    flowVersion: 2,
    status: 'completed',
    state: {},
    startedAt: at,
    completedAt: at,
  });
  await storeCompletion(
    `resp-${chat}`,
    meta({
      dossierCode: code,
      unitCode: 'U1',
      procedureCode: 'P1',
      officerId: 'A',
      flowVersion: 2,
      startedAt: at.toISOString(),
    }),
    [scale('q1', 'TIEP_CAN', q1), reasons('r1', 'TIEP_CAN', ['khac'], 'Anh Bình ở quầy 2')],
    at,
  );
  return { contactId, code };
}

/** Recomputed from the answers, and as stored: both must be the same before and after. */
async function indices() {
  await rebuildRollups({ redis, prefix });
  const rollups = await Rollup.find(
    {},
    { _id: 0, createdAt: 0, updatedAt: 0, __v: 0, version: 0, computedAt: 0 },
  )
    .sort({ unitCode: 1, day: 1 })
    .lean();
  const years = [now.getUTCFullYear() - 1, now.getUTCFullYear()];
  const reports = await Promise.all(
    years.map((y) => buildReport({ unit: 'U1', period: String(y), units: null, officerMinN: 1, now })),
  );
  return {
    rollups,
    figures: reports.map((r) => ({ responses: r.responses, elements: r.elements, overall: r.overall })),
  };
}

beforeAll(async () => {
  await connectTestDb('retention');
  await Unit.create({ code: 'U1', name: 'Xã Quảng Thái', level: 'commune' });
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('after RETENTION_DAYS a silent contact, old phone hashes and old free text go; recent ones stay; the indices are the same', async () => {
  const old = await citizen('8001', 400, 2);
  const recent = await citizen('8002', 10, 5);
  const before = await indices();
  expect(before.figures.reduce((n, f) => n + f.responses, 0)).toBe(2);

  const report = await privacyRetention.handle({}, ctx);
  expect(report).toMatchObject({ contacts: 1, sessions: 1, freeTexts: 1, dossiers: 1 });

  expect(await Contact.countDocuments({ _id: old.contactId })).toBe(0);
  expect(await Dossier.findOne({ code: old.code }).lean()).toMatchObject({
    applicantPhoneHash: null,
    contactIds: [],
  });
  expect((await Answer.findOne({ responseId: 'resp-8001', questionId: 'r1' }).lean())?.text).toBeNull();
  expect(await Session.countDocuments({ responseId: 'resp-8001' })).toBe(0);

  expect(await Contact.countDocuments({ _id: recent.contactId })).toBe(1);
  expect(await Dossier.findOne({ code: recent.code }).lean()).toMatchObject({ applicantPhoneHash: 'h-8002' });
  expect((await Answer.findOne({ responseId: 'resp-8002', questionId: 'r1' }).lean())?.text).toBe(
    'Anh Bình ở quầy 2',
  );

  expect(await indices()).toEqual(before);
  expect(await AuditLog.findOne({ action: 'privacy.retention' }).lean()).toMatchObject({
    actor: 'system',
    details: { days: 365, contacts: 1 },
  });

  // A second run the same day finds nothing more.
  expect(await privacyRetention.handle({}, ctx)).toMatchObject({
    contacts: 0,
    oldDossiers: 0,
    oldFreeTexts: 0,
    oldSessions: 0,
  });
});

test('RETENTION_DAYS=0 keeps everything', async () => {
  const off = {
    ...ctx,
    env: parseEnv({ ...process.env, NODE_ENV: 'test', RETENTION_DAYS: '0' }),
  } as JobContext;
  expect(await privacyRetention.handle({}, off)).toBeNull();
});
