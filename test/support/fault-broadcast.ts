import { setTimeout as sleep } from 'node:timers/promises';
import { Contact } from '../../models/contact';
import { createBroadcast, type ControlDeps } from '../../workers/broadcast/control';
import { broadcastProgress, type BroadcastProgress } from '../../workers/broadcast/progress';
import type { BroadcastQueues } from '../../workers/broadcast/queues';
import type { FakeZaloServer } from '../fakes/zalo-server';
import { broadcastTestEnv, waitBroadcastStatus } from './broadcasts';
import { answersOf, answerZaloSurvey } from './citizens';
import { FLEET_UNIT, type FaultFleet } from './fault-fleet';
import { failedJobReasons, failedJobs, inboxStateOf } from './fleet';

/**
 * What the fault tests of both platforms share around a broadcast sent during an outage: its
 * recipients, the check that each got it exactly once, and the settled report. One place, so the
 * tests differ only in the fault they make.
 */
export interface FaultRecipients {
  tg: string[];
  zalo: string[];
}

/** Consenting contacts of FLEET_UNIT on both channels, tagged `tag` (the broadcast's target). */
export async function seedFaultRecipients(r: FaultRecipients, tag: string): Promise<FaultRecipients> {
  const base = { consentAt: new Date(), unitCodes: [FLEET_UNIT], tags: [tag], lang: 'vi' };
  await Contact.insertMany([
    ...r.tg.map((id) => ({ ...base, channel: 'telegram', channelUserId: id })),
    ...r.zalo.map((id) => ({ ...base, channel: 'zalo', channelUserId: id, lastInteractionAt: new Date() })),
  ]);
  return r;
}

/**
 * Waits for the broadcast to complete, expects every recipient to have it exactly once on its
 * channel (the fakes' own record), and returns its progress once settled (finishedAt set).
 */
export async function expectDeliveredOnce(
  fleet: FaultFleet,
  zalo: FakeZaloServer,
  broadcastId: string,
  r: FaultRecipients,
): Promise<BroadcastProgress> {
  await waitBroadcastStatus(broadcastId, ['completed'], 300_000);
  const tgIds = new Set(r.tg);
  const per = new Map<string, number>();
  for (const m of fleet.fake.sent) if (tgIds.has(m.chatId)) per.set(m.chatId, (per.get(m.chatId) ?? 0) + 1);
  expect(r.tg.filter((id) => per.get(id) !== 1)).toEqual([]);
  expect(r.zalo.filter((id) => zalo.csTo(id).length !== 1)).toEqual([]);
  for (;;) {
    const p = await broadcastProgress(broadcastId, fleet.redis, fleet.prefix);
    if (p?.finishedAt) return p;
    await sleep(200);
  }
}

/** No job of any queue failed for good (their reasons printed when one did). */
export async function expectNoFailedJobs(fleet: FaultFleet): Promise<void> {
  const failed = await failedJobs(fleet.redis, fleet.prefix);
  if (Object.keys(failed).length > 0) console.log(await failedJobReasons(fleet.redis, fleet.prefix));
  expect(failed).toEqual({});
}

/** A citizens' run whose failure says where the chats' inboxes stood and what the bot logged last. */
export function withFleetState<T>(fleet: FaultFleet, run: Promise<T>): Promise<T> {
  return run.catch(async (err: Error) => {
    throw new Error(
      `${err.message}\n${await inboxStateOf(fleet.redis, fleet.prefix, err)}\n${fleet.bot.output.slice(-30).join('\n')}`,
    );
  });
}

/** Creates the broadcast to the contacts tagged `tag`, as the API would (its id). */
export async function sendFaultBroadcast(
  fleet: FaultFleet,
  queues: BroadcastQueues,
  text: string,
  tag: string,
): Promise<string> {
  const deps: ControlDeps = {
    redis: fleet.redis,
    prefix: fleet.prefix,
    queues,
    env: broadcastTestEnv(fleet.fake),
  };
  return (await createBroadcast({ text, target: { tags: [tag] }, createdBy: 'fault-test' }, deps)).id;
}

/**
 * Zalo citizens answering the survey through the fleet's webhook, the i-th with answersOf(first + i);
 * each waits for `started` before its turn `waitAt(i)` (a turn retried across an outage may take
 * minutes). Their answers, for reconcile().
 */
export function runZaloCitizens(
  fleet: FaultFleet,
  zalo: FakeZaloServer,
  users: string[],
  first: number,
  started: Promise<void>,
  waitAt: (i: number) => number,
): Promise<number[][]> {
  return Promise.all(
    users.map(async (user, i) => {
      const answers = answersOf(first + i);
      await answerZaloSurvey(zalo, fleet.zaloWebhook!, user, answers, {
        unitCode: FLEET_UNIT,
        replyTimeoutMs: 300_000,
        beforeTurn: (n) => (n === waitAt(i) ? started : undefined),
      });
      return answers;
    }),
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${fleet.bot.output.slice(-30).join('\n')}`);
  });
}
