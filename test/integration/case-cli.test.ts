import { Command } from 'commander';
import { registerCaseCommands } from '../../cli/commands/case';
import { registerUnitCommands } from '../../cli/commands/unit';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { Case } from '../../models/case';
import { Contact } from '../../models/contact';
import { Session } from '../../models/session';
import { Unit } from '../../models/unit';
import { JobProducer } from '../../workers/producer';
import { startWorkers, type RunningWorkers } from '../../workers/runner';
import { FakeTelegram } from '../fakes/telegram-server';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

/**
 * `hailong case …` and `hailong unit …` as an official runs them (the commands in this process,
 * their settings from the environment like `npx hailong`), with the workers that send the
 * citizen's follow-up running beside them.
 */
const prefix = testPrefix('casecli');
process.env.REDIS_PREFIX = prefix;
const redis = testRedis();
const producer = new JobProducer(redis, prefix);
const CITIZEN = '7100001';
let telegram: FakeTelegram;
let workers: RunningWorkers;

async function hailong(...args: string[]): Promise<{ out: string; code: number }> {
  const lines: string[] = [];
  const capture = (...a: unknown[]) => void lines.push(a.join(' '));
  const log = jest.spyOn(console, 'log').mockImplementation(capture);
  const err = jest.spyOn(console, 'error').mockImplementation(capture);
  process.exitCode = 0;
  try {
    const program = new Command().exitOverride().configureOutput({ writeErr: capture });
    registerCaseCommands(program);
    registerUnitCommands(program);
    await program.parseAsync(args, { from: 'user' });
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out: lines.join('\n'), code };
}

beforeAll(async () => {
  await connectTestDb('casecli');
  telegram = await FakeTelegram.start();
  const env = parseEnv({
    ...process.env,
    NODE_ENV: 'test',
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    TELEGRAM_MAX_RETRIES: '0',
  });
  workers = await startWorkers({
    ctx: { env, log: logger, redis, prefix },
    producer,
    createConnection: testRedis,
    queues: ['outbound'],
  });
  await Unit.create({
    code: 'C-CLI',
    name: 'Xã Lệnh',
    level: 'commune',
    alertTelegramChatId: '-100321',
    alertTelegramConnectedAt: new Date(),
  });
  const contact = await Contact.create({
    channel: 'telegram',
    channelUserId: CITIZEN,
    consentAt: new Date(),
  });
  await Session.create({
    contactId: contact._id,
    channel: 'telegram',
    responseId: 'r-cli-1',
    flowKey: 'default',
    flowVersion: 1,
    status: 'completed',
    state: {},
    startedAt: new Date(),
  });
  const opened = new Date('2026-01-05T02:00:00Z');
  await Case.create({
    caseId: 'case-r-cli-1',
    responseId: 'r-cli-1',
    dossierCode: 'HS-CLI-1',
    unitCode: 'C-CLI',
    procedureCode: '1.001234',
    items: [{ element: 'CONG_CHUC', questionId: 'q3', value: 1, reasons: ['thai_do'] }],
    status: 'open',
    openedAt: opened,
    // Due far ahead: closing now is on time.
    dueAt: new Date(Date.now() + 24 * 3600_000),
    day: '2026-01-05',
  });
});

afterAll(async () => {
  await workers.close();
  await producer.close();
  await telegram.close();
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
  process.exitCode = 0;
});

test('list, show, ack, note, close with a resolution (the citizen is told), follow-up', async () => {
  const list = await hailong('case', 'list', '--unit', 'C-CLI', '--period', '2026-01');
  expect(list.out).toContain('case-r-cli-1  open');
  expect(list.out).toContain('HS-CLI-1');
  expect(list.out).toContain('1 phiếu / cases');
  expect(
    (await hailong('case', 'list', '--unit', 'C-CLI', '--period', '2026-01', '--status', 'closed')).out,
  ).toContain('0 phiếu');

  expect((await hailong('case', 'ack', 'case-r-cli-1', '--by', 'canbo.b')).out).toBe(
    'Đã tiếp nhận. / Acknowledged.',
  );
  expect(
    (await hailong('case', 'note', 'case-r-cli-1', '--text', 'Đã liên hệ công dân', '--by', 'canbo.b')).out,
  ).toBe('Đã ghi chú. / Note added.');
  const closed = await hailong(
    'case',
    'close',
    'case-r-cli-1',
    '--reason',
    'khac-phuc',
    '--by',
    'canbo.b',
    '--wait',
    '20',
  );
  expect(closed.code).toBe(0);
  expect(closed.out).toContain('Đã đóng phiếu (đúng hạn / on time).');
  expect(closed.out).toContain('✉️ Phiếu case-r-cli-1: đã nhắn công dân qua Telegram.');
  expect(telegram.sentTo(CITIZEN).map((m) => m.text)).toEqual([
    'Xã Lệnh phản hồi ý kiến của Ông/Bà về hồ sơ HS-CLI-1: Chúng tôi đã khắc phục vấn đề Ông/Bà phản ánh. Cảm ơn Ông/Bà đã góp ý để chúng tôi phục vụ tốt hơn.',
  ]);

  const followUp = await hailong(
    'case',
    'follow-up',
    'case-r-cli-1',
    '--text',
    'Mời Ông/Bà nhận lại bản chính.',
    '--by',
    'canbo.b',
    '--wait',
    '20',
  );
  expect(followUp.out).toContain('đã nhắn công dân qua Telegram');
  expect(telegram.sentTo(CITIZEN)).toHaveLength(2);

  const show = await hailong('case', 'show', 'case-r-cli-1');
  expect(show.out).toContain('Phiếu / case case-r-cli-1 — đã đóng (closed)');
  expect(show.out).toContain('• Công chức: 1/5 (thai_do)');
  expect(show.out).toMatch(/canbo\.b {2}acknowledged/);
  expect(show.out).toMatch(/canbo\.b {2}note: Đã liên hệ công dân/);
  expect(show.out).toMatch(/canbo\.b {2}closed \[khac-phuc\]: Đã khắc phục/);
  expect(show.out).toMatch(/canbo\.b {2}follow_up_sent \[telegram\]/);
  // Ids and codes only: the citizen's chat id is nowhere.
  expect(show.out).not.toContain(CITIZEN);
  expect(await Case.findOne({ caseId: 'case-r-cli-1' }).lean()).toMatchObject({
    status: 'closed',
    closedOnTime: true,
    closedBy: 'canbo.b',
  });
  // Closing again changes nothing and sends nothing.
  expect((await hailong('case', 'close', 'case-r-cli-1', '--reason', 'xem-xet', '--wait', '0')).out).toBe(
    'Phiếu đã đóng trước đó. / Already closed.',
  );
  expect(telegram.sentTo(CITIZEN)).toHaveLength(2);
});

test('bad input gets a clear error, exit code 2, and changes nothing', async () => {
  const before = (await Case.findOne({ caseId: 'case-r-cli-1' }).lean())!.log.length;
  expect(await hailong('case', 'show', 'case-nope')).toEqual({ out: 'no case case-nope', code: 2 });
  expect(await hailong('case', 'note', 'case-r-cli-1', '--text', '   ')).toEqual({
    out: 'the note is empty',
    code: 2,
  });
  expect(await hailong('case', 'follow-up', 'case-r-cli-1', '--text', 'x'.repeat(1001))).toEqual({
    out: 'the note is longer than 1000 characters',
    code: 2,
  });
  expect(await hailong('case', 'list', '--unit', 'C-CLI', '--period', '2026-13')).toMatchObject({ code: 2 });
  expect((await Case.findOne({ caseId: 'case-r-cli-1' }).lean())!.log).toHaveLength(before);
  await expect(hailong('case', 'list', '--unit', 'C-CLI', '--status', 'done')).rejects.toThrow();
});

test('unit list shows the Telegram group; disconnect removes it; an unknown unit is refused', async () => {
  expect((await hailong('unit', 'list')).out).toMatch(/^C-CLI +commune +Xã Lệnh .*telegram: đã kết nối/m);
  expect((await hailong('unit', 'disconnect-telegram', '--unit', 'C-CLI', '--by', 'admin')).out).toContain(
    'Đã ngắt kết nối',
  );
  expect((await Unit.findOne({ code: 'C-CLI' }).lean())!.alertTelegramChatId).toBeNull();
  expect((await hailong('unit', 'list')).out).toMatch(/^C-CLI .*telegram: chưa kết nối/m);
  expect((await hailong('unit', 'disconnect-telegram', '--unit', 'C-CLI')).out).toContain(
    'chưa kết nối nhóm nào',
  );
  expect(await hailong('unit', 'connect-telegram', '--unit', 'NOPE')).toEqual({
    out: 'không có đơn vị / no unit NOPE',
    code: 2,
  });
});
