import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assign, unassign } from '../../bot/flow/assignments';
import { startFlowChangeBus, type FlowChangeBus } from '../../bot/flow/change-bus';
import { DEFAULT_FLOW_VERSIONS, defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { logger } from '../../lib/logger';
import { Flow as FlowModel } from '../../models/flow';
import { seedUnits } from '../support/api';
import { uriWithDb } from '../support/app';
import { clearPrefix, connectTestDb, dropTestDb, redisUrl, testPrefix, testRedis } from '../support/services';

/**
 * Issue 18: a live-version change made in one process (the API) reaches another (a bot) at
 * once through the flow change bus, not after the cache's time to live: the second process
 * here caches for an hour.
 */
const redis = testRedis();
const prefix = testPrefix('flowbus');
let child: ChildProcess;
let bus: FlowChangeBus;
const replies: Array<{ version?: number; key?: string; error?: string; ready?: boolean }> = [];

async function childLive(unitCode: string): Promise<number> {
  const before = replies.length;
  child.send({ unitCode });
  for (let i = 0; i < 400 && replies.length === before; i++) await sleep(25);
  const r = replies[before];
  if (!r || r.version === undefined) throw new Error(`child answered ${JSON.stringify(r)}`);
  return r.version;
}

/** Asks the child until it sees `version` (the bus is asynchronous), for at most 10 s. */
async function childSees(unitCode: string, version: number): Promise<number> {
  let seen = await childLive(unitCode);
  for (let i = 0; i < 100 && seen !== version; i++) {
    await sleep(100);
    seen = await childLive(unitCode);
  }
  return seen;
}

beforeAll(async () => {
  const dbName = await connectTestDb('flowbus');
  await seedUnits();
  for (const f of DEFAULT_FLOW_VERSIONS) await new FlowRepository().ensure(f);
  bus = await startFlowChangeBus(redis, prefix, logger);
  child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../support/flow-live-child.ts')], {
    env: {
      ...process.env,
      MONGODB_URI: uriWithDb(dbName),
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  child.on('message', (m: (typeof replies)[number]) => void (m.ready ? undefined : replies.push(m)));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    child.on('message', (m: { ready?: boolean }) => m.ready && resolve());
  });
}, 60_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  await bus?.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('an assignment made in one process is what the other process starts surveys with, without waiting for its cache', async () => {
  // The child has read (and cached for an hour) the latest version.
  expect(await childLive('19870')).toBe(defaultFlow.version);
  await assign({ unitCode: 'QD-DAN-DIEN', procedureCode: null, flowKey: 'default', version: 1 }, 'test');
  expect(await childSees('19870', 1)).toBe(1);
  await unassign('QD-DAN-DIEN', null);
  expect(await childSees('19870', defaultFlow.version)).toBe(defaultFlow.version);
});

test('a version published in one process is the other’s latest at once', async () => {
  const before = await childLive('19867');
  const published = await new FlowRepository().publish({ ...defaultFlow, version: 1 }, 'test');
  expect(published.version).toBeGreaterThan(before);
  expect(await childSees('19867', published.version)).toBe(published.version);
});

test('only a message on this prefix’s channel moves the other process; a write nobody announced waits for its cache', async () => {
  const stale = await childLive('19870');
  const version = stale + 1;
  // Written straight to the collection: nobody announces it.
  await FlowModel.create({
    key: 'default',
    version,
    status: 'published',
    definition: { ...defaultFlow, version },
    publishedAt: new Date(),
    createdBy: 'test',
  });
  await redis.publish(`${testPrefix('flowbusother')}:flows:changed`, 'another deployment');
  await sleep(500);
  expect(await childLive('19870')).toBe(stale);
  await redis.publish(`${prefix}:flows:changed`, 'an operator');
  expect(await childSees('19870', version)).toBe(version);
});
