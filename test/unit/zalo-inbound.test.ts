import { classifyZaloCode, ZaloApiError } from '../../bot/channels/zalo/errors';
import { eventId, mapText, mapZaloEvent } from '../../bot/channels/zalo/inbound';
import { quietUntil } from '../../lib/quiet-hours';
import { verifyZaloSignature, zaloSignatureHeader } from '../../bot/channels/zalo/signature';
import { decryptSecret, encryptSecret, parseSecretsKey } from '../../lib/secret-box';
import { codeChallenge, createCodeVerifier } from '../../bot/channels/zalo/oauth';
import { encodeAction } from '../../bot/engine/callback-data';

test('a button tap (text equal to the payload, even wrapped in {content}) becomes an action', () => {
  const payload = encodeAction({ kind: 'pick', step: 4, node: 'q2', value: '5' });
  expect(mapText(payload)).toEqual({ kind: 'action', action: { kind: 'pick', step: 4, node: 'q2', value: '5' } });
  expect(mapText(JSON.stringify({ content: payload }))).toEqual({ kind: 'action', action: { kind: 'pick', step: 4, node: 'q2', value: '5' } });
});

test('stop words are commands but "Đúng" stays an answer', () => {
  expect(mapText('/stop')).toEqual({ kind: 'command', name: 'stop' });
  expect(mapText('Dừng')).toEqual({ kind: 'command', name: 'stop' });
  expect(mapText('huỷ')).toEqual({ kind: 'command', name: 'stop' });
  expect(mapText('Đúng')).toEqual({ kind: 'text', text: 'Đúng' });
  expect(mapText('1, 3')).toEqual({ kind: 'text', text: '1, 3' });
  expect(mapText('/start ABC123')).toEqual({ kind: 'start', token: 'ABC123' });
  expect(mapText('/lang en')).toEqual({ kind: 'command', name: 'lang', arg: 'en' });
});

test('maps webhook events: text turns, follows, echoes ignored, stickers still answered', () => {
  const text = { event_name: 'user_send_text', sender: { id: 'u1' }, message: { text: '3', msg_id: 'm1' }, timestamp: '1700000000000' };
  expect(mapZaloEvent(text, 0)).toEqual({ type: 'turn', event: { channel: 'zalo', userId: 'u1', updateId: 1700000000000, input: { kind: 'text', text: '3' } } });
  expect(mapZaloEvent({ event_name: 'oa_send_text', sender: { id: 'oa' }, message: { text: 'x', msg_id: 'm2' } }, 0)).toEqual({ type: 'ignore', reason: 'echo' });
  expect(mapZaloEvent({ event_name: 'unfollow', follower: { id: 'u1' }, timestamp: '5' }, 0)).toEqual({ type: 'unfollow', userId: 'u1', at: 5 });
  const sticker = mapZaloEvent({ event_name: 'user_send_sticker', sender: { id: 'u1' }, message: { msg_id: 'm3' }, timestamp: '6' }, 0);
  expect(sticker).toEqual({ type: 'turn', event: { channel: 'zalo', userId: 'u1', updateId: 6, input: { kind: 'text', text: '' } } });
  expect(eventId(text)).toBe('m-m1');
  expect(eventId({ event_name: 'follow', follower: { id: 'u1' }, timestamp: '9' })).toBe('follow-u1-9');
});

test('the MAC is SHA-256 of appId + raw body + timestamp + OA secret, checked in constant time', () => {
  const raw = Buffer.from('{"event_name":"user_send_text","timestamp":"154390853474"}');
  const header = zaloSignatureHeader('app', raw, '154390853474', 'secret');
  expect(header).toMatch(/^mac=[0-9a-f]{64}$/);
  expect(verifyZaloSignature(header, 'app', raw, '154390853474', 'secret')).toBe(true);
  expect(verifyZaloSignature(header, 'app', Buffer.from(`${raw.toString()} `), '154390853474', 'secret')).toBe(false);
  expect(verifyZaloSignature(header, 'app', raw, '154390853474', 'other')).toBe(false);
  expect(verifyZaloSignature(undefined, 'app', raw, '154390853474', 'secret')).toBe(false);
  expect(verifyZaloSignature('mac=00', 'app', raw, '154390853474', 'secret')).toBe(false);
});

test('maps Zalo codes to causes', () => {
  expect(classifyZaloCode(-216).cause).toBe('token_expired');
  expect(classifyZaloCode(-124).cause).toBe('token_expired');
  expect(classifyZaloCode(-32).cause).toBe('rate_limited');
  expect(classifyZaloCode(-230).cause).toBe('out_of_window');
  expect(classifyZaloCode(-118).cause).toBe('no_zalo_account');
  expect(classifyZaloCode(-213)).toEqual({ cause: 'recipient_unavailable', mark: 'unsubscribed' });
  expect(classifyZaloCode(-244)).toEqual({ cause: 'recipient_unavailable', mark: 'blocked' });
  expect(classifyZaloCode(-99999).cause).toBe('permanent');
  expect(new ZaloApiError(-227, 'message/cs', 'x').mark).toBe('blocked');
});

test('tokens are sealed with AES-256-GCM bound to the app id', () => {
  const key = parseSecretsKey('a'.repeat(64));
  const sealed = encryptSecret(key, 'AT-secret', 'app1');
  expect(sealed).not.toContain('AT-secret');
  expect(decryptSecret(key, sealed, 'app1')).toBe('AT-secret');
  expect(() => decryptSecret(key, sealed, 'app2')).toThrow();
  expect(() => parseSecretsKey('short')).toThrow(/32 bytes/);
});

test('PKCE: a 43-character verifier and an unpadded base64url challenge', () => {
  const v = createCodeVerifier();
  expect(v).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(codeChallenge(v)).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

test('quiet hours (21:00-07:00, Asia/Ho_Chi_Minh) hold until 07:00 local', () => {
  const at2230 = Date.parse('2026-03-10T22:30:00+07:00');
  expect(quietUntil(at2230, '21:00', '07:00')?.toISOString()).toBe('2026-03-11T00:00:00.000Z');
  const at0600 = Date.parse('2026-03-11T06:00:00+07:00');
  expect(quietUntil(at0600, '21:00', '07:00')?.toISOString()).toBe('2026-03-11T00:00:00.000Z');
  expect(quietUntil(Date.parse('2026-03-11T12:00:00+07:00'), '21:00', '07:00')).toBeNull();
});
