import { ChatLinks, normaliseLinkCode } from '../../lib/auth/chat-link';
import { AuditLog } from '../../models/audit-log';
import { User } from '../../models/user';
import { clearPrefix, connectTestDb, dropTestDb, testPrefix, testRedis } from '../support/services';

const redis = testRedis();
const prefix = testPrefix('chatlink');
let userId = '';

beforeAll(async () => {
  await connectTestDb('chatlink');
  const u = await User.create({
    username: 'lien.ket',
    passwordHash: 'x',
    role: 'broadcaster',
    unitCodes: ['19870'],
    passwordChangedAt: new Date(),
    createdBy: 'test',
  });
  userId = u._id.toString();
});
afterAll(async () => {
  await clearPrefix(redis, prefix);
  redis.disconnect();
  await dropTestDb();
});

test('a code is stored only as its handle and a hash of its secret, and expires', async () => {
  const links = new ChatLinks(redis, prefix, 600);
  const { code } = await links.issue(userId);
  const keys = await redis.keys(`${prefix}*`);
  const values = await Promise.all(keys.map((k) => redis.get(k)));
  expect(values.join(' ')).not.toContain(code.slice(6));
  for (const k of keys) expect(await redis.ttl(k)).toBeGreaterThan(590);
});

test('of two chats racing with the same right code, exactly one is linked', async () => {
  const links = new ChatLinks(redis, prefix, 600);
  const { code } = await links.issue(userId);
  const results = await Promise.all(['9001', '9002', '9003'].map((c) => links.redeem('zalo', c, code)));
  expect(results.filter((r) => r.ok)).toHaveLength(1);
  const linked = (await User.findById(userId).lean())?.linkedChat;
  expect(linked?.channel).toBe('zalo');
  expect(['9001', '9002', '9003']).toContain(linked?.userId);
  expect(await AuditLog.countDocuments({ action: 'user.chat_linked', targetId: userId })).toBe(1);
});

test('an expired code links nothing', async () => {
  const links = new ChatLinks(redis, prefix, 1);
  const { code } = await links.issue(userId);
  await new Promise((r) => setTimeout(r, 2100));
  expect(await links.redeem('telegram', '9100', code)).toEqual({ ok: false });
  expect((await User.findById(userId).lean())?.linkedChat?.userId).not.toBe('9100');
});

test('what a person types is read as the code: case, spaces and dashes aside; anything else is not one', () => {
  expect(normaliseLinkCode('abcde-fghjk mnp')).toBe('ABCDEFGHJKMNP');
  expect(normaliseLinkCode('ABCDE-FGHJKMN')).toBeNull();
  expect(normaliseLinkCode('ABCDE-FGHJKMN0')).toBeNull();
  expect(normaliseLinkCode('')).toBeNull();
});
