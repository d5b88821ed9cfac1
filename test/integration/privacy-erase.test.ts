import { Queue } from 'bullmq';
import { Types } from 'mongoose';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { hashPhone, normalisePhone } from '../../lib/phone';
import { describeSubjectData, subjectData } from '../../privacy/access';
import { findSubject } from '../../privacy/subject';
import { eraseSubject } from '../../privacy/erase';
import { LiveStore } from '../../bot/conversation/live-store';
import { Answer } from '../../models/answer';
import { AuditLog } from '../../models/audit-log';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Session } from '../../models/session';
import { Unit } from '../../models/unit';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import { buildReport } from '../../indices/report';
import { optedOut, optOutKey } from '../../workers/broadcast/opt-outs';
import { recipientFilter } from '../../workers/broadcast/targeting';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { contactUpdate } from '../../workers/jobs/contact-update';
import { writeContact } from '../../workers/jobs/contact-writer';
import { invitationJobId, OUTREACH_QUEUE, reminderJobId } from '../../workers/jobs/invitation-queue';
import { sendInvitation, type OutreachDeps } from '../../workers/jobs/invitation-send';
import type { InvitationSender } from '../../workers/jobs/invitation-senders';
import { sendReminder } from '../../workers/jobs/reminder-send';
import type { JobContext } from '../../workers/registry';
import { meta, reasons, scale } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('privacyerase');
const env = parseEnv({ ...process.env, NODE_ENV: 'test', INVITE_COOLDOWN_DAYS: '0' });
const deps = { redis, prefix, phoneHashKey: env.PHONE_HASH_KEY, actor: 'cli' };
const hashOf = (phone: string) => hashPhone(normalisePhone(phone)!, env.PHONE_HASH_KEY);
const queue = new Queue(OUTREACH_QUEUE, { connection: redis, prefix });
const now = new Date('2025-03-20T03:00:00Z');
const sent: string[] = [];
const recording: InvitationSender = {
  send: (to) => {
    sent.push(to.channelUserId ?? 'phone');
    return Promise.resolve('sent');
  },
};
const outreachDeps: OutreachDeps = { env, senders: { telegram: recording }, log: logger };

/** A citizen with a contact, a dossier, a finished survey with a written reason, live state and queued outreach. */
async function citizen(chat: string, phone: string, code: string, values: number[]) {
  const contactId = new Types.ObjectId();
  await Contact.create({
    _id: contactId,
    channel: 'telegram',
    channelUserId: chat,
    consentAt: now,
    phoneHash: hashOf(phone),
    unitCodes: ['U1'],
  });
  await Dossier.create({
    code,
    procedureCode: 'P1',
    unitCode: 'U1',
    channel: 'in_person',
    status: 'finished',
    finishedAt: now,
    applicantPhoneHash: hashOf(phone),
    contactIds: [contactId],
    survey: { token: `tok-${code}`, issuedAt: now, expiresAt: new Date(now.getTime() + 14 * 86400_000) },
    invitation: { contactId, channel: 'telegram', sentAt: now, phoneSealed: 'sealed' },
  });
  const responseId = `resp-${code}`;
  const sessionId = new Types.ObjectId();
  await Session.create({
    _id: sessionId,
    contactId,
    channel: 'telegram',
    dossierCode: code,
    responseId,
    flowKey: 'default',
    flowVersion: 2,
    status: 'completed',
    state: { answers: { q7: 'Cán bộ Nguyễn Văn X thái độ kém' } },
    startedAt: now,
    completedAt: now,
  });
  await storeCompletion(
    responseId,
    meta({
      dossierCode: code,
      unitCode: 'U1',
      procedureCode: 'P1',
      officerId: 'A',
      flowVersion: 2,
      startedAt: now.toISOString(),
    }),
    [
      scale('q1', 'TIEP_CAN', values[0]!),
      reasons('r1', 'TIEP_CAN', ['khac'], 'Ông Nguyễn Văn X ở quầy 3'),
      scale('q6', 'TONG_THE', values[1]!),
      { questionId: 'q7', element: null, type: 'text', value: 'Số của tôi 0912345678', text: null },
    ],
    now,
  );
  const hot = new LiveStore(redis, prefix);
  await hot.setContact('telegram', chat, { id: String(contactId), lang: 'vi' });
  await queue.add(
    'invitation.send',
    { dossierCode: code },
    { jobId: invitationJobId(code), delay: 3600_000 },
  );
  await queue.add(
    'reminder.send',
    { dossierCode: code, n: 1 },
    { jobId: reminderJobId(code, 1), delay: 7200_000 },
  );
  return { contactId: String(contactId), responseId };
}

const figures = async () => {
  await rebuildRollups({ redis, prefix });
  const r = await buildReport({ unit: 'U1', period: '2025-03', units: null, officerMinN: 1, now });
  return { responses: r.responses, elements: r.elements, overall: r.overall };
};

let a: { contactId: string; responseId: string };
let b: { contactId: string; responseId: string };

beforeAll(async () => {
  await connectTestDb('privacyerase');
  await Unit.create({ code: 'U1', name: 'Xã Quảng Thái', level: 'commune' });
  a = await citizen('5551', '0912 345 678', 'D-A', [2, 4]);
  b = await citizen('5552', '0977 111 222', 'D-B', [5, 5]);
});

afterAll(async () => {
  await queue.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('erasing by phone removes the contact, its sessions, free text, dossier links, live state and queued outreach; the indices do not move', async () => {
  const before = await figures();
  expect(before.responses).toBe(2);
  const report = await eraseSubject({ phone: '+84 912-345-678' }, deps);
  expect(report).toMatchObject({ contacts: 1, sessions: 1, freeTexts: 1, dossiers: 1, outreachJobs: 2 });
  expect(report.liveKeys).toBeGreaterThanOrEqual(1);

  expect(await Contact.findById(a.contactId).lean()).toBeNull();
  expect(await Session.countDocuments({ responseId: a.responseId })).toBe(0);
  const answers = await Answer.find({ responseId: a.responseId }).sort({ questionId: 1 }).lean();
  expect(answers.map((x) => [x.questionId, x.value as unknown, x.text])).toEqual([
    ['q1', 2, null],
    ['q6', 4, null],
    ['q7', null, null],
    ['r1', ['khac'], null],
  ]);
  const d = await Dossier.findOne({ code: 'D-A' }).lean();
  expect(d).toMatchObject({
    applicantPhoneHash: null,
    contactIds: [],
    invitation: { contactId: null, channel: null },
  });
  expect(d!.invitation).not.toHaveProperty('phoneSealed');
  expect(await queue.getJob(invitationJobId('D-A'))).toBeUndefined();
  expect(await queue.getJob(reminderJobId('D-A', 1))).toBeUndefined();
  expect(await new LiveStore(redis, prefix).getContact('telegram', '5551')).toBeNull();
  // The other citizen is untouched.
  expect(await Contact.countDocuments({ _id: b.contactId })).toBe(1);
  expect(await queue.getJob(reminderJobId('D-B', 1))).toBeDefined();

  expect(await figures()).toEqual(before);

  const audit = await AuditLog.findOne({ action: 'privacy.erased' }).lean();
  expect(audit).toMatchObject({
    actor: 'cli',
    targetId: report.erasureId,
    details: { by: 'phone', contacts: 1, contactIds: [a.contactId] },
  });
  expect(JSON.stringify(audit)).not.toContain(hashOf('0912345678'));
});

test('a second erasure of the same person finds nothing', async () => {
  expect(await eraseSubject({ phone: '0912345678' }, deps)).toMatchObject({
    contacts: 0,
    sessions: 0,
    freeTexts: 0,
    dossiers: 0,
    outreachJobs: 0,
  });
});

test('after an erasure nothing is sent to the person: invitation, reminder, broadcast, and a change queued before it writes nothing back', async () => {
  sent.length = 0;
  expect(await sendInvitation({ dossierCode: 'D-A' }, outreachDeps, now)).not.toBe('sent');
  await Dossier.updateOne({ code: 'D-A' }, { $set: { 'invitation.sentAt': now } });
  expect(await sendReminder({ dossierCode: 'D-A', n: 1 }, outreachDeps, now)).toBe('not_invited');
  expect(sent).toEqual([]);
  // Running broadcasts read the opt-out log.
  expect(await redis.zscore(optOutKey(prefix), a.contactId)).not.toBeNull();
  const ctx = { redis, prefix, env, log: logger } as unknown as JobContext;
  await contactUpdate.handle(
    {
      contactId: a.contactId,
      channel: 'telegram',
      userId: '5551',
      set: { lastInteractionAt: now.toISOString() },
    },
    ctx,
  );
  expect(await Contact.countDocuments({ channel: 'telegram', channelUserId: '5551' })).toBe(0);
});

test('a withdrawal of consent (unsubscribed) stops invitations, reminders and broadcasts to that person', async () => {
  await Contact.updateOne({ _id: b.contactId }, { $set: { unsubscribedAt: now } });
  sent.length = 0;
  await Dossier.updateOne({ code: 'D-B' }, { $set: { 'invitation.sentAt': null } });
  expect(await sendInvitation({ dossierCode: 'D-B' }, outreachDeps, now)).toBe('no_channel');
  await Dossier.updateOne({ code: 'D-B' }, { $set: { 'invitation.sentAt': now } });
  expect(await sendReminder({ dossierCode: 'D-B', n: 1 }, outreachDeps, now)).toBe('unreachable');
  const filter = await recipientFilter({ unitCode: 'U1' }, 'telegram', { zaloWindowH: 168, now });
  expect(await Contact.countDocuments(filter)).toBe(0);
  expect(sent).toEqual([]);
});

test('a /stop stops invitations, reminders and broadcasts at once, before its MongoDB write has run', async () => {
  const c = await citizen('5553', '0933 444 555', 'D-C', [4, 4]);
  const withLog: OutreachDeps = { ...outreachDeps, optOuts: (ids) => optedOut(redis, prefix, ids) };
  const invite = async () => {
    await Dossier.updateOne({ code: 'D-C' }, { $set: { 'invitation.sentAt': null } });
    return sendInvitation({ dossierCode: 'D-C' }, withLog, now);
  };
  sent.length = 0;
  expect(await invite()).toBe('sent'); // the control: before the /stop it goes out
  // The conversation's /stop: the change is queued for the ingest workers, none of which runs here.
  await writeContact(
    { redis, prefix },
    {
      contactId: c.contactId,
      channel: 'telegram',
      userId: '5553',
      set: { unsubscribedAt: now.toISOString() },
    },
  );
  expect((await Contact.findById(c.contactId).lean())?.unsubscribedAt).toBeNull();
  expect(await invite()).toBe('no_channel');
  await Dossier.updateOne({ code: 'D-C' }, { $set: { 'invitation.sentAt': now } });
  expect(await sendReminder({ dossierCode: 'D-C', n: 1 }, withLog, now)).toBe('unreachable');
  expect(sent).toEqual(['5553']);
  // Running broadcasts read the same log before each send (delivery-store.ts).
  expect(await redis.zscore(optOutKey(prefix), c.contactId)).toBe(String(now.getTime()));
});

test('what we hold: a readable summary in Vietnamese, then English, without the phone number or its hash', async () => {
  const data = await subjectData({ channel: 'telegram', userId: '5552' }, deps);
  expect(data).toMatchObject({ freeTexts: 1, dossierCodes: ['D-B'] });
  const text = describeSubjectData(data);
  expect(text.indexOf('Dữ liệu hệ thống đang lưu')).toBe(0);
  expect(text).toContain('Tài khoản Telegram');
  expect(text).toContain('D-B');
  expect(text).toContain('What we hold about you');
  expect(text).not.toContain(hashOf('0987654321'));
  expect(text).not.toContain('987');
  const none = describeSubjectData(await subjectData({ channel: 'zalo', userId: 'nobody' }, deps));
  expect(none).toContain('không lưu dữ liệu cá nhân nào');
});

test('a phone number that is not Vietnamese is refused and nothing is touched', async () => {
  await expect(eraseSubject({ phone: '12' }, deps)).rejects.toThrow('not a Vietnamese phone number');
  expect(await Contact.countDocuments({ _id: b.contactId })).toBe(1);
});

test('after a change of PHONE_HASH_KEY, a request by phone still finds what the previous key hashed', async () => {
  const OLD_KEY = 'the-previous-phone-hash-key-2025';
  const oldHash = hashPhone(normalisePhone('0355 246 801')!, OLD_KEY);
  const c = await Contact.create({
    channel: 'zalo',
    channelUserId: 'zu-rotated',
    consentAt: now,
    phoneHash: oldHash,
  });
  await Dossier.create({
    code: 'HS-ROTATED-1',
    procedureCode: 'P1',
    unitCode: '19870',
    channel: 'online',
    status: 'finished',
    applicantPhoneHash: oldHash,
  });
  const without = await findSubject({ phone: '0355246801' }, deps);
  expect(without.contacts).toEqual([]);
  expect(without.dossierCodes).toEqual([]);
  const withPrevious = await findSubject(
    { phone: '0355246801' },
    { ...deps, phoneHashKeyPrevious: ` other-old-key-0001 , ${OLD_KEY}` },
  );
  expect(withPrevious.contacts.map((x) => x.id)).toEqual([String(c._id)]);
  expect(withPrevious.dossierCodes).toEqual(['HS-ROTATED-1']);
});
