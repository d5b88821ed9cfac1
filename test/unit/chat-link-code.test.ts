import { linkCodeOf } from '../../bot/conversation/chat-link';
import type { InboundEvent } from '../../bot/channels/channel';

const ev = (channel: InboundEvent['channel'], token?: string): InboundEvent => ({
  channel,
  userId: '1',
  updateId: 1,
  input: { kind: 'start', ...(token ? { token } : {}) },
});

test('a chat-link start is taken on Telegram and Zalo only, and never a survey token that begins with l_', () => {
  expect(linkCodeOf(ev('telegram', 'l_ABCDE-FGHJKMNP'))).toBe('ABCDE-FGHJKMNP');
  expect(linkCodeOf(ev('zalo', 'l_abcdefghjkmnp'))).toBe('abcdefghjkmnp');
  expect(linkCodeOf(ev('web', 'l_ABCDE-FGHJKMNP'))).toBeNull();
  // Survey tokens are 32 characters of base64url: one may begin with "l_" and stays a survey.
  expect(linkCodeOf(ev('telegram', `l_${'x'.repeat(30)}`))).toBeNull();
  expect(linkCodeOf(ev('telegram', 'u_19870'))).toBeNull();
  expect(linkCodeOf(ev('telegram'))).toBeNull();
});
