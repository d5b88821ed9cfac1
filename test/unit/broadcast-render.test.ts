import { parseEnv } from '../../config/env';
import { startTime } from '../../workers/broadcast/control';
import { channelLimits, concurrencyFor } from '../../workers/broadcast/limits';
import { checkHtml, escapeHtml, renderBroadcast, validateContent } from '../../workers/broadcast/render';

test('escapes staff text for Telegram HTML and adds the unsubscribe line', () => {
  const r = renderBroadcast({ text: 'Giờ làm việc <8h> & "chiều"' }, 'vi');
  expect(r.html).toBe('Giờ làm việc &lt;8h&gt; &amp; "chiều"\n\n<i>Nhắn /stop để ngừng nhận thông báo.</i>');
  expect(r.plain).toBe('Giờ làm việc <8h> & "chiều"\n\nNhắn /stop để ngừng nhận thông báo.');
  expect(r.stopButton).toBe('Ngừng nhận tin');
  expect(escapeHtml('a<b>&')).toBe('a&lt;b&gt;&amp;');
});

test('sends English only to contacts who chose it and only when an English text exists', () => {
  const c = {
    text: 'Xin chào',
    textEn: 'Hello',
    buttons: [{ text: 'Khảo sát', textEn: 'Survey', url: 'https://x.vn' }],
  };
  expect(renderBroadcast(c, 'en').html).toMatch(/^Hello\n\n<i>Send \/stop/);
  expect(renderBroadcast(c, 'en').links).toEqual([{ text: 'Survey', url: 'https://x.vn' }]);
  expect(renderBroadcast(c, 'vi').html).toMatch(/^Xin chào/);
  expect(renderBroadcast({ text: 'Xin chào' }, 'en').lang).toBe('vi');
});

test('accepts Telegram simple HTML and refuses anything that would break the send', () => {
  expect(checkHtml('<b>Đậm</b> <a href="https://dichvucong.gov.vn">link</a> &amp; <i>nghiêng</i>')).toEqual(
    [],
  );
  expect(checkHtml('<script>x</script>')).toContain('tag <script> is not allowed');
  expect(checkHtml('<b>unclosed')).toEqual(['unclosed <b>']);
  expect(checkHtml('a < b')).toEqual(['a bare < or > must be written &lt; / &gt;']);
  expect(checkHtml('<a href="javascript:alert(1)">x</a>')).toContain('<a> needs exactly href="http(s)://…"');
  expect(
    renderBroadcast({ text: '<b>Đậm</b> &amp; x', format: 'html' }, 'vi').plain.startsWith('Đậm & x'),
  ).toBe(true);
});

test('refuses content too long for a photo caption, bad buttons and too many buttons', () => {
  expect(validateContent({ text: 'x'.repeat(1100), imageUrl: 'https://x.vn/a.png' })[0]).toMatch(
    /too long for Telegram .*caption/,
  );
  expect(validateContent({ text: 'ok', buttons: [{ text: 'x', url: 'ftp://x' }] })).toEqual([
    'button "x": url must be http(s)',
  ]);
  expect(
    validateContent({
      text: 'ok',
      buttons: Array.from({ length: 5 }, () => ({ text: 'x', url: 'https://x.vn' })),
    }),
  ).toContain('at most 4 link buttons');
  expect(validateContent({ text: '  ' })).toContain('text is empty');
});

test('caps the Telegram broadcast rate below the overall limit minus the conversation reserve', () => {
  const base = { NODE_ENV: 'test' };
  expect(channelLimits(parseEnv(base)).telegram.limitPerS).toBe(25);
  expect(channelLimits(parseEnv({ ...base, TELEGRAM_BROADCAST_RATE_PER_S: '40' })).telegram.limitPerS).toBe(
    25,
  );
  expect(
    channelLimits(
      parseEnv({ ...base, TELEGRAM_BROADCAST_RATE_PER_S: '40', TELEGRAM_CONVERSATION_RESERVE_PER_S: '2' }),
    ).telegram.limitPerS,
  ).toBe(28);
  expect(
    channelLimits(
      parseEnv({ ...base, TELEGRAM_PAID_BROADCAST: 'true', TELEGRAM_BROADCAST_RATE_PER_S: '5000' }),
    ).telegram.limitPerS,
  ).toBe(995);
  expect(channelLimits(parseEnv({ ...base, ZALO_BROADCAST_RATE_PER_MIN: '600' })).zalo.limitPerS).toBe(10);
  expect(concurrencyFor(30)).toBe(7);
});

test('holds a start inside quiet hours until they end, unless told to ignore them', () => {
  const env = parseEnv({ NODE_ENV: 'test', QUIET_HOURS_START: '21:00', QUIET_HOURS_END: '07:00' });
  const night = new Date('2026-03-10T15:30:00Z'); // 22:30 in Hà Nội
  expect(startTime(null, false, env, night)).toEqual({
    startsAt: new Date('2026-03-11T00:00:00Z'),
    heldByQuietHours: true,
  });
  expect(startTime(null, true, env, night)).toEqual({ startsAt: night, heldByQuietHours: false });
  const scheduled = new Date('2026-03-11T02:00:00Z'); // 09:00
  expect(startTime(scheduled, false, env, night)).toEqual({ startsAt: scheduled, heldByQuietHours: false });
});
