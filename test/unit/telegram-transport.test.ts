import type { Update } from 'telegraf/types';
import {
  classifyTelegramError,
  TelegramRateLimitedError,
  TelegramRefusedError,
  TelegramUnreachableError,
} from '../../bot/channels/telegram/errors';
import { chatKeyOf } from '../../bot/channels/telegram/update-inbox';
import { secretMatches } from '../../bot/channels/telegram/webhook-route';

const isDeadRecipient = (err: unknown): boolean => classifyTelegramError(err).kind === 'dead';

const from = { id: 42, is_bot: false, first_name: 'x' };

describe('isDeadRecipient', () => {
  test.each([
    [403, 'Forbidden: bot was blocked by the user'],
    [403, 'Forbidden: user is deactivated'],
    [403, 'Forbidden: bot was kicked from the group chat'],
    [400, 'Bad Request: chat not found'],
  ])('treats %i "%s" as a recipient gone for good', (code, description) => {
    expect(isDeadRecipient(new TelegramRefusedError('sendMessage', code, description))).toBe(true);
  });

  test('does not treat other refusals, outages or rate limits as dead recipients', () => {
    expect(
      isDeadRecipient(new TelegramRefusedError('sendMessage', 400, 'Bad Request: message is too long')),
    ).toBe(false);
    expect(
      isDeadRecipient(
        new TelegramRefusedError('editMessageReplyMarkup', 400, 'Bad Request: message is not modified'),
      ),
    ).toBe(false);
    expect(isDeadRecipient(new TelegramUnreachableError('sendMessage', '502 Bad Gateway'))).toBe(false);
    expect(isDeadRecipient(new TelegramRateLimitedError('sendMessage', 30))).toBe(false);
    expect(isDeadRecipient(new Error('Forbidden: bot was blocked by the user'))).toBe(false);
  });
});

describe('chatKeyOf', () => {
  test('keys a message, an edited message and a chat member change by their chat', () => {
    const chat = { id: -100123, type: 'supergroup', title: 't' };
    expect(
      chatKeyOf({
        update_id: 1,
        message: { message_id: 1, date: 0, chat, from, text: 'a' },
      } as unknown as Update),
    ).toBe('-100123');
    expect(
      chatKeyOf({
        update_id: 2,
        edited_message: { message_id: 1, date: 0, edit_date: 0, chat, from, text: 'b' },
      } as unknown as Update),
    ).toBe('-100123');
    expect(
      chatKeyOf({
        update_id: 3,
        my_chat_member: { chat, from, date: 0, old_chat_member: {}, new_chat_member: {} },
      } as unknown as Update),
    ).toBe('-100123');
  });

  test('keys a button press by the chat of its message, or by the presser when the message is gone', () => {
    expect(
      chatKeyOf({
        update_id: 4,
        callback_query: {
          id: 'q',
          from,
          chat_instance: 'c',
          data: 'd',
          message: { message_id: 5, date: 0, chat: { id: 77, type: 'private' } },
        },
      } as unknown as Update),
    ).toBe('77');
    expect(
      chatKeyOf({
        update_id: 5,
        callback_query: { id: 'q', from, chat_instance: 'c', inline_message_id: 'i', data: 'd' },
      }),
    ).toBe('42');
  });

  test('gives no chat to an update that has none', () => {
    expect(
      chatKeyOf({ update_id: 6, poll: { id: 'p', question: 'q', options: [] } } as unknown as Update),
    ).toBeNull();
  });
});

describe('secretMatches', () => {
  test('accepts only the exact secret', () => {
    expect(secretMatches('s3cret_-X', 's3cret_-X')).toBe(true);
    expect(secretMatches('s3cret_-X', 's3cret_-Y')).toBe(false);
    expect(secretMatches('s3cret_-X', 's3cret_-X ')).toBe(false);
    expect(secretMatches('s3cret_-X', '')).toBe(false);
    expect(secretMatches('s3cret_-X', undefined)).toBe(false);
    expect(secretMatches('s3cret_-X', ['s3cret_-X'])).toBe(false);
  });
});
