import { localise, t } from '../../bot/engine/messages';
import { invitationMessage } from '../../bot/survey/invitation-text';

describe('localise', () => {
  const table = { hello: { vi: 'Chào {ten}, hồ sơ {ma}', en: 'Hello {ten}, dossier {ma}' } };

  test('picks the language and fills placeholders; an unknown one stays as written', () => {
    expect(localise(table, 'hello', 'vi', { ten: 'An', ma: 7 })).toBe('Chào An, hồ sơ 7');
    expect(localise(table, 'hello', 'en', { ten: 'An' })).toBe('Hello An, dossier {ma}');
  });

  test('is what the engine texts use', () => {
    expect(t('reaskNumber', 'vi', { min: 1, max: 5 })).toBe('Xin vui lòng nhập một số từ 1 đến 5.');
    expect(t('reaskNumber', 'en', { min: 1, max: 5 })).toBe('Please enter a number from 1 to 5.');
  });
});

describe('invitation and reminder texts', () => {
  const vars = { ma: 'HS-1', donvi: 'UBND xã Quảng Điền', thutuc: 'Đăng ký khai sinh' };

  test('the invitation names the unit and the dossier, Vietnamese first', () => {
    const m = invitationMessage('invite', 'vi', vars, 'https://x/s/tok');
    expect(m.text).toBe(
      'UBND xã Quảng Điền đã giải quyết xong hồ sơ HS-1 của Ông/Bà. Xin Ông/Bà dành khoảng 1 phút đánh giá mức độ hài lòng để chúng tôi phục vụ tốt hơn.',
    );
    expect(m.buttonLabel).toBe('Bắt đầu đánh giá');
    expect(m.vars).toEqual({ ...vars, link: 'https://x/s/tok' });
    expect(invitationMessage('invite', 'en', vars, 'u').text).toContain('has finished your dossier HS-1');
  });

  test('a reminder to a citizen who started says continue', () => {
    const m = invitationMessage('remindResume', 'vi', vars, 'u');
    expect(m.text).toContain('còn dang dở');
    expect(m.buttonLabel).toBe('Tiếp tục đánh giá');
    expect(invitationMessage('remindNew', 'en', vars, 'u').buttonLabel).toBe('Start the survey');
  });
});
