import mongoose from 'mongoose';
import { parseEnv } from '../../config/env';
import { startApp } from '../../app/start';
import { DEFAULT_FLOW_VERSIONS } from '../../bot/flow/default-flow';
import { liveAssignmentsChanged } from '../../bot/flow/live-assignments';
import { issueSurveyToken } from '../../bot/survey/token';
import { noPublishedFlow } from '../../lib/metrics';
import { disconnectMongo } from '../../lib/mongo';
import { UserError } from '../../lib/user-error';
import { Dossier } from '../../models/dossier';
import { Flow } from '../../models/flow';
import { Session } from '../../models/session';
import { FakeTelegram } from '../fakes/telegram-server';
import { freePort, startTestApp, uriWithDb, type TestApp } from '../support/app';
import { redisUrl, testPrefix, uniqueName } from '../support/services';

/**
 * A deployment with no published flow (issue 21): `hailong start` puts the default flow in place
 * or refuses to start; when every version is archived later, a citizen's /start gets a short
 * apology in their language (Telegram and the web chat) instead of silence and a dead letter,
 * and operators get `hailong_no_published_flow_total`.
 */
const SECRET = 'noflow_secret-TOKEN_123';
let fake: FakeTelegram;
let t: TestApp;

const apologyVi = 'Xin lỗi Ông/Bà, hệ thống khảo sát tạm thời chưa sẵn sàng';
const apologyEn = 'Sorry, the survey is not available at the moment';

async function refusals(channel: string): Promise<number> {
  const v = (await noPublishedFlow.get()).values.find(
    (x) => x.labels.channel === channel && x.labels.flow === 'default',
  );
  return v?.value ?? 0;
}

test('`hailong start` refuses to start, saying what to do, when every default flow version is archived', async () => {
  const env = parseEnv({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    PUBLIC_URL: 'http://127.0.0.1:9',
    MONGODB_URI: uriWithDb(uniqueName('noflowrefuse')),
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: testPrefix('noflowrefuse'),
  });
  const setup = await mongoose.createConnection(env.MONGODB_URI).asPromise();
  await setup.collection('flows').insertMany(
    DEFAULT_FLOW_VERSIONS.map((f) => ({
      key: f.key,
      version: f.version,
      status: 'archived',
      definition: f,
      publishedAt: new Date(),
      createdBy: 'test',
    })),
  );
  try {
    const started = startApp({ env, roles: ['http', 'bot'] });
    await expect(started).rejects.toThrow(UserError);
    await expect(started).rejects.toThrow('no version of the flow "default" is published');
    // Nothing was re-published behind the operator's back.
    expect(await setup.collection('flows').countDocuments({ status: 'published' })).toBe(0);
  } finally {
    // mongoose.disconnect() closes every connection, this one too: drop the database first.
    await setup.dropDatabase();
    await setup.close();
    await disconnectMongo();
  }
}, 60_000);

describe('with every version archived after start', () => {
  beforeAll(async () => {
    fake = await FakeTelegram.start();
    t = await startTestApp('noflow', {
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    });
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await fake?.close();
  });

  test('`hailong start` put every version of the default flow in place on an empty database', async () => {
    // startTestApp itself ensures only the newest version: the older one is start-up's (as `seed`'s).
    const stored = await Flow.find({ key: 'default', status: 'published' }, { version: 1 }).lean();
    expect(stored.map((f) => f.version).sort()).toEqual(DEFAULT_FLOW_VERSIONS.map((f) => f.version).sort());
  });

  test('a citizen gets an apology in their language on Telegram and the web chat; operators get the counter', async () => {
    await Flow.updateMany({ key: 'default' }, { $set: { status: 'archived' } });
    // Archived as an operator's change is: announced, so the next start reads what is published
    // instead of the version the process knows (bot/flow/repository.ts serves that, however old,
    // until a renewal has read the change).
    liveAssignmentsChanged();
    const tgBefore = await refusals('telegram');
    const webBefore = await refusals('web');

    await fake.user(2101, { languageCode: 'vi' }).command('/start');
    await fake.waitFor(() => fake.sentTo(2101).length >= 1, 30_000, 'the Vietnamese apology');
    expect(fake.sentTo(2101)[0].text).toContain(apologyVi);

    await fake.user(2102, { languageCode: 'en' }).command('/start');
    await fake.waitFor(() => fake.sentTo(2102).length >= 1, 30_000, 'the English apology');
    expect(fake.sentTo(2102)[0].text).toContain(apologyEn);
    expect(await refusals('telegram')).toBe(tgBefore + 2);

    // The web chat: a dossier's survey link opens the same apology, as a page.
    await Dossier.create({
      code: 'NOFLOW-251202-0001',
      procedureCode: '1.001234',
      procedureName: 'Chứng thực bản sao từ bản chính',
      unitCode: '19870',
      channel: 'in_person',
      status: 'finished',
      finishedAt: new Date(),
    });
    const { token } = await issueSurveyToken('NOFLOW-251202-0001', new Date(), 24);
    const page = await fetch(`${t.baseUrl}/s/${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(apologyVi);
    expect(await refusals('web')).toBe(webBefore + 1);

    // No survey was started, and nothing was dead-lettered (the update was answered, not failed).
    expect(await Session.countDocuments({})).toBe(0);
    const deadLetters = await t.redis.keys(`${t.env.REDIS_PREFIX}*dead-letter*`);
    expect(deadLetters).toEqual([]);
  }, 60_000);
});
