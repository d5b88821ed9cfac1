import { Types } from 'mongoose';
import { jobConversationBackground } from '../../workers/conversation-background';
import { Contact } from '../../models/contact';
import {
  appendContactChange,
  ContactBusyError,
  drainContactChanges,
} from '../../workers/jobs/contact-changes';
import { ingestHarness, waitForIdle } from '../support/ingest';

const { prefix, redis, producer } = ingestHarness('ctchanges', { workers: true });

test('a burst of changes to one contact lands in order of arrival, none lost, one writer at a time', async () => {
  const background = jobConversationBackground(producer);
  const contactId = new Types.ObjectId().toHexString();
  const base = { contactId, channel: 'telegram' as const, userId: '880001' };
  // Each change is a separate job on a queue with many concurrent workers; the last word on
  // each field must win, as the citizen said it: stop, start again, stop; vi, en, vi, en.
  const sequence = [
    { lang: 'vi' as const, lastInteractionAt: '2025-03-10T02:00:00.000Z' },
    { consentAt: '2025-03-10T02:00:01.000Z', consentTextVersion: 'default@1' },
    { unsubscribedAt: '2025-03-10T02:00:02.000Z' },
    { unsubscribedAt: null, lang: 'en' as const },
    { lang: 'vi' as const },
    { unsubscribedAt: '2025-03-10T02:00:05.000Z' },
    { lang: 'en' as const },
  ];
  for (let round = 0; round < 3; round++) {
    for (const set of sequence) await background.updateContact({ ...base, set });
  }
  await waitForIdle(producer.getQueue('ingest'), 45_000);
  const c = (await Contact.findOne({ channel: 'telegram', channelUserId: '880001' }).lean())!;
  expect(String(c._id)).toBe(contactId);
  expect(c.lang).toBe('en');
  expect(c.unsubscribedAt?.toISOString()).toBe('2025-03-10T02:00:05.000Z');
  expect(c.consentAt?.toISOString()).toBe('2025-03-10T02:00:01.000Z');
  expect(await redis.llen(`${prefix}:ct:chg:${contactId}`)).toBe(0);
});

test('a job that cannot get the contact lock gives up with a retryable error and keeps the change', async () => {
  const contactId = new Types.ObjectId().toHexString();
  await appendContactChange(redis, prefix, contactId, {
    channel: 'zalo',
    userId: 'z-1',
    set: { lang: 'en' },
  });
  await redis.set(`${prefix}:ct:lock:${contactId}`, 'someone-else', 'PX', 60_000);
  await expect(
    drainContactChanges(redis, prefix, contactId, async () => undefined, { waitMs: 100 }),
  ).rejects.toBeInstanceOf(ContactBusyError);
  expect(await redis.llen(`${prefix}:ct:chg:${contactId}`)).toBe(1);
  await redis.del(`${prefix}:ct:lock:${contactId}`);
  const written: unknown[] = [];
  expect(await drainContactChanges(redis, prefix, contactId, async (m) => void written.push(m))).toBe(1);
  expect(written).toEqual([{ channel: 'zalo', userId: 'z-1', set: { lang: 'en' } }]);
});

test('a failed write keeps the changes for the retry', async () => {
  const contactId = new Types.ObjectId().toHexString();
  await appendContactChange(redis, prefix, contactId, { channel: 'web', userId: 'w-1', set: { lang: 'vi' } });
  await expect(
    drainContactChanges(redis, prefix, contactId, () => Promise.reject(new Error('mongo down'))),
  ).rejects.toThrow('mongo down');
  expect(await redis.llen(`${prefix}:ct:chg:${contactId}`)).toBe(1);
  expect(await redis.exists(`${prefix}:ct:lock:${contactId}`)).toBe(0);
});

test('a contact the conversation created is inserted with its first values and the model defaults', async () => {
  const background = jobConversationBackground(producer);
  const contactId = new Types.ObjectId().toHexString();
  const inserts = jest.spyOn(Contact, 'create'); // observed, not replaced: the workers run in this process
  await background.updateContact({
    contactId,
    channel: 'telegram',
    userId: '880101',
    set: { lang: 'en', lastInteractionAt: '2025-03-11T01:00:00.000Z' },
    created: true,
  });
  await background.updateContact({
    contactId,
    channel: 'telegram',
    userId: '880101',
    set: { consentAt: '2025-03-11T01:00:05.000Z', consentTextVersion: 'default@1' },
  });
  await waitForIdle(producer.getQueue('ingest'), 30_000);
  const docs = await Contact.find({ channel: 'telegram', channelUserId: '880101' }).lean();
  expect(docs).toHaveLength(1);
  expect(String(docs[0]!._id)).toBe(contactId);
  expect(docs[0]).toMatchObject({
    lang: 'en',
    consentTextVersion: 'default@1',
    unsubscribedAt: null,
    tags: [],
    unitCodes: [],
  });
  expect(docs[0]!.consentAt?.toISOString()).toBe('2025-03-11T01:00:05.000Z');
  expect(docs[0]!.lastInteractionAt?.toISOString()).toBe('2025-03-11T01:00:00.000Z');
  expect(inserts.mock.calls.filter(([d]) => String((d as { _id?: unknown })._id) === contactId)).toHaveLength(
    1,
  );
  inserts.mockRestore();
});

test('a "created" change for a contact that exists after all (a retry, another creator) sets its values on it', async () => {
  const existing = await Contact.create({
    channel: 'zalo',
    channelUserId: 'z-880102',
    lang: 'vi',
    tags: ['kept'],
  });
  const background = jobConversationBackground(producer);
  await background.updateContact({
    contactId: new Types.ObjectId().toHexString(),
    channel: 'zalo',
    userId: 'z-880102',
    set: { lang: 'en', lastInteractionAt: '2025-03-11T02:00:00.000Z' },
    created: true,
  });
  await waitForIdle(producer.getQueue('ingest'), 30_000);
  const docs = await Contact.find({ channel: 'zalo', channelUserId: 'z-880102' }).lean();
  expect(docs).toHaveLength(1);
  expect(String(docs[0]!._id)).toBe(existing.id);
  expect(docs[0]).toMatchObject({ lang: 'en', tags: ['kept'] });
  expect(docs[0]!.lastInteractionAt?.toISOString()).toBe('2025-03-11T02:00:00.000Z');
});

test('changes drained together are "created" when any of them created the contact', async () => {
  const contactId = new Types.ObjectId().toHexString();
  await appendContactChange(redis, prefix, contactId, {
    channel: 'web',
    userId: 'w-2',
    set: { lang: 'vi' },
    created: true,
  });
  await appendContactChange(redis, prefix, contactId, { channel: 'web', userId: 'w-2', set: { lang: 'en' } });
  const written: unknown[] = [];
  expect(await drainContactChanges(redis, prefix, contactId, async (m) => void written.push(m))).toBe(2);
  expect(written).toEqual([{ channel: 'web', userId: 'w-2', set: { lang: 'en' }, created: true }]);
});

test('units added by several changes are their union, kept beside the other fields, and adding one again changes nothing', async () => {
  const contactId = new Types.ObjectId().toHexString();
  const base = { channel: 'telegram' as const, userId: '880201' };
  await appendContactChange(redis, prefix, contactId, { ...base, set: { lang: 'vi' }, created: true });
  await appendContactChange(redis, prefix, contactId, { ...base, set: {}, addUnitCodes: ['C-1'] });
  await appendContactChange(redis, prefix, contactId, { ...base, set: {}, addUnitCodes: ['C-2', 'C-1'] });
  await producer.add('contact.update', { contactId, ...base, set: {}, queued: true });
  await waitForIdle(producer.getQueue('ingest'), 30_000);
  expect((await Contact.findById(contactId).lean())!.unitCodes.sort()).toEqual(['C-1', 'C-2']);
  // An existing contact: the unit is added with $addToSet, and a field set alongside stays set.
  await appendContactChange(redis, prefix, contactId, {
    ...base,
    set: { lang: 'en' },
    addUnitCodes: ['C-2', 'C-3'],
  });
  await producer.add('contact.update', { contactId, ...base, set: {}, queued: true });
  await waitForIdle(producer.getQueue('ingest'), 30_000);
  const c = (await Contact.findById(contactId).lean())!;
  expect(c.unitCodes.sort()).toEqual(['C-1', 'C-2', 'C-3']);
  expect(c.lang).toBe('en');
});

test('a unit-only change from an older job (not queued) is applied by the job itself', async () => {
  const existing = await Contact.create({ channel: 'zalo', channelUserId: 'z-880202', unitCodes: ['A'] });
  await producer.add('contact.update', {
    contactId: existing.id,
    channel: 'zalo',
    userId: 'z-880202',
    set: {},
    addUnitCodes: ['B'],
  });
  await waitForIdle(producer.getQueue('ingest'), 30_000);
  expect((await Contact.findById(existing._id).lean())!.unitCodes).toEqual(['A', 'B']);
});
