import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEnv } from '../../config/env';
import { createTelegramClient } from '../../bot/channels/telegram/api-client';
import { logger } from '../../lib/logger';
import { AuditLog } from '../../models/audit-log';
import { Case } from '../../models/case';
import { Unit } from '../../models/unit';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { aggregationSettings } from '../../workers/aggregation/after-complete';
import { notifyJobId, setCaseNotifier } from '../../workers/aggregation/cases/case-jobs';
import { escalateOverdue } from '../../workers/aggregation/cases/escalate';
import {
  acknowledgeCase,
  addCaseNote,
  CaseInputError,
  closeCase,
} from '../../workers/aggregation/cases/handling';
import { dissatisfiedItems } from '../../workers/aggregation/cases/open-case';
import { telegramCaseNotifier, type CaseNotifier } from '../../workers/aggregation/cases/notifier';
import { waitForIdle, waitForJob } from '../support/ingest';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('casesloop');
const env = parseEnv({ ...process.env, NODE_ENV: 'test', CASE_SLA_HOURS: '72' });
const producer = new JobProducer(redis, prefix);
const rollups = {
  redis,
  prefix,
  enqueue: async (name: string, payload: unknown, o?: { jobId?: string; delay?: number }) =>
    void (await producer.addByName(name, payload, o)),
};
let workers: RunningWorkers;
const alerts: Array<{ unitCode: string; text: string }> = [];
const recording: CaseNotifier = { notify: async (unitCode, text) => (alerts.push({ unitCode, text }), true) };

function payload(id: string, values: number[], reasons: Record<number, string[]> = {}) {
  const elements = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
  const answers = values.flatMap((v, i) => [
    { questionId: `q${i + 1}`, element: elements[i], type: 'scale5', value: v, text: null },
    ...(reasons[i]
      ? [
          {
            questionId: `r${i + 1}`,
            element: elements[i],
            type: 'multi_choice',
            value: reasons[i],
            text: 'gọi tôi 0912345678',
          },
        ]
      : []),
  ]);
  return {
    responseId: id,
    meta: {
      dossierCode: `DOS-${id}`,
      unitCode: '19870',
      procedureCode: '1.004227',
      officerId: 'OFF9',
      dossierChannel: 'in_person' as const,
      onlineLevel: null,
      surveyChannel: 'telegram' as const,
      flowKey: 'default',
      flowVersion: 1,
      lang: 'vi' as const,
      startedAt: '2025-05-05T01:00:00.000Z',
    },
    answers,
    completedAt: '2025-05-05T02:00:00.000Z',
  };
}

beforeAll(async () => {
  await connectTestDb('casesloop');
  aggregationSettings.coalesceMs = 50;
  setCaseNotifier(recording);
  await Unit.insertMany([
    { code: '477', name: 'Huyện Quảng Điền', level: 'district', alertTelegramChatId: '-100477' },
    {
      code: '19870',
      name: 'Xã Quảng Thái',
      level: 'commune',
      parentCode: '477',
      alertTelegramChatId: '-100198',
    },
    { code: '19873', name: 'Xã Quảng Ngạn', level: 'commune', parentCode: '477' },
  ]);
  workers = await startWorkers({
    ctx: { env, log: logger, redis, prefix },
    producer,
    createConnection: () => testRedis(),
    queues: ['ingest', 'aggregate', 'outbound'],
  });
});

afterAll(async () => {
  setCaseNotifier(null);
  await workers.close();
  await producer.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a 1 or 2 opens one case with a due time and alerts the unit once, without the free text', async () => {
  const p = payload('resp-case-0001', [4, 5, 2, 4, 0, 1], { 2: ['thai_do', 'khac'] });
  await producer.add('response.complete', p);
  await producer.add('response.complete', p); // a duplicated delivery
  await producer.add('response.complete', payload('resp-case-0002', [3, 3, 3, 4, 0, 5]));
  await waitForIdle(
    (['ingest', 'aggregate', 'outbound'] as const).map((q) => producer.getQueue(q)),
    20_000,
  );

  const cases = await Case.find({}).lean();
  expect(cases).toHaveLength(1);
  const c = cases[0];
  expect(c).toMatchObject({
    caseId: 'case-resp-case-0001',
    dossierCode: 'DOS-resp-case-0001',
    unitCode: '19870',
    procedureCode: '1.004227',
    status: 'open',
    day: '2025-05-05',
  });
  expect(c.items).toEqual([
    { element: 'CONG_CHUC', questionId: 'q3', value: 2, reasons: ['thai_do', 'khac'] },
    { element: 'TONG_THE', questionId: 'q6', value: 1, reasons: [] },
  ]);
  expect(c.dueAt.toISOString()).toBe('2025-05-08T02:00:00.000Z');
  expect(c.notifiedAt).not.toBeNull();
  expect(alerts).toHaveLength(1);
  expect(alerts[0].unitCode).toBe('19870');
  expect(alerts[0].text).toContain('DOS-resp-case-0001');
  expect(alerts[0].text).toContain('1.004227');
  expect(alerts[0].text).toContain('Công chức: 2/5 (Thái độ chưa lịch sự; Lý do khác)');
  expect(alerts[0].text).toContain('Đánh giá chung: 1/5');
  expect(alerts[0].text).toContain('08/05/2025 09:00');
  expect(alerts[0].text).not.toMatch(/0912345678|gọi tôi/);
});

test('an overdue case escalates once, to the district above the commune', async () => {
  alerts.length = 0;
  const early = await escalateOverdue({ notifier: recording, now: new Date('2025-05-08T01:59:00Z') });
  expect(early.escalated).toEqual([]);
  const late = await escalateOverdue({ notifier: recording, now: new Date('2025-05-08T02:01:00Z') });
  expect(late.escalated).toEqual(['case-resp-case-0001']);
  expect(alerts.map((a) => a.unitCode)).toEqual(['477']);
  expect(alerts[0].text).toContain('quá hạn');
  const again = await escalateOverdue({ notifier: recording, now: new Date('2025-05-09T00:00:00Z') });
  expect(again.escalated).toEqual([]);
  expect(await Case.findOne({ caseId: 'case-resp-case-0001' }).lean()).toMatchObject({ escalatedTo: '477' });
});

test('a failed escalation alert is undone so the next run tries again', async () => {
  await Case.create({
    caseId: 'case-y',
    responseId: 'y',
    dossierCode: 'DOS-y',
    unitCode: '19873',
    items: [],
    status: 'open',
    openedAt: new Date('2025-05-01'),
    dueAt: new Date('2025-05-02'),
    day: '2025-05-01',
  });
  const failing: CaseNotifier = { notify: async () => Promise.reject(new Error('telegram down')) };
  await expect(escalateOverdue({ notifier: failing, now: new Date('2025-05-10T00:00:00Z') })).rejects.toThrow(
    'telegram down',
  );
  expect((await Case.findOne({ caseId: 'case-y' }).lean())!.escalatedAt).toBeNull();
  const r = await escalateOverdue({ notifier: recording, now: new Date('2025-05-10T00:00:00Z') });
  expect(r.escalated).toEqual(['case-y']);
});

test('handling is logged with who and when; closing records on-time once', async () => {
  expect(await acknowledgeCase('case-resp-case-0001', 'canbo.nguyen', new Date('2025-05-06T01:00:00Z'))).toBe(
    'acknowledged',
  );
  // A second acknowledgement (another official, a double tap) changes nothing.
  expect(await acknowledgeCase('case-resp-case-0001', 'canbo.tran', new Date('2025-05-06T01:00:01Z'))).toBe(
    'already',
  );
  await addCaseNote(
    'case-resp-case-0001',
    'canbo.nguyen',
    'Đã gọi lại công dân',
    new Date('2025-05-06T02:00:00Z'),
  );
  await expect(addCaseNote('case-resp-case-0001', 'canbo.nguyen', '   ')).rejects.toBeInstanceOf(
    CaseInputError,
  );
  await expect(
    closeCase('case-resp-case-0001', 'canbo.nguyen', { resolution: 'no-such' }, { followUp: true, rollups }),
  ).rejects.toBeInstanceOf(CaseInputError);
  const r = await closeCase(
    'case-resp-case-0001',
    'canbo.nguyen',
    { resolution: 'nhac-nho' },
    { followUp: true, now: new Date('2025-05-07T00:00:00Z'), rollups },
  );
  expect(r).toEqual({ closed: true, onTime: true, followUpPending: true });
  const c = (await Case.findOne({ caseId: 'case-resp-case-0001' }).lean())!;
  expect(c.log.map((l) => [l.action, l.by])).toEqual([
    ['opened', 'system'],
    ['notified', 'system'],
    ['escalated', 'system'],
    ['acknowledged', 'canbo.nguyen'],
    ['note', 'canbo.nguyen'],
    ['closed', 'canbo.nguyen'],
  ]);
  expect(c.log[5]).toMatchObject({
    note: 'Đã xin lỗi, nhắc nhở cán bộ',
    detail: 'nhac-nho',
    at: new Date('2025-05-07T00:00:00Z'),
  });
  expect(c).toMatchObject({
    status: 'closed',
    closedOnTime: true,
    closedBy: 'canbo.nguyen',
    resolution: 'nhac-nho',
    followUpPending: true,
  });
  expect(
    await closeCase('case-resp-case-0001', 'x', { note: 'lần hai' }, { followUp: false, rollups }),
  ).toEqual({
    closed: false,
    onTime: null,
    followUpPending: true,
  });
  const late = await closeCase(
    'case-y',
    'canbo.le',
    { note: 'Đã trả lời công dân qua điện thoại' },
    { followUp: false, now: new Date('2025-05-11T00:00:00Z'), rollups },
  );
  expect(late).toEqual({ closed: true, onTime: false, followUpPending: false });
  expect(
    await AuditLog.countDocuments({
      targetId: 'case-resp-case-0001',
      action: 'case.closed',
      actor: 'canbo.nguyen',
    }),
  ).toBe(1);
  expect(
    await AuditLog.countDocuments({ targetId: 'case-resp-case-0001', action: 'case.acknowledged' }),
  ).toBe(1);
});

test('the Telegram notifier posts to the unit alert chat and reports units without one', async () => {
  const calls: Array<{ chat_id: string; text: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const p = JSON.parse(body) as { chat_id: string; text: string };
      calls.push({ chat_id: String(p.chat_id), text: p.text });
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          ok: true,
          result: { message_id: 1, date: 0, chat: { id: Number(p.chat_id), type: 'group' }, text: p.text },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const telegram = createTelegramClient({
      token: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxRetries: 0,
      maxRetryAfterS: 1,
      log: logger,
    });
    const n = telegramCaseNotifier(telegram);
    expect(await n.notify('19870', 'xin chào')).toBe(true);
    expect(await n.notify('19873', 'không có nhóm')).toBe(false);
    expect(calls).toEqual([{ chat_id: '-100198', text: 'xin chào' }]);
  } finally {
    server.close();
  }
});

test('only element answers of 1 or 2 are dissatisfied items', () => {
  expect(
    dissatisfiedItems([
      { questionId: 'consent', element: null, value: 1 },
      { questionId: 'q1', element: 'TIEP_CAN', value: 3 },
      { questionId: 'q5', element: 'PAKN', value: 0 },
    ]),
  ).toEqual([]);
});

test('an alert whose job failed every attempt is retried by the periodic sweep, and sent once', async () => {
  const openedAt = new Date(Date.now() - 5 * 60_000);
  await Case.create({
    caseId: 'case-resp-sweep-0001',
    responseId: 'resp-sweep-0001',
    dossierCode: 'DOS-sweep-0001',
    unitCode: '19873',
    items: [{ element: 'TONG_THE', questionId: 'q6', value: 1, reasons: [] }],
    status: 'open',
    openedAt,
    dueAt: new Date(openedAt.getTime() + 72 * 3600_000),
    day: '2026-01-01',
  });
  const ours = () => alerts.filter((a) => a.text.includes('DOS-sweep-0001'));
  // The unit's chat unreachable for longer than the attempts last: here, one attempt.
  let down = true;
  setCaseNotifier({
    notify: async (unitCode, text, o) => {
      if (down) throw new Error('platform unreachable');
      return recording.notify(unitCode, text, o);
    },
  });
  const outbound = producer.getQueue('outbound');
  const id = notifyJobId('case-resp-sweep-0001');
  await outbound.add('case.notify', { caseId: 'case-resp-sweep-0001' }, { jobId: id, attempts: 1 });
  expect(await waitForJob(outbound, id, 20_000)).toBe('failed');
  expect(ours()).toHaveLength(0);

  down = false;
  await producer.add('case.escalate', {}, { jobId: 'sweep-alert-1' });
  expect(await waitForJob(producer.getQueue('aggregate'), 'sweep-alert-1', 20_000)).toBe('completed');
  expect(await waitForJob(outbound, id, 20_000)).toBe('completed');
  expect(ours()).toHaveLength(1);
  expect((await Case.findOne({ caseId: 'case-resp-sweep-0001' }).lean())!.notifiedAt).not.toBeNull();
  // The next sweep finds it alerted: nothing is sent twice.
  await producer.add('case.escalate', {}, { jobId: 'sweep-alert-2' });
  expect(await waitForJob(producer.getQueue('aggregate'), 'sweep-alert-2', 20_000)).toBe('completed');
  expect(ours()).toHaveLength(1);
  setCaseNotifier(recording);
});
