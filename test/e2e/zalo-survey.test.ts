import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { parseEnv } from '../../config/env';
import { logger } from '../../lib/logger';
import { ConversationService } from '../../bot/conversation/service';
import { mongoConversationRecords } from '../../bot/conversation/mongo-records';
import type { AnswerSink } from '../../bot/conversation/ports';
import type { RecordedAnswer } from '../../bot/engine/types';
import { defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { createHttpServer } from '../../bot/http/server';
import { isZaloEventDone } from '../../bot/channels/zalo/inbound-queue';
import { createZaloChannel, type ZaloChannel } from '../../bot/channels/zalo/zalo-channel';
import { FakeZaloServer } from '../fakes/zalo-server';
import { jobConversationBackground } from '../../workers/conversation-background';
import { LiveStore } from '../../bot/conversation/live-store';
import { JobProducer } from '../../workers/producer';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

type Sent = Record<string, unknown> & {
  text?: string;
  attachment?: { payload: { buttons: Array<{ title: string; payload: string }> } };
};

const answers: RecordedAnswer[] = [];
let completed: RecordedAnswer[] | null = null;
const sink: AnswerSink = {
  answer: async (p) => void answers.push(p.answer),
  complete: async (p) => void (completed = p.answers),
};

let fake: FakeZaloServer;
let prefix: string;
let redis: Redis;
let app: FastifyInstance;
let url: string;
let zalo: ZaloChannel;
let clock = Date.now();
const USER = '246845883529197922';

beforeAll(async () => {
  await connectTestDb('zalosurvey');
  prefix = testPrefix('zalosurvey');
  redis = testRedis();
  fake = await new FakeZaloServer().start();
  const flows = new FlowRepository();
  await flows.ensure(defaultFlow);
  const conversation = new ConversationService({
    flows,
    sink,
    store: new LiveStore(redis, prefix),
    records: mongoConversationRecords(),
    background: jobConversationBackground(new JobProducer(redis, prefix)),
    log: logger,
    resolveToken: async (token) =>
      token === 'TOKEN1'
        ? {
            ok: true,
            dossier: {
              code: 'H57.22-260301-0001',
              unitCode: 'H57.22',
              procedureCode: '1.0001',
              channel: 'in_person',
            },
          }
        : { ok: false, reason: 'unknown' },
  });
  const env = parseEnv({
    NODE_ENV: 'test',
    ZALO_APP_ID: fake.appId,
    ZALO_APP_SECRET: fake.appSecret,
    ZALO_OA_SECRET_KEY: fake.oaSecretKey,
    ZALO_API_ROOT: fake.url,
    ZALO_OAUTH_ROOT: fake.url,
    ZALO_BUSINESS_API_ROOT: fake.url,
    SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
  });
  zalo = createZaloChannel({ env, log: logger, redis, prefix }, { conversation, sink });
  await zalo.tokens.save(fake.issuePair());
  app = createHttpServer({ bodyLimit: 65536 });
  await app.register(zalo.routes);
  url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/webhooks/zalo`;
  // Its worker connection is closed with the channel.
  await zalo.startWorker(() => testRedis());
}, 180_000);

afterAll(async () => {
  await zalo?.close();
  await app.close();
  await fake.close();
  await clearPrefix(redis, prefix);
  await redis.quit();
  await dropTestDb();
});

/** The citizen writes `text` (or taps a button: Zalo sends its payload as text); waits for the turn. */
async function say(text: string): Promise<Sent[]> {
  const before = fake.csTo(USER).length;
  const msgId = `m${(clock += 10)}`;
  const statuses = await fake.deliver(url, fake.textEvent(USER, text, msgId), { timestamp: clock });
  expect(statuses).toEqual([200]);
  for (let i = 0; i < 200 && !(await isZaloEventDone(redis, prefix, `m-${msgId}`)); i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(await isZaloEventDone(redis, prefix, `m-${msgId}`)).toBe(true);
  return fake.csTo(USER).slice(before);
}

function lastButtons(sent: Sent[]): Array<{ title: string; payload: string }> {
  const withButtons = sent.filter((m) => m.attachment);
  expect(withButtons.length).toBeGreaterThan(0);
  return withButtons[withButtons.length - 1].attachment!.payload.buttons;
}

async function tap(sent: Sent[], title: RegExp): Promise<Sent[]> {
  const button = lastButtons(sent).find((b) => title.test(b.title));
  if (!button)
    throw new Error(
      `no button ${title} among ${lastButtons(sent)
        .map((b) => b.title)
        .join(' | ')}`,
    );
  return say(button.payload);
}

test('a whole survey completes on Zalo with buttons and typed numbers', async () => {
  let sent = await say('/start TOKEN1');
  expect(sent[0].text).toContain('H57.22-260301-0001');
  expect(lastButtons(sent).map((b) => b.title)).toEqual(['Đồng ý', 'Không đồng ý']);

  sent = await tap(sent, /^Đồng ý$/);
  // q1: five levels fit in five buttons.
  expect(lastButtons(sent)).toHaveLength(5);
  sent = await tap(sent, /^2\. /);
  // r1: why? four reasons and "Xong" = five buttons; toggles re-send the question with ticks.
  expect(sent.map((m) => m.text)).toContain('Đã chọn: 2. Không hài lòng');
  sent = await tap(sent, /chờ lâu/);
  expect(
    lastButtons(sent)
      .find((b) => /chờ lâu/.test(b.title))!
      .title.startsWith('☑'),
  ).toBe(true);
  sent = await tap(sent, /thiết bị/);
  sent = await tap(sent, /^Xong/);
  // q2, q3 answered by typing the number while buttons are shown.
  // Done: the choices are said back.
  expect(sent.map((m) => m.text)).toContain(
    'Đã chọn: Phải chờ lâu, thiếu chỗ ngồi; Trang thiết bị hoặc cổng trực tuyến bị lỗi',
  );
  expect(sent[sent.length - 1].text).toMatch(/^Câu 2\/7\n.*giấy tờ, phí, lệ phí/);
  sent = await say('4');
  sent = await say('5');
  sent = await tap(sent, /^4\. /);
  // q5 has six options (with "Chưa góp ý"): a numbered list answered by typing.
  const q5 = sent[sent.length - 1];
  expect(q5.attachment).toBeUndefined();
  expect(q5.text).toContain('0. Chưa góp ý, phản ánh');
  expect(q5.text).toContain('Gõ số thứ tự');
  sent = await say('1');
  // r5 answered by typing two positions at once.
  sent = await say('1, 3');
  expect(sent[sent.length - 1].text).toContain('Nhìn chung');
  sent = await say('5');
  // The optional suggestion has a "Bỏ qua" button; typing "bỏ qua" works as well.
  expect(lastButtons(sent).map((b) => b.title)).toEqual(['Bỏ qua']);
  sent = await say('bỏ qua');
  expect(sent[sent.length - 1].text).toContain('lãnh đạo');

  expect(completed).not.toBeNull();
  const byId = Object.fromEntries(completed!.map((a) => [a.questionId, a.value]));
  expect(byId).toEqual({
    q1: 2,
    r1: ['cho', 'thiet_bi'],
    q2: 4,
    q3: 5,
    q4: 4,
    q5: 1,
    r5: ['khong_kenh', 'cham'],
    q6: 5,
  });
  // The survey is over: no active session left in the live store.
  expect(await new LiveStore(redis, prefix).getActive('zalo', USER)).toBeNull();
  // A citizen who writes after the survey still gets an answer.
  sent = await say('cảm ơn');
  expect(sent.length).toBeGreaterThan(0);
});
