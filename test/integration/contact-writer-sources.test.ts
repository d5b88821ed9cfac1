import { Types } from 'mongoose';
import { markZaloContact } from '../../bot/channels/zalo/contacts';
import { ZaloApiError } from '../../bot/channels/zalo/errors';
import {
  processZaloEvent,
  ZaloUnrecoverableSend,
  type ZaloInboundDeps,
} from '../../bot/channels/zalo/inbound-processor';
import type { ZaloEventJob } from '../../bot/channels/zalo/inbound-queue';
import { jobConversationBackground } from '../../workers/conversation-background';
import { logger } from '../../lib/logger';
import { Contact } from '../../models/contact';
import { optOutKey } from '../../workers/broadcast/opt-outs';
import { goneChanges, writeContact } from '../../workers/jobs/contact-writer';
import { ingestHarness, waitForIdle } from '../support/ingest';

/**
 * Every source of a contact change ends in the one contact writer: the change is queued in the
 * contact's ordered list and applied by a `contact.update` job (workers/jobs/contact-writer.ts).
 * The ingest workers start only when the test says so, to see the change waiting there first.
 */
const { prefix, redis, producer, startIngestWorkers } = ingestHarness('ctsources');
const ingest = () => producer.getQueue('ingest');
const listOf = (contactId: string) => redis.lrange(`${prefix}:ct:chg:${contactId}`, 0, -1);

/** The contact.update jobs waiting for the writer, by contact id. */
async function pendingWrites(): Promise<string[]> {
  const jobs = await ingest().getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs
    .filter((j) => j.name === 'contact.update')
    .map((j) => (j.data as { contactId: string }).contactId);
}

async function applied(): Promise<void> {
  await startIngestWorkers();
  await waitForIdle(ingest(), 20_000);
}

function zaloJob(event: Record<string, unknown>): {
  data: ZaloEventJob;
  updateData(d: ZaloEventJob): Promise<void>;
} {
  const job = {
    data: {
      eventId: `e-${new Types.ObjectId().toHexString()}`,
      event,
      receivedAt: Date.now(),
    } as ZaloEventJob,
    async updateData(d: ZaloEventJob) {
      job.data = d;
    },
  };
  return job;
}

function zaloDeps(sendCs: ZaloInboundDeps['client']['sendCs']): ZaloInboundDeps {
  return {
    conversation: { handle: () => Promise.reject(new Error('no turn in this test')) },
    client: { sendCs },
    redis,
    prefix,
    log: logger,
    phoneHashKey: 'k',
  };
}

beforeEach(async () => {
  await ingest().pause();
});
afterEach(async () => {
  await ingest().resume();
});

test('a Zalo unfollow (inbound) is a change for the writer, applied in MongoDB and the opt-out log', async () => {
  const c = await Contact.create({ channel: 'zalo', channelUserId: 'src-unfollow', consentAt: new Date() });
  const id = String(c._id);
  await processZaloEvent(
    zaloDeps(() => Promise.resolve({ messageId: 'm' })),
    zaloJob({ event_name: 'unfollow', follower: { id: 'src-unfollow' }, timestamp: '1764216000000' }),
  );
  expect((await Contact.findById(c._id).lean())?.unsubscribedAt).toBeNull();
  expect(await pendingWrites()).toContain(id);
  expect(await listOf(id)).toHaveLength(1);
  await ingest().resume();
  await applied();
  const out = (await Contact.findById(c._id).lean())?.unsubscribedAt;
  expect(out).toBeInstanceOf(Date);
  expect(Number(await redis.zscore(optOutKey(prefix), id))).toBe(out!.getTime());
  expect(await listOf(id)).toHaveLength(0);
});

test('a Zalo follow and shared details (inbound) of a new user create the contact through the writer', async () => {
  const sent: string[] = [];
  const deps = zaloDeps(async (u) => void sent.push(u) as never);
  await processZaloEvent(
    deps,
    zaloJob({
      event_name: 'user_submit_info',
      sender: { id: 'src-new' },
      timestamp: '1764216000000',
      info: { phone: '0912345678' },
    }),
  );
  expect(await Contact.findOne({ channelUserId: 'src-new' }).lean()).toBeNull();
  expect(await pendingWrites()).toHaveLength(1);
  await ingest().resume();
  await applied();
  const c = await Contact.findOne({ channel: 'zalo', channelUserId: 'src-new' }).lean();
  expect(c?.phoneHash).toMatch(/^[0-9a-f]{64}$/);
  expect(c?.lastInteractionAt).toBeInstanceOf(Date);
  expect(sent).toEqual(['src-new']);
});

test('a Zalo reply that finds the user gone (send) marks the contact through the writer', async () => {
  const c = await Contact.create({ channel: 'zalo', channelUserId: 'src-gone' });
  const gone = () => Promise.reject(new ZaloApiError(-227, 'message/cs', 'user banned'));
  await expect(
    processZaloEvent(
      zaloDeps(gone),
      zaloJob({ event_name: 'follow', follower: { id: 'src-gone' }, timestamp: '1764216000000' }),
    ),
  ).rejects.toBeInstanceOf(ZaloUnrecoverableSend);
  expect((await Contact.findById(c._id).lean())?.blockedAt).toBeNull();
  expect(await pendingWrites()).toContain(String(c._id));
  await ingest().resume();
  await applied();
  const after = await Contact.findById(c._id).lean();
  expect(after?.blockedAt).toBeInstanceOf(Date);
  expect(after?.unsubscribedAt).toBeInstanceOf(Date);
});

test('Zalo invitations and reminders (proactive send) mark through the same writer', async () => {
  const c = await Contact.create({ channel: 'zalo', channelUserId: 'src-proactive' });
  await markZaloContact({ redis, prefix }, 'src-proactive', 'unsubscribed', new Date('2026-11-27T03:00:00Z'));
  expect(await pendingWrites()).toContain(String(c._id));
  await ingest().resume();
  await applied();
  expect((await Contact.findById(c._id).lean())?.unsubscribedAt?.toISOString()).toBe(
    '2026-11-27T03:00:00.000Z',
  );
});

test('a Telegram reply, an invitation, a reminder, a case notice and a broadcast hand their marks to the same writer', async () => {
  // The conversation service (Telegram reply), outreach (invitations, reminders) and case jobs
  // use the conversation background; the broadcast worker calls writeContact. Both end in one list.
  const c = await Contact.create({ channel: 'telegram', channelUserId: '770001' });
  const id = String(c._id);
  const at = new Date('2026-11-27T04:00:00Z');
  await jobConversationBackground(producer).updateContact({
    contactId: id,
    channel: 'telegram',
    userId: '770001',
    set: goneChanges('blocked', at),
  });
  await writeContact(
    { redis, prefix },
    { contactId: id, channel: 'telegram', userId: '770001', set: { lang: 'en' } },
  );
  expect(await listOf(id)).toHaveLength(2);
  await ingest().resume();
  await applied();
  const after = await Contact.findById(c._id).lean();
  expect(after?.blockedAt?.toISOString()).toBe(at.toISOString());
  expect(after?.unsubscribedAt?.toISOString()).toBe(at.toISOString());
  expect(after?.lang).toBe('en');
});
