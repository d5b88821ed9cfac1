import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Eta } from 'eta';
import { formatFor, translator } from '../../bot/http/console/i18n';
import { manage } from '../../bot/http/console/messages/manage';
import { flagDetail, type FlagRow } from '../../bot/http/console/pages/manage-model';
import { overview } from '../../bot/http/console/messages/overview';
import {
  pathTo,
  periodOptions,
  roots,
  treeOptions,
  type UnitRow,
} from '../../bot/http/console/pages/overview-model';
import { dayText, parseDay, readDays } from '../../bot/http/console/pages/day-input';
import { unitNamer } from '../../bot/http/console/pages/unit-names';
import { safeNext } from '../../bot/http/console/security';

const VIEWS = join(__dirname, '..', '..', 'bot', 'http', 'console', 'views');

test('every console template compiles', () => {
  const eta = new Eta({ views: VIEWS, useWith: false });
  const bad: string[] = [];
  for (const f of readdirSync(VIEWS).filter((x) => x.endsWith('.eta')))
    try {
      eta.compile(readFileSync(join(VIEWS, f), 'utf8'));
    } catch (err) {
      bad.push(`${f}: ${(err as Error).message.split('\n')[0]}`);
    }
  expect(bad).toEqual([]);
});

test('after sign-in only a console path is followed', () => {
  expect(safeNext('/admin?unit=46&period=2025')).toBe('/admin?unit=46&period=2025');
  expect(safeNext('/admin/cases/abc')).toBe('/admin/cases/abc');
  for (const bad of [
    '//evil.example',
    'https://evil.example/admin',
    '/admin/../x',
    '/\\evil',
    '/adminx',
    '/admin/login',
    undefined,
  ])
    expect([bad, safeNext(bad)]).toEqual([bad, '/admin']);
});

const u = (code: string, parentCode: string | null, o: Partial<UnitRow> = {}): UnitRow => ({
  code,
  name: code,
  level: 'commune',
  parentCode,
  validTo: null,
  successorCode: null,
  ...o,
});

test('a commune’s merged predecessors sit under it, and the existing commune comes first', () => {
  const units = [
    u('19870', '477', { validTo: '2025-06-30T16:59:59Z', successorCode: 'QD-DAN-DIEN' }),
    u('QD-DAN-DIEN', '46'),
  ];
  expect(roots(units).map((x) => x.code)).toEqual(['QD-DAN-DIEN']);
  expect(pathTo(units, '19870').map((x) => x.code)).toEqual(['QD-DAN-DIEN', '19870']);
  const t = translator('vi', overview);
  expect(treeOptions(units, t).map((o) => o.label)).toEqual([
    'QD-DAN-DIEN',
    '\u00a0\u00a019870 (đến 30/06/2025)',
  ]);
});

test('the period list: three years, and the quarters and months so far of the year looked at', () => {
  const t = translator('vi', overview);
  const now = new Date('2026-05-10T03:00:00Z');
  const keys = periodOptions(t, '2025-09', now).map((p) => p.key);
  expect(keys.slice(0, 2)).toEqual(['2026', '2025']);
  expect(keys).toContain('2025-Q4');
  expect(keys).toContain('2025-12');
  expect(keys).not.toContain('2026-06');
  expect(periodOptions(t, '2026', now).map((p) => p.label)).toContain('Quý II/2026');
});

test('a unit reads as its name with its code; a code outside the caller’s units stays the code', () => {
  const name = unitNamer([
    u('QD-DAN-DIEN', '46', { name: 'Xã Đan Điền' }),
    u('19870', 'QD-DAN-DIEN', { name: 'Xã Quảng Thái' }),
  ]);
  expect(['QD-DAN-DIEN', '19870', '477'].map(name)).toEqual([
    'Xã Đan Điền (QD-DAN-DIEN)',
    'Xã Quảng Thái (19870)',
    '477',
  ]);
});

test('a flag’s counts are worded in the reader’s language; a flag stored before them shows its stored text', () => {
  const flag = (o: Partial<FlagRow>): FlagRow => ({
    responseId: 'r1',
    unitCode: '19870',
    day: '2026-12-01',
    reason: 'identical_burst',
    params: null,
    detail: null,
    excluded: false,
    ...o,
  });
  const burst = flag({ params: { count: 1234, windowMin: 10 } });
  const contact = flag({ reason: 'shared_contact', params: { applicants: 3, windowHours: 24 } });
  const vi = (r: FlagRow) => flagDetail(r, translator('vi', manage), formatFor('vi').count);
  const en = (r: FlagRow) => flagDetail(r, translator('en', manage), formatFor('en').count);
  expect(vi(burst)).toBe('1.234 phiếu giống hệt nhau trong 10 phút');
  expect(en(burst)).toBe('1,234 identical answers within 10 min');
  expect(vi(contact)).toBe('Một tài khoản trả lời cho 3 người nộp hồ sơ trong 24 giờ');
  expect(vi(flag({ reason: 'counter_network', params: {} }))).toBeNull();
  expect(vi(flag({ detail: '5 identical within 10 min' }))).toBe('5 identical within 10 min');
});

test('a typed day is read as dd/mm/yyyy (or the API’s own form); anything else is refused', () => {
  expect(['31/12/2026', '1/7/2025', '2026-12-31'].map(parseDay)).toEqual([
    '2026-12-31',
    '2025-07-01',
    '2026-12-31',
  ]);
  expect(['31/02/2026', '12/31/2026', '2026-13-01', 'hôm qua', '31.12.2026'].map(parseDay)).toEqual([
    null,
    null,
    null,
    null,
    null,
  ]);
  expect(dayText('2026-12-31')).toBe('31/12/2026');
  expect(readDays({ from: '31/02/2026', to: '01/01/2026' }, ['from', 'to'], 'bad')).toEqual({
    days: { to: '2026-01-01' },
    errors: { from: 'bad' },
  });
});
