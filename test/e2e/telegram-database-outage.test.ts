import { setTimeout as sleep } from 'node:timers/promises';
import { issueSurveyToken } from '../../bot/survey/token';
import { Dossier } from '../../models/dossier';
import { FakeTelegram } from '../fakes/telegram-server';
import { startTestApp, type TestApp } from '../support/app';
import { mongoUri } from '../support/services';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The incident of issue 16: MongoDB unreachable for 25 s while a new citizen opens their
 * dossier's link. The webhook has answered 200 (Redis is up), so Telegram will not resend: the
 * bot must keep retrying the update, and the citizen's next message must come after it.
 */
const SECRET = 'outage_secret-123';
const OUTAGE_MS = 25_000;
let fake: FakeTelegram;
let proxy: TcpProxy;
let t: TestApp;

beforeAll(async () => {
  const real = new URL(mongoUri());
  proxy = await TcpProxy.start({ host: real.hostname, port: Number(real.port || 27017) });
  fake = await FakeTelegram.start();
  // The app reaches MongoDB only through the proxy.
  const through = new URL(mongoUri());
  through.port = String(proxy.port);
  process.env.MONGODB_URI = through.toString();
  t = await startTestApp('tgoutage', {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_WEBHOOK_SECRET: SECRET,
  });
});

afterAll(async () => {
  proxy?.restore();
  await t?.stop();
  await fake?.close();
  await proxy?.close();
});

test('a /start <token> during a 25 s MongoDB outage is applied once MongoDB is back, before the citizen’s next message', async () => {
  const code = '000.00.19.H57-251120-0425';
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    procedureName: 'Chứng thực bản sao từ bản chính',
    unitCode: '19870',
    channel: 'in_person',
    status: 'finished',
    finishedAt: new Date(),
  });
  const { token } = await issueSurveyToken(code, new Date(), 24);
  const u = fake.user(4001);
  proxy.cut();
  const cutAt = Date.now();
  await u.command('/start', token);
  // Impatient, the citizen writes again while nothing came back.
  await sleep(2_000);
  await u.send('alo');
  expect(fake.webhookDeliveries.map((d) => d.status)).toEqual([200, 200]);
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
  expect(fake.sentTo(4001)).toEqual([]);
  proxy.restore();
  await fake.waitFor(() => fake.sentTo(4001).length >= 3, 60_000, 'the replies after the outage');
  const [consent, reask, again] = fake.sentTo(4001).map((m) => m.text);
  expect(consent).toBe(
    `Xã Quảng Thái trân trọng mời Ông/Bà cho ý kiến về việc giải quyết hồ sơ ${code}. Khảo sát mất khoảng 1 phút; ý kiến của Ông/Bà chỉ được dùng để cải thiện chất lượng phục vụ và xử lý phản ánh (nếu có). Câu trả lời được lưu tách riêng với thông tin liên lạc của Ông/Bà; dữ liệu cá nhân được xử lý theo Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15. Ông/Bà có thể gửi /dulieu để xem dữ liệu đang được lưu và /xoa để yêu cầu xóa bất cứ lúc nào. Ông/Bà có đồng ý tham gia không?`,
  );
  // "alo" is no answer to the consent question: re-asked, after the question it answers.
  expect(reask).toContain('Xin vui lòng chọn');
  expect(again).toBe(consent);
  // And the survey goes on.
  await u.tapLabel('Đồng ý');
  await fake.waitFor(() => fake.sentTo(4001).length >= 4, 20_000, 'the first question');
  expect(fake.lastMessageTo(4001)!.text).toContain('nơi tiếp nhận hồ sơ');
}, 150_000);
