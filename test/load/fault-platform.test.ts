import { setTimeout as sleep } from 'node:timers/promises';
import { BroadcastQueues } from '../../workers/broadcast/queues';
import type { Fault } from '../fakes/telegram-server';
import { FakeZaloServer, type FakeFailure } from '../fakes/zalo-server';
import { uriWithDb } from '../support/app';
import { repeatedMessages, repeatedZaloMessages, runCitizens } from '../support/citizens';
import { startFaultFleet, FLEET_UNIT, type FaultFleet } from '../support/fault-fleet';
import {
  expectDeliveredOnce,
  expectNoFailedJobs,
  runZaloCitizens,
  seedFaultRecipients,
  sendFaultBroadcast,
  withFleetState,
} from '../support/fault-broadcast';
import { drainTime, startAppProcess } from '../support/fleet';
import { reconcile } from '../support/reconcile';
import { redisUrl, uniqueName } from '../support/services';

/**
 * Fault 6 (issue 21): the Telegram Bot API and the Zalo API answer 5xx, 429 and timeouts for a
 * whole minute while citizens answer surveys on both channels and a broadcast goes out on both.
 * During FAULT_MS every call of either platform (every Bot API method but getMe; every Zalo API
 * endpoint, not OAuth) answers the next fault of the mix in turn, so nothing reaches a citizen
 * for a minute: the turns wait in the chats' inboxes and the Zalo inbound queue, the deliveries
 * in their queues, and all of it must go out once the platforms answer again.
 *
 * The fakes never accept a call they fault (a timeout here is a request held, then its
 * connection closed without an answer, and nothing delivered), so any message seen twice is a
 * defect: the only duplicate Telegram may cause (a send accepted but answered too late,
 * docs/faults.md) cannot happen here, and the test allows none.
 */
jest.setTimeout(600_000);

const FAULT_MS = 60_000;
/** Longer than the clients' 10 s per attempt: each hang is a timeout. */
const HANG_MS = 11_000;
const TG_CITIZENS = 24;
const ZALO_CITIZENS = 8;
const TG_BASE = 7_400_000;
const BC_TG = 300;
const BC_ZALO = 40;
const BC_TG_BASE = 7_410_000;
const DRAIN_BOUND_MS = 15_000;

const TG_FAULTS: Fault[] = [
  { code: 502 },
  { code: 429, retryAfter: 2 },
  { code: 'hang', ms: HANG_MS },
  { code: 503 },
  { code: 500 },
];
/**
 * Zalo's 429 is error -32 (HTTP 200); its gateway answers raw 5xx. -32 comes last: it pauses
 * every Zalo call of the app for a minute (the shared limiter, bot/channels/zalo/client.ts), so
 * the faults after it in the mix would rarely be met.
 */
const ZALO_FAULTS: FakeFailure[] = [
  { http: 502, body: 'Bad Gateway' },
  { hangMs: HANG_MS },
  { http: 503, body: 'Service Unavailable' },
  -32,
];

/** What the citizens of every test of the file sent: the database holds them all. */
const allSent: number[][] = [];
let zalo: FakeZaloServer;
let fleet: FaultFleet;
let queues: BroadcastQueues;

beforeAll(async () => {
  // Zalo retries a webhook without a 200 within 2 s (30 s, 5 min, …); scaled down.
  zalo = await new FakeZaloServer({ retryDelaysMs: [1000, 2000, 5000, 10_000, 30_000] }).start();
  fleet = await startFaultFleet({
    label: 'faultplatform',
    mongoUri: uriWithDb(uniqueName('faultplatform')),
    redisUrl: redisUrl(),
    zalo,
  });
  queues = new BroadcastQueues(fleet.redis, fleet.prefix);
});

afterAll(async () => {
  await queues?.close();
  await fleet?.stop();
  await zalo?.close();
});

const zaloUser = (i: number) => `55000000000000${String(i).padStart(5, '0')}`;
const zaloBcUser = (i: number) => `56000000000000${String(i).padStart(5, '0')}`;

test('Telegram and Zalo answer 5xx, 429 and timeouts for a minute during surveys and a broadcast: every survey completes, every recipient gets the broadcast once, nothing lost or counted twice', async () => {
  const recipients = await seedFaultRecipients(
    {
      tg: Array.from({ length: BC_TG }, (_, i) => String(BC_TG_BASE + i)),
      zalo: Array.from({ length: BC_ZALO }, (_, i) => zaloBcUser(i)),
    },
    'faultbc',
  );
  let turns = 0;
  let window: { from: number; to: number } | null = null;
  let broadcastId: string | null = null;
  const fault: { done: Promise<void> | null } = { done: null };
  let faultStarted!: () => void;
  const started = new Promise<void>((resolve) => (faultStarted = resolve));
  const startFault = () => {
    faultStarted();
    fault.done = (async () => {
      const from = Date.now();
      fleet.fake.faultFor(FAULT_MS, TG_FAULTS);
      zalo.failFor(FAULT_MS, ZALO_FAULTS);
      // The broadcast starts inside the outage: its first deliveries meet the faults.
      broadcastId = await sendFaultBroadcast(
        fleet,
        queues,
        'Mời Ông/Bà tham gia khảo sát mức độ hài lòng',
        'faultbc',
      );
      await sleep(FAULT_MS);
      window = { from, to: Date.now() };
    })();
  };

  const tgRun = withFleetState(
    fleet,
    runCitizens(fleet.fake, TG_BASE, TG_CITIZENS, TG_CITIZENS, {
      unitCode: FLEET_UNIT,
      // A turn that met the outage is retried by the chat's inbox with backoff.
      replyTimeoutMs: 300_000,
      beforeTurn: () => {
        // A few turns in: some citizens mid-survey, others about to start.
        if (++turns === 40) startFault();
      },
    }),
  );
  // Half are mid-survey when the outage starts, half start during it.
  const zaloRun = runZaloCitizens(
    fleet,
    zalo,
    Array.from({ length: ZALO_CITIZENS }, (_, i) => zaloUser(i)),
    TG_CITIZENS,
    started,
    (i) => (i % 2 === 0 ? 3 : 0),
  );
  const [tgSent, zaloSent] = await Promise.all([tgRun, zaloRun]);
  await fault.done;
  expect(window).not.toBeNull();
  const { from, to } = window!;
  expect(to - from).toBeGreaterThanOrEqual(FAULT_MS);
  // The outage met real traffic on both platforms: faulted calls of every kind in the minute.
  // After the millisecond it started in: a call served just before faultFor, in that same
  // millisecond, carries the same timestamp and rightly answered ok (failed once in CI).
  const faulted = fleet.fake.calls.filter((c) => c.at > from && c.at < from + FAULT_MS);
  expect(faulted.length).toBeGreaterThan(0);
  // Named, so that a failure says which calls got through and when.
  expect(
    faulted
      .filter((c) => c.outcome === 'ok' && c.method !== 'getMe')
      .map((c) => ({ method: c.method, msAfterStart: c.at - from })),
  ).toEqual([]);
  expect(new Set(faulted.map((c) => c.outcome))).toEqual(new Set([502, 429, 0, 503, 500]));
  expect(zalo.outage!.n).toBeGreaterThanOrEqual(ZALO_FAULTS.length);
  console.log(
    `outage: ${faulted.length} Telegram calls faulted (${new Set(faulted.map((c) => c.method)).size} methods), ${zalo.outage!.n} Zalo calls`,
  );

  // Every survey on both channels: stored once, rollups equal the recomputation.
  const sent = [...tgSent, ...zaloSent];
  allSent.push(...sent);
  const r = await reconcile(sent, FLEET_UNIT, 180_000);
  expect(r.responses).toBe(TG_CITIZENS + ZALO_CITIZENS);
  const chats = Array.from({ length: TG_CITIZENS }, (_, i) => TG_BASE + i);
  const users = Array.from({ length: ZALO_CITIZENS }, (_, i) => zaloUser(i));
  expect(repeatedMessages(fleet.fake, chats)).toEqual([]);
  expect(repeatedZaloMessages(zalo, users)).toEqual([]);

  // The broadcast: every recipient exactly once on its channel, the report equal to the fakes.
  expect(broadcastId).not.toBeNull();
  const p = await expectDeliveredOnce(fleet, zalo, broadcastId!, recipients);
  // Some deliveries were tried inside the outage and had to wait for it.
  const tgIds = new Set(recipients.tg);
  expect(fleet.fake.calls.some((c) => tgIds.has(String(c.params.chat_id)) && c.at < from + FAULT_MS)).toBe(
    true,
  );
  expect(p.recipients).toBe(BC_TG + BC_ZALO);
  expect(p.counts).toMatchObject({
    sent: BC_TG + BC_ZALO,
    failed: 0,
    blocked: 0,
    queued: 0,
    sending: 0,
  });
  expect(p.inFlightAtCrash).toBe(0);
  await expectNoFailedJobs(fleet);
  for (const p of [fleet.bot, fleet.workers]) {
    const ms = await drainTime(p, DRAIN_BOUND_MS);
    expect(p.proc.exitCode).toBe(0);
    console.log(`${p.roles}: drained in ${ms} ms after SIGTERM`);
  }
});

/**
 * A SIGTERM while both platforms hang or fail every call (docs/faults.md, "The drain bound"):
 * turns, Zalo events and broadcast deliveries are in flight, each waiting on a platform call.
 * Both processes must exit with code 0 within OUTAGE_DRAIN_BOUND_MS; then, the platforms
 * answering again and the processes started again, every interrupted survey and delivery
 * completes, and nothing is lost or counted twice.
 */
const OUTAGE_DRAIN_BOUND_MS = 30_000;
const TG2_CITIZENS = 10;
const TG2_BASE = 7_420_000;
const ZALO2_CITIZENS = 4;
const BC2_TG = 150;
const BC2_ZALO = 20;
const BC2_TG_BASE = 7_430_000;

test('a SIGTERM during a platform outage: both processes drain within the bound, and after a restart every turn and delivery completes once', async () => {
  // Test 1 drained the fleet: start it again on the same port and variables (run alone, it is up).
  if (fleet.bot.proc.exitCode !== null) fleet.bot = await startAppProcess('http,bot', fleet.env, fleet.port);
  if (fleet.workers.proc.exitCode !== null) fleet.workers = await startAppProcess('workers', fleet.env);
  const recipients = await seedFaultRecipients(
    {
      tg: Array.from({ length: BC2_TG }, (_, i) => String(BC2_TG_BASE + i)),
      zalo: Array.from({ length: BC2_ZALO }, (_, i) => `57000000000000${String(i).padStart(5, '0')}`),
    },
    'faultbc2',
  );
  let turns = 0;
  let broadcastId: string | null = null;
  let drained: number[] | null = null;
  const fault: { done: Promise<void> | null } = { done: null };
  let faultStarted!: () => void;
  const started = new Promise<void>((resolve) => (faultStarted = resolve));
  const offset = allSent.length;
  const restarted = () => {
    faultStarted();
    fault.done = (async () => {
      // An outage longer than the test: it ends only when the test lifts it.
      fleet.fake.faultFor(3_600_000, [
        { code: 'hang', ms: 60_000 },
        { code: 502 },
        { code: 429, retryAfter: 5 },
      ]);
      zalo.failFor(3_600_000, [{ hangMs: 60_000 }, { http: 502, body: 'Bad Gateway' }]);
      broadcastId = await sendFaultBroadcast(
        fleet,
        queues,
        'Thông báo trong lúc nền tảng gián đoạn',
        'faultbc2',
      );
      // Calls are now held or failing: turns, Zalo events and deliveries wait on them.
      await fleet.fake.waitFor(() => fleet.fake.outage!.n >= 10, 60_000, 'ten Bot API calls met the outage');
      await sleep(3000);
      const procs = [fleet.bot, fleet.workers];
      drained = await Promise.all(procs.map((p) => drainTime(p, OUTAGE_DRAIN_BOUND_MS)));
      for (const p of procs) expect(p.proc.exitCode).toBe(0);
      console.log(
        `SIGTERM during the outage: ${procs.map((p, i) => `${p.roles} drained in ${drained![i]} ms`).join(', ')}`,
      );
      fleet.fake.outage = null;
      zalo.outage = null;
      fleet.bot = await startAppProcess('http,bot', fleet.env, fleet.port);
      fleet.workers = await startAppProcess('workers', fleet.env);
    })();
  };
  const tgRun = withFleetState(
    fleet,
    runCitizens(fleet.fake, TG2_BASE, TG2_CITIZENS, TG2_CITIZENS, {
      unitCode: FLEET_UNIT,
      offset,
      replyTimeoutMs: 300_000,
      beforeTurn: () => {
        if (++turns === 20) restarted();
      },
    }),
  );
  const zaloRun = runZaloCitizens(
    fleet,
    zalo,
    Array.from({ length: ZALO2_CITIZENS }, (_, i) => zaloUser(100 + i)),
    offset + TG2_CITIZENS,
    started,
    () => 3,
  );
  const [tgSent, zaloSent] = await Promise.all([tgRun, zaloRun]);
  await fault.done;
  expect(drained).not.toBeNull();

  allSent.push(...tgSent, ...zaloSent);
  const r = await reconcile(allSent, FLEET_UNIT, 180_000);
  expect(r.responses).toBe(allSent.length);
  const chats = Array.from({ length: TG2_CITIZENS }, (_, i) => TG2_BASE + i);
  const users = Array.from({ length: ZALO2_CITIZENS }, (_, i) => zaloUser(100 + i));
  expect(repeatedMessages(fleet.fake, chats)).toEqual([]);
  expect(repeatedZaloMessages(zalo, users)).toEqual([]);

  expect(broadcastId).not.toBeNull();
  const p = await expectDeliveredOnce(fleet, zalo, broadcastId!, recipients);
  expect(p.counts).toMatchObject({ sent: BC2_TG + BC2_ZALO, failed: 0, queued: 0, sending: 0 });
  console.log(`broadcast after the restart: inFlightAtCrash ${p.inFlightAtCrash}`);
  await expectNoFailedJobs(fleet);
  for (const p of [fleet.bot, fleet.workers]) {
    await drainTime(p, DRAIN_BOUND_MS);
    expect(p.proc.exitCode).toBe(0);
  }
});
