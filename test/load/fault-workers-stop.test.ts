import { Case } from '../../models/case';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { hcmDay } from '../../lib/time';
import { notifyJobId } from '../../workers/aggregation/cases/case-jobs';
import { digestJobId } from '../../workers/aggregation/digest/jobs';
import { invitationJobId } from '../../workers/jobs/invitation-queue';
import { JobProducer } from '../../workers/producer';
import { uriWithDb } from '../support/app';
import { startFaultFleet, FLEET_UNIT, type FaultFleet } from '../support/fault-fleet';
import { drainTime, failedJobReasons, failedJobs, startAppProcess } from '../support/fleet';
import { redisUrl, uniqueName } from '../support/services';

/**
 * The workers' own Telegram sends during a Bot API outage, then a SIGTERM (issue 21,
 * docs/faults.md "The drain bound"): a case alert, a daily digest and an invitation are each
 * held on a sendMessage that the fake Bot API never answers. The `workers` process must exit,
 * with code 0, within DRAIN_BOUND_MS: the shutdown's grace (lib/shutdown.ts, 5 s), then its stop
 * signal abandons the calls and their retries, and the jobs fail that attempt. Without the stop
 * signal each send retries TELEGRAM_MAX_RETRIES times, 10 s per attempt, and the shutdown steps
 * wait their 30 s each. Then, the Bot API answering again and a new `workers` process started,
 * each message arrives exactly once (its job is retried; nothing is lost or sent twice).
 */
jest.setTimeout(300_000);

const DRAIN_BOUND_MS = 12_000;
const ALERT_CHAT = '-1007500000';
const CITIZEN_CHAT = '7500001';
const CASE_ID = 'CASE-STOP-1';
const DOSSIER = 'HS-STOP-1';
let fleet: FaultFleet;
let producer: JobProducer;

beforeAll(async () => {
  fleet = await startFaultFleet({
    label: 'faultstop',
    mongoUri: uriWithDb(uniqueName('faultstop')),
    redisUrl: redisUrl(),
  });
  producer = new JobProducer(fleet.redis, fleet.prefix);
});

afterAll(async () => {
  await producer?.close();
  await fleet?.stop();
});

/** Polls until `fn` holds; the failure names what was awaited and the workers' last lines. */
async function until(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms\n${fleet.workers.output.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a SIGTERM while case alerts, digests and invitations hang on the Bot API: the workers exit within the bound, and the next process delivers each once', async () => {
  const now = new Date();
  const day = hcmDay(new Date(now.getTime() - 86_400_000));
  await Unit.updateOne({ code: FLEET_UNIT }, { $set: { alertTelegramChatId: ALERT_CHAT } });
  await Case.create({
    caseId: CASE_ID,
    responseId: 'resp-stop-1',
    unitCode: FLEET_UNIT,
    status: 'open',
    openedAt: now,
    dueAt: new Date(now.getTime() + 3 * 86_400_000),
    day: hcmDay(now),
  });
  const contact = await Contact.create({
    channel: 'telegram',
    channelUserId: CITIZEN_CHAT,
    consentAt: now,
    lang: 'vi',
  });
  await Dossier.create({
    code: DOSSIER,
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: FLEET_UNIT,
    channel: 'in_person',
    status: 'finished',
    finishedAt: now,
    contactIds: [contact._id],
    survey: { token: 'stoptoken0001', issuedAt: now, expiresAt: new Date(now.getTime() + 7 * 86_400_000) },
  });

  // Every send is held unanswered (the connection closed after a minute, nothing delivered).
  fleet.fake.faultFor(3_600_000, [{ code: 'hang', ms: 60_000 }], ['sendMessage']);
  await producer.addByName('case.notify', { caseId: CASE_ID }, { jobId: notifyJobId(CASE_ID) });
  await producer.addByName(
    'digest.send',
    { unitCode: FLEET_UNIT, day },
    { jobId: digestJobId(FLEET_UNIT, day) },
  );
  await producer.addByName('invitation.send', { dossierCode: DOSSIER }, { jobId: invitationJobId(DOSSIER) });
  const held = () =>
    new Set(
      fleet.fake.calls
        .filter((c) => c.method === 'sendMessage' && c.outcome === 0)
        .map((c) => String(c.params.chat_id)),
    );
  await fleet.fake.waitFor(
    () => held().has(ALERT_CHAT) && held().has(CITIZEN_CHAT) && fleet.fake.outage!.n >= 3,
    60_000,
    'the alert, the digest and the invitation held on sendMessage',
  );

  const ms = await drainTime(fleet.workers, DRAIN_BOUND_MS);
  expect(fleet.workers.proc.exitCode).toBe(0);
  console.log(`workers: drained in ${ms} ms after SIGTERM, 3 sends held by the Bot API`);
  expect(fleet.fake.sentTo(ALERT_CHAT)).toEqual([]);
  expect(fleet.fake.sentTo(CITIZEN_CHAT)).toEqual([]);

  fleet.fake.outage = null;
  fleet.workers = await startAppProcess('workers', fleet.env);
  // The invitation's retry waits the outreach queue's backoff (30 s after its first attempt).
  await until(
    async () =>
      !!(await Case.findOne({ caseId: CASE_ID }).lean())?.notifiedAt &&
      !!(await Dossier.findOne({ code: DOSSIER }).lean())?.invitation?.sentAt &&
      fleet.fake.sentTo(ALERT_CHAT).length >= 2,
    120_000,
    'the alert, the digest and the invitation delivered after the restart',
  );
  // Late duplicates would come from a second run of a job: give them a moment to show.
  await new Promise((r) => setTimeout(r, 2000));
  const alerts = fleet.fake.sentTo(ALERT_CHAT).map((m) => m.text);
  expect(alerts.filter((t) => t.startsWith('⚠️ Phản ánh không hài lòng mới'))).toHaveLength(1);
  expect(alerts).toHaveLength(2);
  expect(fleet.fake.sentTo(CITIZEN_CHAT)).toHaveLength(1);
  const failed = await failedJobs(fleet.redis, fleet.prefix);
  if (Object.keys(failed).length > 0) console.log(await failedJobReasons(fleet.redis, fleet.prefix));
  expect(failed).toEqual({});
  await drainTime(fleet.workers, DRAIN_BOUND_MS);
  expect(fleet.workers.proc.exitCode).toBe(0);
});
