import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Types } from 'mongoose';
import { parseEnv } from '../../config/env';
import type { InboundEvent } from '../../bot/channels/channel';
import { webChatRoutes } from '../../bot/channels/web/routes';
import { createHttpServer } from '../../bot/http/server';
import { issueSurveyToken } from '../../bot/survey/token';
import { logger } from '../../lib/logger';
import { AuditLog } from '../../models/audit-log';
import { Dossier } from '../../models/dossier';
import { Flag } from '../../models/flag';
import { Response } from '../../models/response';
import { Session } from '../../models/session';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import type { ResponseCompletePayload } from '../../workers/jobs/response-meta';
import { excludeResponse, flagBursts } from '../../workers/aggregation/integrity/bursts';
import { checkSharedContact } from '../../workers/aggregation/integrity/shared-contact';
import { checkCounterNetwork } from '../../workers/aggregation/integrity/counter-network';
import { listFlags } from '../../indices/flag-list';
import { markCounterAnswer } from '../../workers/aggregation/integrity/counter-network';
import { aggregationSettings } from '../../workers/aggregation/after-complete';
import { JobProducer } from '../../workers/producer';
import { startWorkers } from '../../workers/runner';
import { waitForJob } from '../support/ingest';
import { recomputeBucket } from '../../workers/aggregation/rollups/recompute';
import { recomputeMonth } from '../../workers/aggregation/rollups/month';
import { buildReport } from '../../indices/report';
import { runCli } from '../../cli/program';
import { Unit } from '../../models/unit';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/** What the `rollup.recompute` job and the `rollup.month` job it schedules do, run inline. */
async function recomputeDay(unitCode: string, day: string): Promise<void> {
  await recomputeBucket({ redis, prefix }, unitCode, day);
  await recomputeMonth({ redis, prefix }, unitCode, day.slice(0, 7));
}

const redis = testRedis();
const prefix = testPrefix('aggintegrity');
// The `hailong` commands below read their environment once: this file's key prefix.
process.env.REDIS_PREFIX = prefix;
const enqueued: Array<{ name: string; jobId?: string }> = [];
const deps = {
  redis,
  prefix,
  enqueue: async (name: string, _p: unknown, o?: { jobId?: string }) =>
    void enqueued.push({ name, ...(o?.jobId ? { jobId: o.jobId } : {}) }),
};

async function complete(id: string, minute: number, v: number) {
  const at = new Date(Date.UTC(2025, 5, 2, 2, minute));
  await storeCompletion(
    id,
    {
      dossierCode: `D-${id}`,
      unitCode: 'U9',
      procedureCode: 'P',
      officerId: 'O',
      dossierChannel: 'in_person',
      onlineLevel: null,
      surveyChannel: 'web',
      flowKey: 'default',
      flowVersion: 1,
      lang: 'vi',
      startedAt: at.toISOString(),
    },
    [
      { questionId: 'q1', element: 'TIEP_CAN', type: 'scale5', value: v, text: null },
      { questionId: 'q6', element: 'TONG_THE', type: 'scale5', value: v, text: null },
    ],
    at,
  );
}

beforeAll(async () => {
  await connectTestDb('aggintegrity');
  for (let i = 0; i < 5; i++) await complete(`burst-${i}`, i, 5);
  await complete('honest-1', 3, 4);
});

afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('identical answers in a burst are flagged once, with the reason', async () => {
  expect(await flagBursts('U9', '2025-06-02')).toBe(5);
  await flagBursts('U9', '2025-06-02');
  const flags = await Flag.find({}).lean();
  expect(flags.map((f) => f.responseId).sort()).toEqual([
    'burst-0',
    'burst-1',
    'burst-2',
    'burst-3',
    'burst-4',
  ]);
  // Counts, not a sentence: the console words them in the reader's language.
  expect(flags[0]).toMatchObject({ params: { count: 5, windowMin: 10 } });
  expect(flags[0].detail ?? null).toBeNull();
});

test('an admin exclusion needs a reason, is audited, recomputes the bucket and shows in the report', async () => {
  await recomputeDay('U9', '2025-06-02');
  await expect(excludeResponse(deps, 'burst-0', 'admin.tran', '')).rejects.toThrow('reason');
  expect(await excludeResponse(deps, 'burst-0', 'admin.tran', 'Nhập hộ tại quầy một cửa')).toBe(true);
  expect(await excludeResponse(deps, 'burst-0', 'admin.tran', 'Nhập hộ tại quầy một cửa')).toBe(false);
  expect(enqueued.map((e) => e.name)).toEqual(['rollup.recompute']);
  const audit = await AuditLog.find({ targetId: 'burst-0' }).lean();
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({
    actor: 'admin.tran',
    action: 'response.excluded',
    reason: 'Nhập hộ tại quầy một cửa',
  });
  await recomputeDay('U9', '2025-06-02');
  const r = await buildReport({
    unit: 'U9',
    period: '2025-06',
    units: null,
    officerMinN: 5,
    indexOnly: true,
  });
  expect(r.responses).toBe(5);
  expect(r.excludedResponses).toBe(1);
  expect(r.elements.TIEP_CAN).toMatchObject({ n: 5, satisfied: 5 });
});

describe('shared contact rule (one chat, Zalo user or web device answering for many applicants)', () => {
  const env = parseEnv({
    NODE_ENV: 'test',
    INTEGRITY_CONTACT_MIN_APPLICANTS: '3',
    INTEGRITY_CONTACT_WINDOW_HOURS: '24',
  });
  const ctx = { redis, prefix, env };
  const t0 = Date.UTC(2025, 6, 1, 2, 0);
  const values: Record<string, number> = {};

  /** A completed response of `contact` for a new dossier of `applicant`, `hours` after t0. */
  async function answered(
    id: string,
    contact: Types.ObjectId,
    channel: 'telegram' | 'zalo' | 'web',
    applicant: string | null,
    hours: number,
    v = 5,
  ): Promise<ResponseCompletePayload> {
    const at = new Date(t0 + hours * 3_600_000);
    const dossierCode = `D-${id}`;
    await Dossier.create({
      code: dossierCode,
      procedureCode: 'P',
      unitCode: 'U7',
      channel: 'in_person',
      status: 'finished',
      finishedAt: at,
      applicantPhoneHash: applicant,
    });
    await Session.create({
      contactId: contact,
      channel,
      dossierCode,
      responseId: id,
      flowKey: 'default',
      flowVersion: 1,
      status: 'completed',
      state: {},
      startedAt: at,
      completedAt: at,
    });
    const meta = {
      dossierCode,
      unitCode: 'U7',
      procedureCode: 'P',
      officerId: 'O',
      dossierChannel: 'in_person' as const,
      onlineLevel: null,
      surveyChannel: channel,
      flowKey: 'default',
      flowVersion: 1,
      lang: 'vi' as const,
      startedAt: at.toISOString(),
    };
    const answers = [{ questionId: 'q1', element: 'TIEP_CAN', type: 'scale5', value: v, text: null }];
    await storeCompletion(id, meta, answers, at);
    values[id] = v;
    return { responseId: id, meta, answers, completedAt: at.toISOString() };
  }
  const flagged = async () =>
    (await Flag.find({ reason: 'shared_contact' }, { responseId: 1 }).lean()).map((f) => f.responseId).sort();

  test('two applicants are fine; a third within 24 h flags all three, once, without identity in the flag', async () => {
    const c = new Types.ObjectId();
    const a = await answered('sc-a1', c, 'telegram', 'hashA', 0, 5);
    expect(await checkSharedContact(a, ctx)).toBe(0);
    const b = await answered('sc-b1', c, 'telegram', 'hashB', 5, 5);
    expect(await checkSharedContact(b, ctx)).toBe(0);
    expect(await flagged()).toEqual([]);
    const third = await answered('sc-c1', c, 'telegram', null, 24, 1);
    expect(await checkSharedContact(third, ctx)).toBe(3);
    expect(await checkSharedContact(third, ctx)).toBe(0); // a rerun adds nothing
    expect(await flagged()).toEqual(['sc-a1', 'sc-b1', 'sc-c1']);
    const f = await Flag.findOne({ responseId: 'sc-a1' }).lean();
    expect(f).toMatchObject({
      unitCode: 'U7',
      day: '2025-07-01',
      params: { applicants: 3, windowHours: 24 },
    });
    expect(JSON.stringify(f)).not.toMatch(/hashA|telegram/);
  });

  test('just outside the window, the same applicant again, or another contact: no flag', async () => {
    const c = new Types.ObjectId();
    for (const p of [
      await answered('sc-x1', c, 'web', 'hashX', 0),
      await answered('sc-x2', c, 'web', 'hashY', 1),
    ])
      await checkSharedContact(p, ctx);
    const late = await answered('sc-x3', c, 'web', 'hashZ', 25.01);
    expect(await checkSharedContact(late, ctx)).toBe(0);
    const same = new Types.ObjectId();
    for (const [i, h] of [0, 1, 2, 3].entries())
      expect(await checkSharedContact(await answered(`sc-s${i}`, same, 'zalo', 'hashS', h), ctx)).toBe(0);
    const other = new Types.ObjectId();
    expect(await checkSharedContact(await answered('sc-o1', other, 'web', 'hashO', 2), ctx)).toBe(0);
    expect(await flagged()).toEqual(['sc-a1', 'sc-b1', 'sc-c1']);
  });

  test('flags are listed with their reason; excluding a flagged response changes the index', async () => {
    const list = await listFlags({ units: ['U7'], from: '2025-07-01', to: '2025-07-02' });
    expect(list.map((f) => [f.responseId, f.reason])).toEqual([
      ['sc-a1', 'shared_contact'],
      ['sc-b1', 'shared_contact'],
      ['sc-c1', 'shared_contact'],
    ]);
    const q = { unit: 'U7', period: '2025-07', units: null, officerMinN: 5, indexOnly: true };
    for (const d of ['2025-07-01', '2025-07-02']) await recomputeDay('U7', d);
    const before = await buildReport(q);
    const all = Object.keys(values);
    expect(before.responses).toBe(all.length);
    expect(before.elements.TIEP_CAN!.index).toBeCloseTo((all.length - 1) / all.length, 10);
    expect(await excludeResponse(deps, 'sc-c1', 'admin.le', 'Một người trả lời hộ nhiều hồ sơ')).toBe(true);
    await recomputeDay('U7', '2025-07-02');
    const after = await buildReport(q);
    expect(after.excludedResponses).toBe(1);
    expect(after.responses).toBe(all.length - 1);
    expect(after.elements.TIEP_CAN!.index).toBe(1);
  });

  test('`hailong flags list` shows the flags with their state; `flags exclude` needs a reason, is audited and recomputes the day', async () => {
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const log = jest
        .spyOn(console, 'log')
        .mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
      const err = jest
        .spyOn(console, 'error')
        .mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
      // Refusals are printed by the CLI's one error path (cli/failure.ts) on stderr.
      const stderr = jest
        .spyOn(process.stderr, 'write')
        .mockImplementation(
          (c: string | Uint8Array) => (out.push(Buffer.from(c).toString().trimEnd()), true),
        );
      process.exitCode = 0;
      try {
        return { out, code: await runCli(args, { from: 'user' }) };
      } finally {
        log.mockRestore();
        err.mockRestore();
        stderr.mockRestore();
        process.exitCode = 0;
      }
    };
    // The CLI refuses unit codes it does not know.
    await Unit.updateOne(
      { code: 'U7' },
      { $setOnInsert: { code: 'U7', name: 'Đơn vị U7', level: 'commune' } },
      { upsert: true },
    );
    const listed = await run(
      'flags',
      'list',
      '--unit',
      'U7',
      '--from',
      '2025-07-01',
      '--to',
      '2025-07-02',
      '--json',
    );
    const rows = JSON.parse(listed.out[0]!) as Array<{
      responseId: string;
      reason: string;
      excluded: boolean;
    }>;
    expect(rows.map((r) => [r.responseId, r.reason, r.excluded])).toEqual([
      ['sc-a1', 'shared_contact', false],
      ['sc-b1', 'shared_contact', false],
      ['sc-c1', 'shared_contact', true],
    ]);
    const table = await run('flags', 'list', '--unit', 'U7', '--from', '2025-07-01', '--to', '2025-07-02');
    expect(table.out[0]).toBe(
      [
        '2025-07-01',
        'U7',
        'sc-a1',
        'shared_contact',
        'một tài khoản trả lời cho nhiều người nộp hồ sơ',
        'applicants=3, windowHours=24',
        'đang tính / counted',
      ].join('\t'),
    );

    const queue = new Queue('aggregate', { connection: redis, prefix });
    try {
      const refused = await run('flags', 'exclude', 'sc-a1', '--reason', 'sai', '--by', 'admin.le');
      expect(refused.code).toBe(2);
      expect(refused.out.join('\n')).toMatch(/a written reason is required/);
      expect((await Response.findOne({ responseId: 'sc-a1' }).lean())!.excluded?.at ?? null).toBeNull();

      const done = await run(
        'flags',
        'exclude',
        'sc-a1',
        '--reason',
        'Một người trả lời hộ nhiều hồ sơ',
        '--by',
        'admin.le',
      );
      expect(done.code).toBe(0);
      expect(done.out.join('\n')).toMatch(/Đã loại phiếu sc-a1/);
      expect((await Response.findOne({ responseId: 'sc-a1' }).lean())!.excluded).toMatchObject({
        by: 'admin.le',
        reason: 'Một người trả lời hộ nhiều hồ sơ',
      });
      expect(
        await AuditLog.countDocuments({ targetId: 'sc-a1', action: 'response.excluded', actor: 'admin.le' }),
      ).toBe(1);
      // Its day is recomputed, under this deployment's prefix.
      expect(
        (await queue.getJobs(['waiting', 'delayed', 'active', 'completed'])).map((j) => [
          j.name,
          j.data as unknown,
        ]),
      ).toContainEqual(['rollup.recompute', { unitCode: 'U7', day: '2025-07-01' }]);

      const again = await run(
        'flags',
        'exclude',
        'sc-a1',
        '--reason',
        'Một người trả lời hộ nhiều hồ sơ',
        '--by',
        'admin.le',
      );
      expect(again.code).toBe(1);
      expect(await AuditLog.countDocuments({ targetId: 'sc-a1' })).toBe(1);
    } finally {
      await queue.close();
    }
  });
});

describe('counter network rule (web chat only)', () => {
  const env = parseEnv({ NODE_ENV: 'test', COUNTER_NETWORKS: '203.0.113.0/28,U8=198.51.100.8/29' });
  const seen: InboundEvent[] = [];
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = createHttpServer({ bodyLimit: env.HTTP_BODY_LIMIT });
    // The device's survey is the one it opened (GET /s/<token>); answers are bound to it.
    const opened = new Map<string, string>();
    const service = {
      handle: async (ev: InboundEvent) => {
        seen.push(ev);
        if (ev.input.kind === 'start' && ev.input.token) {
          const d = await Dossier.findOne({ 'survey.token': ev.input.token }, { code: 1 }).lean();
          if (d) opened.set(ev.userId, d.code);
        }
        return { messages: [], lang: 'vi' as const };
      },
      activeDossier: async (_channel: 'web', userId: string) => opened.get(userId) ?? null,
    };
    await app.register(webChatRoutes({ service, env, log: logger, marks: { redis, prefix } }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  async function dossier(code: string, unitCode: string): Promise<string> {
    await Dossier.create({
      code,
      procedureCode: 'P',
      unitCode,
      channel: 'in_person',
      status: 'finished',
      finishedAt: new Date(),
    });
    return (await issueSurveyToken(code, new Date(), 24)).token;
  }
  const answer = async (token: string, ip: string) => {
    const page = await fetch(`${base}/s/${token}`);
    const cookie = /hl_web=[A-Za-z0-9_-]{22}/.exec(String(page.headers.get('set-cookie')))![0];
    return fetch(`${base}/s/${token}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      body: 'text=xin%20chao',
    });
  };
  const completion = (
    code: string,
    unitCode: string,
    surveyChannel: 'web' | 'telegram',
  ): ResponseCompletePayload => ({
    responseId: `r-${code}`,
    meta: {
      dossierCode: code,
      unitCode,
      procedureCode: 'P',
      officerId: null,
      dossierChannel: 'in_person',
      onlineLevel: null,
      surveyChannel,
      flowKey: 'default',
      flowVersion: 1,
      lang: 'vi',
      startedAt: '2025-08-01T01:00:00.000Z',
    },
    answers: [],
    completedAt: '2025-08-01T02:00:00.000Z',
  });

  test('an answer from the counter network flags the response; one just outside does not', async () => {
    const inside = await dossier('CN-1', 'U9');
    const outside = await dossier('CN-2', 'U9');
    expect((await answer(inside, '203.0.113.15')).status).toBe(200);
    expect((await answer(outside, '203.0.113.16')).status).toBe(200);
    expect(await checkCounterNetwork(completion('CN-1', 'U9', 'web'), { redis, prefix })).toBe(true);
    expect(await checkCounterNetwork(completion('CN-2', 'U9', 'web'), { redis, prefix })).toBe(false);
    const flags = await Flag.find({ reason: 'counter_network' }).lean();
    expect(flags.map((f) => [f.responseId, f.unitCode, f.day])).toEqual([['r-CN-1', 'U9', '2025-08-01']]);
    // Only the boolean is kept: no IP anywhere in Redis or in the flag.
    const keys = await redis.keys(`${prefix}:integ:counter:*`);
    expect(keys).toEqual([`${prefix}:integ:counter:CN-1`]);
    expect(await redis.get(keys[0]!)).toBe('1');
    expect(JSON.stringify(flags)).not.toContain('203.0.113');
  });

  test("a unit's own network counts for that unit only; Telegram and Zalo are never flagged", async () => {
    const mine = await dossier('CN-3', 'U8');
    const other = await dossier('CN-4', 'U9');
    await answer(mine, '198.51.100.9');
    await answer(other, '198.51.100.9');
    expect(await checkCounterNetwork(completion('CN-3', 'U8', 'web'), { redis, prefix })).toBe(true);
    expect(await checkCounterNetwork(completion('CN-4', 'U9', 'web'), { redis, prefix })).toBe(false);
    // The same dossier answered on Telegram carries no IP: the rule does not apply.
    expect(await checkCounterNetwork(completion('CN-1', 'U9', 'telegram'), { redis, prefix })).toBe(false);
  });

  test('the web device is known only by a keyed hash of its cookie', async () => {
    const token = await dossier('CN-5', 'U9');
    const first = await fetch(`${base}/s/${token}`);
    const cookie = /hl_web=([A-Za-z0-9_-]{22})/.exec(String(first.headers.get('set-cookie')))![1]!;
    const second = await fetch(`${base}/s/${token}`, {
      method: 'POST',
      headers: { cookie: `hl_web=${cookie}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'text=a',
    });
    expect(second.status).toBe(200);
    const users = seen.slice(-2).map((e) => e.userId);
    expect(users[0]).toBe(users[1]);
    expect(users[0]).toMatch(/^w_[A-Za-z0-9_-]{32}$/);
    expect(users[0]).not.toContain(cookie);
  });
});

describe('the rules run after every completion (response.complete job)', () => {
  test('three applicants from one Telegram chat, and a web answer from the counter, are flagged by the ingest workers', async () => {
    const env = parseEnv({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
    const producer = new JobProducer(redis, prefix);
    aggregationSettings.coalesceMs = 50;
    const workers = await startWorkers({
      ctx: { env, log: logger, redis, prefix },
      producer,
      createConnection: () => testRedis(),
      queues: ['ingest', 'aggregate'],
    });
    try {
      const contact = new Types.ObjectId();
      const jobs: string[] = [];
      for (const [i, channel] of (['telegram', 'telegram', 'telegram', 'web'] as const).entries()) {
        const id = `pipeline-${i}`;
        const at = new Date(Date.UTC(2025, 8, 1, 2, i));
        await Dossier.create({
          code: `D-${id}`,
          procedureCode: 'P',
          unitCode: 'U6',
          channel: 'in_person',
          status: 'finished',
          finishedAt: at,
          applicantPhoneHash: `h${i}`,
        });
        if (channel === 'telegram')
          await Session.create({
            contactId: contact,
            channel,
            dossierCode: `D-${id}`,
            responseId: id,
            flowKey: 'default',
            flowVersion: 1,
            status: 'active',
            state: {},
            startedAt: at,
          });
        else await markCounterAnswer(redis, prefix, `D-${id}`, 3600);
        const meta = {
          dossierCode: `D-${id}`,
          unitCode: 'U6',
          procedureCode: 'P',
          officerId: null,
          dossierChannel: 'in_person' as const,
          onlineLevel: null,
          surveyChannel: channel,
          flowKey: 'default',
          flowVersion: 1,
          lang: 'vi' as const,
          startedAt: at.toISOString(),
        };
        jobs.push(
          await producer.add('response.complete', {
            responseId: id,
            meta,
            answers: [{ questionId: 'q1', element: 'TIEP_CAN', type: 'scale5', value: 5, text: null }],
            completedAt: at.toISOString(),
          }),
        );
      }
      for (const j of jobs)
        expect(await waitForJob(producer.getQueue('ingest'), j, 30_000)).toBe('completed');
      const flags = await Flag.find({ unitCode: 'U6' }, { _id: 0, responseId: 1, reason: 1 }).lean();
      expect(flags.map((f) => `${f.responseId}:${f.reason}`).sort()).toEqual([
        'pipeline-0:shared_contact',
        'pipeline-1:shared_contact',
        'pipeline-2:shared_contact',
        'pipeline-3:counter_network',
      ]);
    } finally {
      await workers.close();
      await producer.close();
    }
  });
});
