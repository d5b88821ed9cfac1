import { logger } from '../../lib/logger';
import { AuditLog } from '../../models/audit-log';
import { Case } from '../../models/case';
import { Unit } from '../../models/unit';
import { issueConnectCode } from '../../workers/aggregation/cases/alert-group';
import {
  alertKeyboard,
  decodeCaseButton,
  encodeCaseButton,
  resolutionKeyboard,
} from '../../workers/aggregation/cases/case-buttons';
import {
  createCaseGroupActions,
  followUpJobId,
  NOT_ALLOWED,
} from '../../workers/aggregation/cases/group-actions';
import { RESOLUTIONS } from '../../lib/case-resolutions';
import { JobProducer } from '../../workers/producer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * What a unit group may do with a case (no Telegram here: the group handler's port). Only the
 * group of the case's unit, or of the unit it was escalated to, may act; forged buttons change
 * nothing; a close retried after a crash still queues the citizen's follow-up.
 */
const redis = testRedis();
const prefix = testPrefix('casegroup');
const producer = new JobProducer(redis, prefix);
const actions = createCaseGroupActions({ redis, prefix, producer, log: logger });
const DISTRICT = '-1001';
const COMMUNE = '-1002';
const STRANGER = '-1003';
let n = 0;

async function newCase(extra: Record<string, unknown> = {}) {
  const id = `g${++n}`;
  const now = new Date();
  const c = await Case.create({
    caseId: `case-${id}`,
    responseId: id,
    unitCode: 'C-G',
    items: [],
    status: 'open',
    openedAt: now,
    dueAt: new Date(now.getTime() + 3600_000),
    day: '2026-01-01',
    ...extra,
  });
  return { caseId: c.caseId, id: String(c._id) };
}

beforeAll(async () => {
  await connectTestDb('casegroup');
  await Unit.insertMany([
    { code: 'D-G', name: 'Huyện G', level: 'district', alertTelegramChatId: DISTRICT },
    { code: 'C-G', name: 'Xã G', level: 'commune', parentCode: 'D-G', alertTelegramChatId: COMMUNE },
    { code: 'X-G', name: 'Xã Khác', level: 'commune', alertTelegramChatId: STRANGER },
    { code: 'N-G', name: 'Xã Mới', level: 'commune' },
  ]);
});

afterAll(async () => {
  await producer.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('case buttons fit callback_data and decode only what we encode', () => {
  const id = 'a'.repeat(24);
  for (const b of [...alertKeyboard(id), ...resolutionKeyboard(id)].flat()) {
    expect(Buffer.byteLength(b.callback_data)).toBeLessThanOrEqual(64);
    expect(encodeCaseButton(decodeCaseButton(b.callback_data)!)).toBe(b.callback_data);
  }
  expect(
    resolutionKeyboard(id)
      .flat()
      .map((b) => b.text),
  ).toEqual([...RESOLUTIONS.map((r) => r.label.vi), '✍️ Lý do khác (trả lời tin nhắn)', '↩️ Quay lại']);
  for (const forged of [
    'cs:a:123',
    'cs:x:' + id,
    'cs:r::' + id,
    'cs:a:' + id + 'ff',
    'stop',
    'cs:r:giai thich:' + id,
  ])
    expect(decodeCaseButton(forged)).toBeNull();
});

test("only the case unit's group, or the group it was escalated to, may act on it", async () => {
  const c = await newCase();
  expect(
    await actions.button({
      chatId: STRANGER,
      fromId: 9,
      data: encodeCaseButton({ action: 'ack', id: c.id }),
    }),
  ).toEqual({ answer: NOT_ALLOWED });
  expect(
    await actions.button({
      chatId: DISTRICT,
      fromId: 9,
      data: encodeCaseButton({ action: 'ack', id: c.id }),
    }),
  ).toEqual({ answer: NOT_ALLOWED });
  expect(
    await actions.reply({
      chatId: STRANGER,
      fromId: 9,
      text: 'ghi chú',
      repliedText: `⚠️ …\nMã phiếu: ${c.caseId}`,
    }),
  ).toEqual({ post: [{ text: NOT_ALLOWED }] });
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.log).toEqual([]);

  await Case.updateOne({ caseId: c.caseId }, { $set: { escalatedTo: 'D-G', escalatedAt: new Date() } });
  const r = await actions.button({
    chatId: DISTRICT,
    fromId: 42,
    data: encodeCaseButton({ action: 'ack', id: c.id }),
  });
  expect(r.answer).toBe('Đã ghi nhận tiếp nhận. / Acknowledged.');
  expect(r.keyboard).toEqual(alertKeyboard(c.id, true));
  const after = (await Case.findOne({ caseId: c.caseId }).lean())!;
  expect(after.status).toBe('in_progress');
  expect(after.log.map((l) => [l.action, l.by])).toEqual([['acknowledged', 'tg:42']]);
  expect(
    await AuditLog.countDocuments({ targetId: c.caseId, action: 'case.acknowledged', actor: 'tg:42' }),
  ).toBe(1);
  // The commune's own group still may.
  expect(
    (
      await actions.button({
        chatId: COMMUNE,
        fromId: 43,
        data: encodeCaseButton({ action: 'ack', id: c.id }),
      })
    ).answer,
  ).toContain('trước đó');
});

test('a forged or stale button changes nothing and says so', async () => {
  const c = await newCase();
  expect(await actions.button({ chatId: COMMUNE, fromId: 1, data: 'cs:a:nothex' })).toEqual({
    answer: 'Nút này không còn hiệu lực. / This button is no longer valid.',
  });
  expect(
    (
      await actions.button({
        chatId: COMMUNE,
        fromId: 1,
        data: encodeCaseButton({ action: 'resolve', id: c.id, resolution: 'bogus' }),
      })
    ).answer,
  ).toContain('không còn hiệu lực');
  expect(
    (
      await actions.button({
        chatId: COMMUNE,
        fromId: 1,
        data: encodeCaseButton({ action: 'ack', id: 'b'.repeat(24) }),
      })
    ).answer,
  ).toContain('Không tìm thấy phiếu');
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.status).toBe('open');
});

test('a close retried after the follow-up job was lost queues it again, and closes nothing twice', async () => {
  const c = await newCase();
  const data = encodeCaseButton({ action: 'resolve', id: c.id, resolution: 'xem-xet' });
  const first = await actions.button({ chatId: COMMUNE, fromId: 7, data });
  expect(first).toMatchObject({ answer: 'Đã đóng phiếu. / Case closed.', keyboard: null });
  const queue = producer.getQueue('outbound');
  const job = await queue.getJob(followUpJobId(c.caseId));
  expect(job?.data).toEqual({ caseId: c.caseId, by: 'tg:7', kind: 'close', reportTo: COMMUNE });
  await job!.remove();
  const again = await actions.button({ chatId: COMMUNE, fromId: 7, data });
  expect(again).toEqual({ answer: 'Phiếu đã đóng. / The case is already closed.', keyboard: null });
  expect(await queue.getJob(followUpJobId(c.caseId))).toBeDefined();
  const closed = (await Case.findOne({ caseId: c.caseId }).lean())!;
  expect(closed.log.filter((l) => l.action === 'closed')).toHaveLength(1);
  expect(closed).toMatchObject({ closedBy: 'tg:7', resolution: 'xem-xet', followUpPending: true });
});

test('a reply that names no case is not ours; a too long note is refused', async () => {
  expect(
    await actions.reply({ chatId: COMMUNE, fromId: 1, text: 'ok', repliedText: 'Báo cáo hôm nay' }),
  ).toBeNull();
  const c = await newCase();
  const r = await actions.reply({
    chatId: COMMUNE,
    fromId: 1,
    text: 'x'.repeat(1001),
    repliedText: `Mã phiếu: ${c.caseId}`,
  });
  expect(r!.post![0]!.text).toContain('Chưa ghi được');
  expect((await Case.findOne({ caseId: c.caseId }).lean())!.log).toEqual([]);
});

test('/ketnoi: a group serves one unit; the same unit again is said; a malformed code is invalid', async () => {
  const { code } = await issueConnectCode(redis, prefix, 'N-G');
  // The commune's group is taken: the code stays usable elsewhere.
  expect(await actions.connect({ chatId: COMMUNE, fromId: 1, code })).toContain(
    'mỗi nhóm chỉ phục vụ một đơn vị',
  );
  expect((await Unit.findOne({ code: 'N-G' }).lean())!.alertTelegramChatId).toBeNull();
  expect(
    await actions.connect({ chatId: '-1009', fromId: 1, code: `${code.slice(0, 4)}-${code.slice(4)}` }),
  ).toContain('Đã kết nối nhóm này với Xã Mới (N-G)');
  expect(
    await AuditLog.countDocuments({ action: 'unit.telegram_connected', targetId: 'N-G', actor: 'tg:1' }),
  ).toBe(1);
  const again = await issueConnectCode(redis, prefix, 'N-G');
  expect(await actions.connect({ chatId: '-1009', fromId: 1, code: again.code })).toContain(
    'đã được kết nối',
  );
  expect(await actions.connect({ chatId: '-1009', fromId: 1, code: 'xyz' })).toContain(
    'không đúng hoặc đã hết hạn',
  );
  await expect(issueConnectCode(redis, prefix, 'NO-SUCH')).rejects.toThrow('no unit NO-SUCH');
  expect(
    await redis.ttl(`${prefix}:unit:tgcode:${(await issueConnectCode(redis, prefix, 'N-G')).code}`),
  ).toBeGreaterThan(800);
});
