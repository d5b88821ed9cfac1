import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { jobAnswerSink } from '../../workers/answer-sink';
import { parseEnv } from '../../config/env';
import { Outreach, reminderJobId } from '../../workers/jobs/invitation-queue';
import { logger } from '../../lib/logger';
import { Answer } from '../../models/answer';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Response } from '../../models/response';
import { ZaloToken } from '../../models/zalo-token';
import type { Outbound } from '../../bot/engine/types';
import { createHttpServer } from '../../bot/http/server';
import { createZaloFeedbackRecorder, ZALO_RATING_QUESTION } from '../../bot/channels/zalo/feedback';
import { eventId } from '../../bot/channels/zalo/inbound';
import { isZaloEventDone, ZaloInboundQueue } from '../../bot/channels/zalo/inbound-queue';
import { startZaloInboundWorker } from '../../bot/channels/zalo/inbound-worker';
import type { RunningWorkers } from '../../workers/runner';
import { ZaloProactiveSender, templateLinkKey } from '../../bot/channels/zalo/proactive';
import type { ZaloRateLimiter } from '../../bot/channels/zalo/rate-limiter';
import { FakeZaloServer, type FakeSent } from '../fakes/zalo-server';
import { ingestHarness, waitForIdle } from '../support/ingest';
import { testRedis } from '../support/services';
import { until } from '../support/until';
import { connectedZaloClient, testZaloProactiveSender, testZaloWebhookRoute } from '../support/zalo';

/**
 * The rating-template loop end to end: outside the 7-day window the proactive sender sends the
 * service-rating template (by user id, or by phone with the dossier code as tracking id); the
 * citizen's rating comes back as a signed `user_feedback` webhook through the real route and the
 * real inbound worker, whose feedback recorder hands it to the production answer sink; the
 * ingest workers store it as the dossier's response. Fake Zalo, real Redis and MongoDB server.
 */
const { prefix, redis, producer } = ingestHarness('zalofeedback', { workers: true });
const NOON = Date.parse('2026-03-10T12:00:00+07:00');
const UNIT = '19867';
const PROCEDURE = '1.001234';
const invitation = (code: string) => ({
  messages: [{ kind: 'text', text: `Mời Ông/Bà đánh giá hồ sơ ${code}` }] as Outbound[],
  vars: { ma: code, donvi: 'Thị trấn Sịa', thutuc: 'Đăng ký khai sinh' },
  dossierCode: code,
});

// Inside a describe: its afterAll runs before the harness's (which closes Redis and drops the database).
describe('the Zalo rating template loop', () => {
  let fake: FakeZaloServer;
  let workerConn: Redis;
  let app: FastifyInstance;
  let url: string;
  let queue: ZaloInboundQueue;
  let worker: RunningWorkers;
  let limiter: ZaloRateLimiter;
  let proactive: ZaloProactiveSender;
  let outreach: Outreach;

  beforeAll(async () => {
    workerConn = testRedis();
    fake = await new FakeZaloServer({ retryDelaysMs: [50, 100, 200] }).start();
    const connected = await connectedZaloClient(fake, redis, prefix, { secretsKey: '66'.repeat(32) });
    limiter = connected.limiter;
    const client = connected.client;
    proactive = testZaloProactiveSender(client, redis, prefix, { templateMode: 'development', now: NOON });
    queue = new ZaloInboundQueue(redis, prefix);
    app = createHttpServer({ bodyLimit: 65536 });
    await app.register(testZaloWebhookRoute(fake, redis, prefix, queue));
    url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/webhooks/zalo`;
    // The production hooks of a completed survey (no outreach worker runs: its jobs only wait).
    outreach = new Outreach({
      ctx: { env: parseEnv({ NODE_ENV: 'test' }), log: logger, redis, prefix },
      senders: {},
    });
    const feedback = createZaloFeedbackRecorder({
      sink: jobAnswerSink(producer),
      redis,
      prefix,
      log: logger,
      hooks: outreach.hooks(),
    });
    // A rating is no conversation turn: the conversation must never be asked.
    const conversation = { handle: () => Promise.reject(new Error('a rating reached the conversation')) };
    worker = await startZaloInboundWorker({
      ctx: { env: parseEnv({ NODE_ENV: 'test' }), log: logger, redis, prefix },
      producer: queue.producer,
      // Closed with the worker.
      createConnection: () => workerConn,
      deps: { conversation, client, redis, prefix, log: logger, phoneHashKey: 'k', feedback },
    });
  });

  afterAll(async () => {
    await worker.close();
    await outreach.close();
    await limiter.close();
    await queue.close();
    await app.close();
    await fake.close();
    await ZaloToken.deleteMany({});
  });

  async function dossier(code: string): Promise<void> {
    await Dossier.create({
      code,
      procedureCode: PROCEDURE,
      procedureName: 'Đăng ký khai sinh',
      unitCode: UNIT,
      channel: 'in_person',
      status: 'finished',
      finishedAt: new Date(NOON - 86400_000),
    });
  }

  function lastSent(endpoint: FakeSent['endpoint']): FakeSent {
    const s = fake.sent.filter((x) => x.endpoint === endpoint).at(-1);
    if (!s) throw new Error(`nothing sent to ${endpoint}`);
    return s;
  }

  /** Delivers a signed event; waits until the inbound worker is done with it and the ingest queue is idle. */
  async function deliver(event: Record<string, unknown>): Promise<void> {
    const timestamp = Date.now();
    expect(await fake.deliver(url, event, { timestamp })).toEqual([200]);
    const id = eventId({ ...event, timestamp: String(timestamp) })!;
    await until(() => isZaloEventDone(redis, prefix, id), `event ${id}`);
    await waitForIdle(producer.getQueue('ingest'), 20_000);
  }

  async function responseOf(code: string) {
    const response = await Response.findOne({ dossierCode: code }).lean();
    const answers = response ? await Answer.find({ responseId: response.responseId }).lean() : [];
    return { response, answers };
  }

  test('a rating template sent by user id outside the window comes back as the dossier’s response', async () => {
    await dossier('ZF-0001');
    await Contact.create({
      channel: 'zalo',
      channelUserId: 'u-rate',
      lastInteractionAt: new Date(NOON - 30 * 86400_000),
    });
    const result = await proactive.send({ ...invitation('ZF-0001'), userId: 'u-rate' });
    const tpl = lastSent('template');
    expect(result).toEqual({ status: 'sent', via: 'template_uid', messageId: tpl.messageId });
    expect(tpl.body).toEqual({
      user_id: 'u-rate',
      template_id: 'TPL-RATING',
      template_data: { ma_ho_so: 'ZF-0001', ten_don_vi: 'Thị trấn Sịa' },
    });
    expect(fake.csTo('u-rate')).toEqual([]);
    expect(await redis.get(templateLinkKey(prefix, tpl.messageId))).toBe('ZF-0001');
    // Reminders were scheduled with the invitation; the rating must end them.
    await outreach.schedule({
      dossierCode: 'ZF-0001',
      issuedAt: new Date(),
      expiresAt: new Date(Date.now() + 7 * 86400_000),
    });
    expect(await outreach.queue.getJob(reminderJobId('ZF-0001', 1))).toBeDefined();

    await deliver(fake.feedbackEvent('u-rate', { msgId: tpl.messageId, rate: 5, note: 'Cán bộ nhiệt tình' }));
    const { response, answers } = await responseOf('ZF-0001');
    expect(response).toMatchObject({
      status: 'completed',
      surveyChannel: 'zalo',
      flowKey: 'zalo_rating',
      unitCode: UNIT,
      procedureCode: PROCEDURE,
      dossierChannel: 'in_person',
      dissatisfied: false,
    });
    expect(answers).toEqual([
      expect.objectContaining({
        questionId: ZALO_RATING_QUESTION,
        element: 'TONG_THE',
        type: 'rating',
        value: 5,
        text: 'Cán bộ nhiệt tình',
        unitCode: UNIT,
      }),
    ]);
    // The dossier is rated, as after a chat survey: its response, the funnel, no reminder left.
    const rated = await Dossier.findOne({ code: 'ZF-0001' }).lean();
    expect(rated?.survey?.responseId).toBe(response!.responseId);
    expect(rated?.funnel?.completedAt).toBeInstanceOf(Date);
    expect(await outreach.queue.getJob(reminderJobId('ZF-0001', 1))).toBeUndefined();
  });

  test('a rating template sent by phone is found by its tracking id, the dossier code', async () => {
    await dossier('ZF-0002');
    const result = await proactive.send({ ...invitation('ZF-0002'), phone: '0912 345 678' });
    const zns = lastSent('business_template');
    expect(result).toEqual({ status: 'sent', via: 'template_phone', messageId: zns.messageId });
    expect(zns.body).toMatchObject({ phone: '84912345678', tracking_id: 'ZF-0002', mode: 'development' });

    // No msg_id: the tracking id Zalo echoes is what finds the dossier.
    await deliver(fake.feedbackEvent('u-phone', { trackingId: String(zns.body.tracking_id), rate: 4 }));
    const { response, answers } = await responseOf('ZF-0002');
    expect(response).toMatchObject({ status: 'completed', surveyChannel: 'zalo', unitCode: UNIT });
    expect(answers).toEqual([
      expect.objectContaining({ questionId: ZALO_RATING_QUESTION, value: 4, text: null }),
    ]);
  });

  test('the same feedback delivered again (Zalo retry) records one response', async () => {
    await dossier('ZF-0003');
    await proactive.send({ ...invitation('ZF-0003'), userId: 'u-twice' });
    const { messageId } = lastSent('template');
    const event = fake.feedbackEvent('u-twice', { msgId: messageId, rate: 3 });
    const signed = fake.sign(event);
    expect(await fake.post(url, signed.body, signed.headers)).toBe(200);
    expect(await fake.post(url, signed.body, { ...signed.headers, num_retry: '1' })).toBe(200);
    await until(() => isZaloEventDone(redis, prefix, `m-${messageId}`), 'the feedback');
    // A retry after it was processed.
    expect(await fake.post(url, signed.body, { ...signed.headers, num_retry: '2' })).toBe(200);
    await waitForIdle(queue.queue, 20_000);
    await waitForIdle(producer.getQueue('ingest'), 20_000);
    expect(await Response.countDocuments({ dossierCode: 'ZF-0003' })).toBe(1);
    const { response, answers } = await responseOf('ZF-0003');
    expect(response?.status).toBe('completed');
    expect(answers.map((a) => [a.questionId, a.value as unknown])).toEqual([[ZALO_RATING_QUESTION, 3]]);
  });

  test('a rating out of 1..5 or for an unknown dossier records nothing', async () => {
    await dossier('ZF-0004');
    const [responses, answers] = [await Response.countDocuments(), await Answer.countDocuments()];
    await deliver(fake.feedbackEvent('u-bad', { msgId: 'zfb-rate0', trackingId: 'ZF-0004', rate: 0 }));
    await deliver(fake.feedbackEvent('u-bad', { msgId: 'zfb-rate6', trackingId: 'ZF-0004', rate: 6 }));
    await deliver(fake.feedbackEvent('u-bad', { msgId: 'zfb-unknown', trackingId: 'ZF-9999', rate: 5 }));
    await deliver(fake.feedbackEvent('u-bad', { msgId: 'zfb-unlinked', rate: 5 }));
    expect(await Response.countDocuments()).toBe(responses);
    expect(await Answer.countDocuments()).toBe(answers);
    // The same path records a valid rating of that dossier: nothing above was lost by accident.
    await deliver(fake.feedbackEvent('u-bad', { msgId: 'zfb-valid', trackingId: 'ZF-0004', rate: 3 }));
    expect((await responseOf('ZF-0004')).answers.map((a) => a.value as unknown)).toEqual([3]);
    expect(await Response.countDocuments({ dossierCode: 'ZF-9999' })).toBe(0);
  });
});
