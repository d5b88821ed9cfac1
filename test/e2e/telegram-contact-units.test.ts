import { setTimeout as sleep } from 'node:timers/promises';
import { Contact } from '../../models/contact';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { issueSurveyToken } from '../../bot/survey/token';
import { countRecipients } from '../../workers/broadcast/targeting';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/until';

/**
 * Issue 16, point 7: a broadcast to a unit reaches the citizens who answered a survey for a
 * dossier of that unit's subtree (the contact's units are filled off the turn's path, by the
 * session copy job), and after a merger the successor's subtree still finds them.
 */
const SECRET = 'units_secret-TOKEN_123';
const WINDOW = { zaloWindowH: 168 };
let fake: FakeTelegram;
let t: TestApp;
let seq = 0;

/** Citizen `chatId` opens the invitation of a dossier of `unitCode`, consents and answers the first question. */
async function answersFor(chatId: number, unitCode: string): Promise<void> {
  const code = `000.00.19.H57-260101-${String(++seq).padStart(4, '0')}`;
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    unitCode,
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  const { token } = await issueSurveyToken(code, new Date(), 24);
  const u = fake.user(chatId);
  const before = fake.sentTo(chatId).length;
  await u.command('/start', token);
  await fake.waitFor(() => fake.sentTo(chatId).length >= before + 1, 20_000, 'the consent question');
  await u.tapLabel('Đồng ý');
  await fake.waitFor(() => fake.sentTo(chatId).length >= before + 2, 20_000, 'the first question');
  await u.tapLabel('4. Hài lòng');
  await fake.waitFor(() => fake.sentTo(chatId).length >= before + 3, 20_000, 'the second question');
}

const unitsOf = (chatId: number) =>
  until(
    async () => {
      const c = await Contact.findOne(
        { channel: 'telegram', channelUserId: String(chatId) },
        { unitCodes: 1, consentAt: 1 },
      ).lean();
      return c && c.consentAt && c.unitCodes.length > 0 ? [...c.unitCodes].sort() : null;
    },
    `the units of contact ${chatId}`,
    20_000,
  );

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp('ctunits', {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    // Progress within a survey is copied after this window (the contact's units come with it).
    SESSION_SYNC_LATER_MS: '200',
  });
  // A district with two communes in force today, and the successor one of them will merge into.
  await Unit.insertMany([
    { code: 'D-TEST', name: 'Huyện Thử', level: 'district', parentCode: null },
    { code: 'C-ONE', name: 'Xã Một', level: 'commune', parentCode: 'D-TEST' },
    { code: 'C-TWO', name: 'Xã Hai', level: 'commune', parentCode: 'D-TEST' },
    { code: 'C-NEW', name: 'Xã Mới', level: 'commune', parentCode: null },
  ]);
});

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

test('a citizen who answered for a commune is counted by a broadcast to its district', async () => {
  expect((await countRecipients({ unitCode: 'D-TEST', channels: ['telegram'] }, WINDOW)).total).toBe(0);
  await answersFor(2001, 'C-ONE');
  expect(await unitsOf(2001)).toEqual(['C-ONE']);
  expect(await countRecipients({ unitCode: 'D-TEST', channels: ['telegram'] }, WINDOW)).toMatchObject({
    total: 1,
    byChannel: { telegram: 1 },
  });
  expect((await countRecipients({ unitCode: 'C-ONE' }, WINDOW)).total).toBe(1);
  // The other commune of the district is not theirs.
  expect((await countRecipients({ unitCode: 'C-TWO' }, WINDOW)).total).toBe(0);
});

test('after a merger, a broadcast to the successor finds a citizen who answered for the old commune', async () => {
  await answersFor(2002, 'C-TWO');
  expect(await unitsOf(2002)).toEqual(['C-TWO']);
  await Unit.updateOne(
    { code: 'C-TWO' },
    { $set: { validTo: new Date(Date.now() - 1000), successorCode: 'C-NEW' } },
  );
  expect((await countRecipients({ unitCode: 'C-NEW' }, WINDOW)).total).toBe(1);
});

test('answering for a commune already merged puts the citizen in its successor (effective-dated)', async () => {
  // 19870 (Xã Quảng Thái) was merged into QD-DAN-DIEN on 1/7/2025 (test/support/app.ts seeds it).
  await answersFor(2003, '19870');
  expect(await unitsOf(2003)).toEqual(['QD-DAN-DIEN']);
  expect((await countRecipients({ unitCode: 'QD-DAN-DIEN' }, WINDOW)).total).toBe(1);
  // The district abolished on 1/7/2025 is not where a citizen who answered since then belongs.
  expect((await countRecipients({ unitCode: '477' }, WINDOW)).total).toBe(0);
});

test('a citizen who declines the survey is given no unit', async () => {
  const code = '000.00.19.H57-260101-9999';
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    unitCode: 'C-ONE',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  const { token } = await issueSurveyToken(code, new Date(), 24);
  const u = fake.user(2004);
  await u.command('/start', token);
  await fake.waitFor(() => fake.sentTo(2004).length >= 1, 20_000, 'the consent question');
  await u.tapLabel('Không');
  await fake.waitFor(() => fake.sentTo(2004).length >= 2, 20_000, 'the goodbye');
  const c = await until(
    () => Contact.findOne({ channel: 'telegram', channelUserId: '2004' }).lean(),
    'the contact',
    20_000,
  );
  // Long enough for the session copies (soon and later) to have run.
  await sleep(1500);
  expect((await Contact.findById(c._id).lean())!.unitCodes).toEqual([]);
});
