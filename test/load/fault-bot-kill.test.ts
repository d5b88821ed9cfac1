import mongoose from 'mongoose';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { Contact } from '../../models/contact';
import { Unit } from '../../models/unit';
import { FakeTelegram } from '../fakes/telegram-server';
import { freePort, uriWithDb } from '../support/app';
import { repeatedMessages, runCitizens } from '../support/citizens';
import {
  drainTime,
  failedJobs,
  fleetEnv,
  inboxStateOf,
  startAppProcess,
  stopProcess,
  type AppProcess,
} from '../support/fleet';
import { reconcile } from '../support/reconcile';
import { clearPrefix, redisUrl, testPrefix, testRedis, uniqueName } from '../support/services';

/**
 * Fault 1 (issue 21): two bot processes (`http,bot`) behind a load balancer serve the same chats;
 * one is SIGKILLed while conversations are under way. The other keeps serving them: the fake's
 * deliveries to the dead process fail and are retried on the live one (as a load balancer with
 * Telegram's retries does), and the chats the dead process was draining are taken over by the
 * survivor's sweeper once their drain lock expires (30 s, update-inbox.ts). Ends with the exact reconciliation and a
 * SIGTERM drain of the survivors within DRAIN_BOUND_MS (docs/faults.md).
 */
jest.setTimeout(180_000);

const SECRET = 'fault_kill-SECRET_1';
const UNIT = '19867';
const CITIZENS = 60;
const BASE = 7_100_000;
const DRAIN_BOUND_MS = 15_000;
const prefix = testPrefix('faultkill');
const dbName = uniqueName('faultkill');
const redis = testRedis();
let fake: FakeTelegram;
const procs: AppProcess[] = [];

beforeAll(async () => {
  fake = await FakeTelegram.start();
  await mongoose.connect(uriWithDb(dbName), { serverSelectionTimeoutMS: 5000 });
  await Promise.all(Object.values(mongoose.models).map((m) => m.syncIndexes()));
  await new FlowRepository().ensure(defaultFlow);
  await Unit.create({ code: UNIT, name: 'Thị trấn Sịa', level: 'town' });
  const env = {
    ...fleetEnv({
      mongoUri: uriWithDb(dbName),
      redisUrl: redisUrl(),
      prefix,
      telegram: fake,
      secret: SECRET,
    }),
    LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? 'warn',
  };
  const ports = [await freePort(), await freePort()];
  procs.push(
    ...(await Promise.all([
      startAppProcess('http,bot', env, ports[0]!),
      startAppProcess('http,bot', env, ports[1]!),
      startAppProcess('workers', env),
    ])),
  );
  fake.setWebhookTargets(
    ports.map((p) => `http://127.0.0.1:${p}/webhooks/telegram`),
    SECRET,
  );
});

afterAll(async () => {
  await Promise.all(procs.map((p) => stopProcess(p.proc, 'SIGKILL')));
  await fake?.close();
  if (mongoose.connection.readyState === 1) {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  }
  await clearPrefix(redis, prefix);
  await redis.quit();
});

test('one of two bot processes SIGKILLed mid-conversation: the other serves every chat, nothing lost or counted twice', async () => {
  let killedAt = 0;
  const turnsBefore = CITIZENS * 2;
  let turns = 0;
  const sent = await runCitizens(fake, BASE, CITIZENS, 30, {
    unitCode: UNIT,
    replyTimeoutMs: 60_000,
    beforeTurn: async () => {
      // Once a third of the citizens' turns have been sent: the first bot process dies at once.
      if (++turns === turnsBefore) {
        await stopProcess(procs[0]!.proc, 'SIGKILL');
        killedAt = Date.now();
      }
    },
  }).catch(async (err: Error) => {
    const deliveries = fake.webhookDeliveries.filter((d) => d.at >= killedAt - 2000).slice(0, 5);
    throw new Error(
      `${err.message}\nkilled at ${killedAt}; first deliveries around it: ${JSON.stringify(deliveries)}\n` +
        `inbox: ${await inboxStateOf(redis, prefix, err)}\nbot 1: ${procs[0]!.output.slice(-15).join('\n')}\n` +
        `bot 2: ${procs[1]!.output.slice(-40).join('\n')}`,
    );
  });
  expect(killedAt).toBeGreaterThan(0);
  expect(procs[0]!.proc.signalCode).toBe('SIGKILL');
  // Deliveries that reached the dead process failed and were retried on the live one.
  expect(fake.webhookDeliveries.some((d) => d.status === 'error' && d.at >= killedAt)).toBe(true);

  const r = await reconcile(sent, UNIT);
  expect(r.responses).toBe(CITIZENS);
  expect(await Contact.countDocuments({ channel: 'telegram', consentAt: { $ne: null } })).toBe(CITIZENS);
  expect(await failedJobs(redis, prefix)).toEqual({});
  // Every reply once, but for the turns the killed process had sent a reply for and not yet
  // recorded as done: the survivor replays those (at least once: Telegram has no idempotent
  // send). Such a copy is the only one sent after the kill, of a reply first sent before it.
  const chats = Array.from({ length: CITIZENS }, (_, i) => BASE + i);
  const repeated = repeatedMessages(fake, chats);
  expect(repeated.filter((r) => r.at.length !== 2 || r.at[0]! >= killedAt || r.at[1]! < killedAt)).toEqual(
    [],
  );
  expect(new Set(repeated.map((r) => r.chat)).size).toBe(repeated.length);
  console.log(`replies sent again after the kill (turns in flight): ${repeated.length}`);

  // The survivors drain on SIGTERM within the bound.
  for (const p of procs.slice(1)) {
    const ms = await drainTime(p, DRAIN_BOUND_MS);
    expect(p.proc.exitCode).toBe(0);
    console.log(`${p.roles}: drained in ${ms} ms after SIGTERM`);
  }
});
