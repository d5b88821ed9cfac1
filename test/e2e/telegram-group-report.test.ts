import { hcm } from '../../lib/time';
import { Unit } from '../../models/unit';
import { REFUSAL } from '../../bot/channels/telegram/group-commands';
import { t as message } from '../../bot/engine/messages';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { recomputeBucket } from '../../workers/aggregation/rollups/recompute';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, type TestApp } from '../support/app';

const SECRET = 'group_secret-TOKEN_123';
const UNIT_GROUP = -100198;
const OTHER_GROUP = -100999;
let fake: FakeTelegram;
let t: TestApp;
let nextMessageId = 1;

/** A text message from an official in a group chat, delivered by webhook. */
function groupSays(chatId: number, text: string): Promise<number> {
  return fake.deliverUpdate(
    {
      message: {
        message_id: nextMessageId++,
        from: { id: 555, is_bot: false, first_name: 'Cán bộ' },
        chat: { id: chatId, type: 'supergroup', title: 'Một cửa' },
        date: Math.floor(Date.now() / 1000),
        text,
        ...(text.startsWith('/') ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] } : {}),
      },
    },
    chatId,
  );
}

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('tggroup', {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    TELEGRAM_BOT_USERNAME: 'hailong_test_bot',
  });
  await Unit.updateOne({ code: '19870' }, { $set: { alertTelegramChatId: String(UNIT_GROUP) } });
  // One response today for the unit, counted into its rollup.
  const now = new Date();
  await storeCompletion(
    'grp-resp-1',
    { dossierCode: 'HS-GRP-1', unitCode: '19870', procedureCode: 'P1', officerId: null, dossierChannel: 'in_person', onlineLevel: null, surveyChannel: 'telegram', flowKey: 'default', flowVersion: 1, lang: 'vi', startedAt: now.toISOString() },
    [{ questionId: 'q1', element: 'TIEP_CAN', type: 'scale5', value: 5, text: null }],
    now,
  );
  await recomputeBucket({ redis: t.redis, prefix: t.env.REDIS_PREFIX }, '19870', hcm(now).toFormat('yyyy-LL-dd'));
});

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

test("/baocao in the unit's group answers with the unit's report for today so far", async () => {
  await groupSays(UNIT_GROUP, 'chào mọi người'); // ordinary group talk: ignored
  await groupSays(UNIT_GROUP, '/baocao@other_bot'); // another bot's command: ignored
  await groupSays(UNIT_GROUP, '/baocao@hailong_test_bot');
  await fake.waitFor(() => fake.sentTo(UNIT_GROUP).length >= 1, 20_000, 'the report');
  const sent = fake.sentTo(UNIT_GROUP);
  // The group's updates are applied in order: the ignored ones came first and sent nothing.
  expect(sent).toHaveLength(1);
  expect(sent[0]!.text).toContain(`Báo cáo hôm nay ${hcm(new Date()).toFormat('dd/LL/yyyy')}`);
  expect(sent[0]!.text).toContain('Đơn vị: Xã Quảng Thái (19870)');
  expect(sent[0]!.text).toContain('Phiếu hoàn thành: 1');
});

test('/baocao homqua gives yesterday', async () => {
  await groupSays(UNIT_GROUP, '/baocao homqua');
  await fake.waitFor(() => fake.sentTo(UNIT_GROUP).length >= 2, 20_000, "yesterday's report");
  const text = fake.sentTo(UNIT_GROUP)[1]!.text;
  expect(text).toContain(`Báo cáo ngày ${hcm(new Date()).minus({ days: 1 }).toFormat('dd/LL/yyyy')}`);
  expect(text).toContain('Phiếu hoàn thành: 0');
});

test('/baocao in any other group gets a short polite refusal and nothing else', async () => {
  await groupSays(OTHER_GROUP, '/baocao');
  await groupSays(OTHER_GROUP, 'ai đó ở đây không?');
  await groupSays(OTHER_GROUP, '/baocao');
  await fake.waitFor(() => fake.sentTo(OTHER_GROUP).length >= 2, 20_000, 'two refusals');
  expect(fake.sentTo(OTHER_GROUP).map((m) => m.text)).toEqual([REFUSAL, REFUSAL]);
  expect(REFUSAL.startsWith('Xin lỗi')).toBe(true);
});

test('/baocao in a private chat is still the survey bot (help), and every update was acknowledged', async () => {
  await fake.user(1001).command('/baocao');
  await fake.waitFor(() => fake.sentTo(1001).length >= 1, 20_000, 'the help text');
  expect(fake.sentTo(1001)[0]!.text).toBe(message('help', 'vi'));
  expect(fake.webhookDeliveries.length).toBeGreaterThanOrEqual(8);
  expect(fake.webhookDeliveries.every((d) => d.status === 200)).toBe(true);
});
