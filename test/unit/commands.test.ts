import type { Update } from 'telegraf/types';
import { COMMANDS, commandByName, normaliseTyped, parseCommand } from '../../bot/conversation/commands';
import { toInboundEvent } from '../../bot/channels/telegram/update-mapper';
import { mapText } from '../../bot/channels/zalo/inbound';

const telegramText = (text: string): Update =>
  ({
    update_id: 7,
    message: { message_id: 1, date: 0, chat: { id: 1001, type: 'private' }, from: { id: 1001 }, text },
  }) as unknown as Update;
const telegramInput = (text: string) => toInboundEvent(telegramText(text))?.input;

describe('the command table', () => {
  test('every word is written as it is compared, and belongs to one command only', () => {
    const rows = Object.values(COMMANDS);
    const words = rows.flatMap((r) => [...r.words]);
    for (const w of words) expect(normaliseTyped(w).toLowerCase()).toBe(w);
    expect(new Set(words).size).toBe(words.length);
    const slashes = rows.flatMap((r) => [...r.slash]);
    expect(new Set(slashes).size).toBe(slashes.length);
  });

  test('stop in Vietnamese with and without diacritics, in English and as a slash command', () => {
    for (const w of [
      '/stop',
      'stop',
      'STOP',
      'Dừng',
      'dừng lại',
      'Dung lai',
      ' huỷ ',
      'Hủy đăng ký',
      'huy dang ky',
    ])
      expect(parseCommand(w)).toEqual({ kind: 'command', name: 'stop' });
  });

  test('decomposed Unicode (NFD, as some keyboards send it) matches as NFC does', () => {
    expect(parseCommand('Dừng'.normalize('NFD'))).toEqual({ kind: 'command', name: 'stop' });
    expect(parseCommand('trợ giúp'.normalize('NFD'))).toEqual({ kind: 'command', name: 'help' });
  });

  test('"Đúng" and a bare "dung" (also "đúng" typed without diacritics) stay answers', () => {
    expect(parseCommand('Đúng')).toBeNull();
    expect(parseCommand('dung')).toBeNull();
    expect(parseCommand('Tôi muốn dừng')).toBeNull();
    expect(parseCommand('1, 3')).toBeNull();
  });

  test('help, language and start, with their arguments', () => {
    expect(parseCommand('?')).toEqual({ kind: 'command', name: 'help' });
    expect(parseCommand('huong dan')).toEqual({ kind: 'command', name: 'help' });
    expect(parseCommand('/lang EN')).toEqual({ kind: 'command', name: 'lang', arg: 'en' });
    expect(parseCommand('/lang')).toEqual({ kind: 'command', name: 'lang' });
    expect(parseCommand('English')).toEqual({ kind: 'command', name: 'lang', arg: 'en' });
    expect(parseCommand('tiếng Việt')).toEqual({ kind: 'command', name: 'lang', arg: 'vi' });
    expect(parseCommand('bắt đầu')).toEqual({ kind: 'start' });
    expect(parseCommand('/start AbC_12-x')).toEqual({ kind: 'start', token: 'AbC_12-x' });
    expect(parseCommand('/stop@HaiLongBot')).toEqual({ kind: 'command', name: 'stop' });
    // An official's chat-link code typed to the Zalo OA is the same start as Telegram's deep link.
    expect(parseCommand('/lienket AbCdE-23456789')).toEqual({ kind: 'start', token: 'l_AbCdE-23456789' });
  });

  test('an unknown slash command gets the help, never a recorded answer', () => {
    expect(parseCommand('/menu')).toEqual({ kind: 'command', name: 'help' });
    expect(parseCommand('/ không có')).toBeNull();
  });

  test('a channel control names a command; unknown names are nothing', () => {
    expect(commandByName('stop')).toEqual({ kind: 'command', name: 'stop' });
    expect(commandByName('lang')).toEqual({ kind: 'command', name: 'lang' });
    expect(commandByName('constructor')).toBeNull();
    expect(commandByName('nope')).toBeNull();
  });
});

describe('every channel reads the same words', () => {
  test.each(['Dừng', 'dung lai', '/stop', 'Stop'])('Telegram and Zalo both stop on %p', (w) => {
    expect(telegramInput(w)).toEqual({ kind: 'command', name: 'stop' });
    expect(mapText(w)).toEqual({ kind: 'command', name: 'stop' });
  });

  test('Telegram and Zalo keep an answer as typed text', () => {
    expect(telegramInput('Đúng')).toEqual({ kind: 'text', text: 'Đúng' });
    expect(mapText('Đúng')).toEqual({ kind: 'text', text: 'Đúng' });
    expect(telegramInput('/start tok_1')).toEqual({ kind: 'start', token: 'tok_1' });
    expect(mapText('/start tok_1')).toEqual({ kind: 'start', token: 'tok_1' });
  });
});
