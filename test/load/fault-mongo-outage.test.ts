import { setTimeout as sleep } from 'node:timers/promises';
import { Contact } from '../../models/contact';
import { repeatedMessages, runCitizens } from '../support/citizens';
import { startFaultFleet, FLEET_UNIT, type FaultFleet } from '../support/fault-fleet';
import { Response } from '../../models/response';
import {
  drainTime,
  failedJobReasons,
  failedJobs,
  inboxStateOf,
  queueStateOf,
  startOwnFerret,
  type OwnFerret,
} from '../support/fleet';
import { reconcile } from '../support/reconcile';
import { redisUrl, uniqueName } from '../support/services';

/**
 * Fault 3 (issue 21): the MongoDB-compatible server stopped for 30 s during load, then started
 * again. The test runs its own FerretDB (scripts/install-ferretdb.sh's build) on a free port,
 * on a PostgreSQL database of its own; mid-load it is stopped (every connection closes, new ones
 * are refused) and started again OUTAGE_MS later on the same port. The webhook keeps answering
 * (Redis is up); turns that need the database wait in the chat's inbox and are retried, the
 * workers' jobs retry with backoff. Ends with the exact reconciliation and a SIGTERM drain within
 * DRAIN_BOUND_MS (docs/faults.md).
 */
jest.setTimeout(480_000);

const CITIZENS = 40;
const BASE = 7_300_000;
const OUTAGE_MS = 30_000;
const DRAIN_BOUND_MS = 15_000;
/**
 * A turn waits out the outage as the processes see it (OUTAGE_MS, plus FerretDB's stop and
 * start: seconds on a quiet machine, a minute and more on a busy one), then at most the inbox's
 * longest backoff (60 s, update-inbox.ts), then its own processing.
 */
const REPLY_TIMEOUT_MS = 300_000;
/**
 * After the database is back, a job waits at most its current backoff, and exponential backoff
 * (workers/queues.ts, from 1 s) keeps that below the time since its first failure: at most the
 * outage as seen. So the reconciliation gets the outage as seen plus this, for the backlog.
 */
const RECONCILE_AFTER_OUTAGE_MS = 120_000;

/** Polls the test's own connection until the database answers: the outage's end as a client sees it. */
async function databaseBack(): Promise<number> {
  for (;;) {
    try {
      await Response.findOne({}, { _id: 1 }).lean();
      return Date.now();
    } catch {
      await sleep(200);
    }
  }
}
let ferret: OwnFerret;
let fleet: FaultFleet;

beforeAll(async () => {
  ferret = await startOwnFerret();
  fleet = await startFaultFleet({
    label: 'faultmongo',
    mongoUri: ferret.uri(uniqueName('faultmongo')),
    redisUrl: redisUrl(),
  });
});

afterAll(async () => {
  await fleet?.stop();
  await ferret?.destroy();
});

test('the database stopped for 30 s during load: every survey completes once it is back, nothing lost or counted twice', async () => {
  let turns = 0;
  const fault: { done: Promise<void> | null } = { done: null };
  let window: { from: number; to: number; stopAt: number; back: number } | null = null;
  const sent = await runCitizens(fleet.fake, BASE, CITIZENS, 20, {
    unitCode: FLEET_UNIT,
    // A turn that waited for the database is retried with backoff (up to a minute apart).
    replyTimeoutMs: REPLY_TIMEOUT_MS,
    beforeTurn: () => {
      if (++turns !== 100) return;
      fault.done = (async () => {
        const stopAt = Date.now();
        await ferret.stop();
        const from = Date.now();
        await sleep(OUTAGE_MS);
        await ferret.start();
        const to = Date.now();
        window = { from, to, stopAt, back: await databaseBack() };
      })();
    },
  }).catch(async (err: Error) => {
    throw new Error(
      `${err.message}\n${await inboxStateOf(fleet.redis, fleet.prefix, err)}\nworkers:\n${fleet.workers.output.slice(-30).join('\n')}\nbot:\n${fleet.bot.output.slice(-30).join('\n')}`,
    );
  });
  await fault.done;
  expect(window).not.toBeNull();
  const { from, to, stopAt, back } = window!;
  expect(to - from).toBeGreaterThanOrEqual(OUTAGE_MS);
  const seen = back - stopAt;
  console.log(
    `outage as a client saw it: ${seen} ms (stop ${from - stopAt} ms, down ${OUTAGE_MS} ms, start ${to - from - OUTAGE_MS} ms, first answer ${back - to} ms later)`,
  );
  // Turns were answered during the outage too (the webhook and the live state need only Redis),
  // or waited for it: either way the citizens all finished, which runCitizens checked.
  console.log(
    `replies during the ${OUTAGE_MS / 1000} s outage: ${fleet.fake.sent.filter((m) => m.at > from && m.at < to).length}`,
  );

  const r = await reconcile(sent, FLEET_UNIT, seen + RECONCILE_AFTER_OUTAGE_MS).catch(async (err: Error) => {
    // Where the work stands: what is stored, the queues (a job waiting out its backoff, failed
    // for good), the processes' last lines.
    const stored = await Response.countDocuments({ status: 'completed', unitCode: FLEET_UNIT });
    const lines = [
      err.message,
      `outage as seen: ${seen} ms; completed responses stored: ${stored} of ${sent.length}`,
      await queueStateOf(fleet.redis, fleet.prefix),
      'workers:',
      ...fleet.workers.output.slice(-30),
      'bot:',
      ...fleet.bot.output.slice(-15),
    ];
    throw new Error(lines.join('\n'));
  });
  expect(r.responses).toBe(CITIZENS);
  expect(await Contact.countDocuments({ channel: 'telegram', consentAt: { $ne: null } })).toBe(CITIZENS);
  const chats = Array.from({ length: CITIZENS }, (_, i) => BASE + i);
  expect(repeatedMessages(fleet.fake, chats)).toEqual([]);
  const failed = await failedJobs(fleet.redis, fleet.prefix);
  if (Object.keys(failed).length > 0)
    console.log((await failedJobReasons(fleet.redis, fleet.prefix)).join('\n'));
  expect(failed).toEqual({});
  for (const p of [fleet.bot, fleet.workers]) {
    const ms = await drainTime(p, DRAIN_BOUND_MS);
    expect(p.proc.exitCode).toBe(0);
    console.log(`${p.roles}: drained in ${ms} ms after SIGTERM`);
  }
});
