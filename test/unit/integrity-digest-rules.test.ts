import type { Update } from 'telegraf/types';
import { toGroupUpdate, toInboundEvent } from '../../bot/channels/telegram/update-mapper';
import { findSharedContact, type ContactAnswer } from '../../workers/aggregation/integrity/shared-contact';
import { isCounterAddress, parseCounterNetworks } from '../../workers/aggregation/integrity/counter-network';
import { renderDigest } from '../../workers/aggregation/digest/text';
import type { DigestFigures } from '../../workers/aggregation/digest/figures';
import { criterionShare, meanShare } from '../../indices/formula';

const H = 3_600_000;
const row = (id: string, applicant: string, hours: number): ContactAnswer => ({
  responseId: id,
  applicant,
  unitCode: 'U',
  day: '2025-06-02',
  at: hours * H,
});
const ids = (rows: ContactAnswer[]) => rows.map((r) => r.responseId);

describe('shared contact rule (pure)', () => {
  const rule = { minApplicants: 3, windowMs: 24 * H };

  test('flags three different applicants within the window, window ends included', () => {
    expect(ids(findSharedContact([row('a', 'A', 0), row('b', 'B', 10), row('c', 'C', 24)], rule))).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  test('does not flag two applicants, nor three spread just over the window', () => {
    expect(findSharedContact([row('a', 'A', 0), row('b', 'B', 1), row('b2', 'B', 2)], rule)).toEqual([]);
    const late = { ...row('c', 'C', 24), at: 24 * H + 1 };
    expect(findSharedContact([row('a', 'A', 0), row('b', 'B', 10), late], rule)).toEqual([]);
  });

  test('one applicant with many dossiers is not flagged', () => {
    expect(
      findSharedContact([row('a', 'A', 0), row('b', 'A', 1), row('c', 'A', 2), row('d', 'A', 3)], rule),
    ).toEqual([]);
  });

  test('only the answers inside an offending window are flagged', () => {
    const rows = [row('old', 'Z', 0), row('a', 'A', 30), row('b', 'B', 31), row('c', 'C', 32)];
    expect(ids(findSharedContact(rows, rule))).toEqual(['a', 'b', 'c']);
  });
});

describe('counter networks (pure)', () => {
  const nets = parseCounterNetworks(['203.0.113.0/28', '19870=198.51.100.8/29', '2001:db8:1::/48']);

  test('matches the network edges, IPv4-mapped IPv6 and IPv6', () => {
    expect(isCounterAddress(nets, '203.0.113.0', 'X')).toBe(true);
    expect(isCounterAddress(nets, '203.0.113.15', 'X')).toBe(true);
    expect(isCounterAddress(nets, '203.0.113.16', 'X')).toBe(false);
    expect(isCounterAddress(nets, '::ffff:203.0.113.5', 'X')).toBe(true);
    expect(isCounterAddress(nets, '2001:db8:1:ffff::1', 'X')).toBe(true);
    expect(isCounterAddress(nets, '2001:db8:2::1', 'X')).toBe(false);
  });

  test('a per-unit network counts only for that unit', () => {
    expect(isCounterAddress(nets, '198.51.100.9', '19870')).toBe(true);
    expect(isCounterAddress(nets, '198.51.100.9', '19873')).toBe(false);
    expect(isCounterAddress(nets, '198.51.100.16', '19870')).toBe(false);
  });

  test('nothing configured matches nothing; a bad entry is refused', () => {
    expect(isCounterAddress(parseCounterNetworks([]), '10.0.0.1', 'X')).toBe(false);
    expect(() => parseCounterNetworks(['10.0.0.0/33'])).toThrow('COUNTER_NETWORKS');
    expect(() => parseCounterNetworks(['999.0.0.0/8'])).toThrow('COUNTER_NETWORKS');
  });
});

describe('/baocao mapping', () => {
  const msg = (chat: { id: number; type: string }, text: string): Update =>
    ({
      update_id: 7,
      message: { message_id: 1, date: 0, chat, from: { id: 5, is_bot: false, first_name: 'A' }, text },
    }) as unknown as Update;
  const group = { id: -100198, type: 'supergroup' };

  test('maps /baocao and /baocao@ourbot in groups, with an argument', () => {
    const cmd = { kind: 'command', fromId: 5, name: 'baocao' };
    expect(toGroupUpdate(msg(group, '/baocao'), { botUsername: 'HaiLongBot' })).toEqual({
      ...cmd,
      chatId: '-100198',
    });
    expect(toGroupUpdate(msg(group, '/baocao@hailongbot homqua'), { botUsername: 'HaiLongBot' })).toEqual({
      ...cmd,
      chatId: '-100198',
      arg: 'homqua',
    });
    expect(toGroupUpdate(msg({ id: -5, type: 'group' }, '/baocao'))).toEqual({ ...cmd, chatId: '-5' });
  });

  test('ignores other bots, other text and private chats; the survey still drops group messages', () => {
    const ours = { botUsername: 'HaiLongBot' };
    expect(toGroupUpdate(msg(group, '/baocao@otherbot'), ours)).toBeNull();
    expect(toGroupUpdate(msg(group, 'xin chào'), ours)).toBeNull();
    expect(toGroupUpdate(msg(group, '/baocaox'), ours)).toBeNull();
    expect(toGroupUpdate(msg({ id: 1001, type: 'private' }, '/baocao'), ours)).toBeNull();
    expect(toInboundEvent(msg(group, '/baocao'))).toBeNull();
    expect(toInboundEvent(msg({ id: 1001, type: 'private' }, '/baocao'))).toMatchObject({
      input: { kind: 'command', name: 'help' },
    });
  });
});

describe('digest text', () => {
  const share = (satisfied: number, n: number) =>
    criterionShare({ n, satisfied, dissatisfied: n - satisfied, na: 0 });
  const base: DigestFigures = {
    unitCode: '19870',
    unitName: 'Xã Quảng Thái',
    day: '2025-06-02',
    asOf: null,
    responses: 40,
    excludedResponses: 2,
    flaggedResponses: 3,
    overall: meanShare([share(36, 40), share(20, 25)]),
    elements: { TIEP_CAN: share(36, 40), TTHC: share(20, 25) },
    minN: 30,
    newCases: 2,
    overdueCases: 7,
    overdueDossiers: ['D1', 'D2', 'D3', 'D4', 'D5'],
  };

  test('shows responses, the index with n and interval, elements under the minimum as "chưa đủ dữ liệu", cases', () => {
    const text = renderDigest(base);
    expect(text).toContain('📊 Báo cáo ngày 02/06/2025');
    expect(text).toContain('Đơn vị: Xã Quảng Thái (19870)');
    expect(text).toContain('không phải chỉ số SIPAS chính thức');
    expect(text).toContain('Phiếu hoàn thành: 40 (đã loại 2 phiếu khỏi chỉ số)');
    expect(text).toContain('Phiếu nghi vấn cần xem xét: 3');
    expect(text).toMatch(/Chỉ số chung: 85,0% \(n=65; KTC 95%: \d+,\d%–\d+,\d%\)/);
    expect(text).toContain('• Tiếp cận dịch vụ: 90,0% (n=40)');
    expect(text).toContain('• Thủ tục hành chính: chưa đủ dữ liệu (n=25 < 30)');
    expect(text).toContain('Phản ánh không hài lòng mới: 2');
    expect(text).toContain('Phản ánh quá hạn chưa xử lý: 7 (hồ sơ D1, D2, D3, D4, D5 và 2 hồ sơ khác)');
  });

  test('a day without responses says so; "today so far" shows the time', () => {
    const empty = {
      ...base,
      responses: 0,
      excludedResponses: 0,
      flaggedResponses: 0,
      overall: meanShare([]),
      elements: {},
      newCases: 0,
      overdueCases: 0,
      overdueDossiers: [],
      asOf: new Date('2025-06-02T03:15:00Z'),
    };
    const text = renderDigest(empty);
    expect(text).toContain('Báo cáo hôm nay 02/06/2025 (đến 10:15)');
    expect(text).toContain('Phiếu hoàn thành: 0\n');
    expect(text).toContain('Chỉ số chung: chưa có phiếu');
    expect(text).not.toContain('Theo yếu tố');
    expect(text).toContain('Phản ánh quá hạn chưa xử lý: 0');
  });
});
