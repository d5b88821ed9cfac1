import { join } from 'node:path';
import { Eta } from 'eta';
import { formatFor, translator } from '../../bot/http/console/i18n';
import { common } from '../../bot/http/console/messages/common';
import { manage } from '../../bot/http/console/messages/manage';
import { overview } from '../../bot/http/console/messages/overview';
import { when } from '../../bot/http/console/pages/cases-model';
import {
  auditFilters,
  duration,
  flagDetail,
  formErrors,
  lastDays,
  partsFor,
  queryOf,
  unitList,
  zaloHealth,
} from '../../bot/http/console/pages/manage-model';
import { dayText } from '../../bot/http/console/pages/day-input';
import { unitNamer } from '../../bot/http/console/pages/unit-names';
import { ROLE_PERMISSIONS } from '../../lib/auth/roles';

const t = translator('vi', manage, overview, common);

test('each role sees the parts its permissions allow: admin all, district and unit the flags, others none', () => {
  const parts = (role: keyof typeof ROLE_PERMISSIONS) =>
    partsFor([...ROLE_PERMISSIONS[role]]).map((p) => p.part);
  expect(parts('admin')).toEqual(['users', 'keys', 'audit', 'flags', 'system']);
  expect(parts('district')).toEqual(['flags']);
  expect(parts('unit')).toEqual(['flags']);
  expect(parts('broadcaster')).toEqual([]);
  expect(parts('viewer')).toEqual([]);
});

test('unit codes typed in one field: commas, semicolons or spaces, each once', () => {
  expect(unitList(' QD-DAN-DIEN, 19870;19870  477 ')).toEqual(['QD-DAN-DIEN', '19870', '477']);
  expect(unitList('')).toEqual([]);
  expect(unitList(undefined)).toEqual([]);
});

test('422 details go to the field they name (unitCodes.0 is the unit field), the rest to the form', () => {
  expect(
    formErrors(
      {
        error: 'invalid_request',
        message: 'Dữ liệu không hợp lệ. / Invalid request.',
        details: [
          { path: 'unitCodes.0', in: 'body', message: 'mã đơn vị không có / unknown unit' },
          { path: 'unitCodes.1', in: 'body', message: 'second' },
          { path: 'password', in: 'body', message: 'quá ngắn / too short' },
        ],
      },
      'vi',
    ),
  ).toEqual({ unitCodes: 'mã đơn vị không có', password: 'quá ngắn' });
  expect(formErrors({ error: 'conflict', message: 'Đã có / Exists' }, 'en')).toEqual({ form: 'Exists' });
});

test('the Zalo connection: worst state first', () => {
  expect(zaloHealth(null)).toBe('off');
  expect(zaloHealth({ known: false })).toBe('unknown');
  expect(zaloHealth({ known: true, connected: false })).toBe('disconnected');
  expect(zaloHealth({ known: true, connected: true, refreshFailed: true, expiresInS: 9000 })).toBe('failed');
  expect(zaloHealth({ known: true, connected: true, refreshFailed: false, expiresInS: -5 })).toBe('expired');
  expect(zaloHealth({ known: true, connected: true, refreshFailed: false, expiresInS: 600 })).toBe('soon');
  expect(zaloHealth({ known: true, connected: true, refreshFailed: false, expiresInS: 90_000 })).toBe('ok');
});

test('durations, audit filters, query strings and the default period', () => {
  expect(duration(90_000, t)).toBe('1 ngày 1 giờ');
  expect(duration(3_900, t)).toBe('1 giờ 5 phút');
  expect(duration(-90, t)).toBe('1 phút');
  expect(auditFilters({ actor: ' qt.admin ', action: '', before: '12', evil: 'x' })).toEqual({
    actor: 'qt.admin',
  });
  expect(queryOf({ unit: '19870', from: '', to: '2026-12-02' })).toBe('?unit=19870&to=2026-12-02');
  expect(queryOf({})).toBe('');
  // 17:30 UTC on 1/12 is already 2/12 in Asia/Ho_Chi_Minh.
  expect(lastDays(30, new Date('2026-12-01T17:30:00Z'))).toEqual({ from: '2026-11-03', to: '2026-12-02' });
});

/** Every template of the section renders with data of the API's shapes (no browser needed). */
describe('the templates render', () => {
  const eta = new Eta({
    views: join(__dirname, '..', '..', 'bot', 'http', 'console', 'views'),
    useWith: false,
  });
  const me = {
    user: {
      id: '1',
      username: 'qt.admin',
      role: 'admin',
      unitCodes: [],
      permissions: [...ROLE_PERMISSIONS.admin],
    },
    csrfToken: 'c',
    signedInAt: '2026-12-01T00:00:00Z',
  };
  const base = {
    t,
    fmt: formatFor('vi'),
    lang: 'vi',
    me,
    nav: [],
    csrf: 'c',
    here: '/admin/manage',
    title: 'Quản trị',
    asset: (n: string) => `/admin/assets/${n}`,
    scripts: [],
    parts: partsFor(me.user.permissions as never),
    part: null,
    when,
    dur: (s: number) => duration(s, t),
    // What pages/manage.ts and manage-accounts.ts hand the templates beside their data.
    unitName: unitNamer(
      [
        ['QD-DAN-DIEN', 'Xã Đan Điền'],
        ['19870', 'Xã Quảng Phú'],
      ].map(([code, name]) => ({
        code,
        name,
        level: 'commune',
        parentCode: null,
        validTo: null,
        successorCode: null,
      })),
    ),
    flagDetail: (row: Parameters<typeof flagDetail>[0]) =>
      flagDetail(row, t, (n) => formatFor('vi').count(n)),
    dayText,
    errors: {},
    values: {},
  };
  const user = {
    username: 'canbo.moi',
    role: 'unit',
    unitCodes: ['QD-DAN-DIEN'],
    disabled: false,
    disabledAt: null,
    lastLoginAt: null,
    passwordChangedAt: '2026-12-01T01:00:00Z',
    createdAt: '2026-12-01T01:00:00Z',
    createdBy: 'qt.admin',
  };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['manage', {}, 'Tài khoản'],
    [
      'manage-users',
      { users: [user], roles: ['admin', 'unit'], errors: { 'create-password': 'quá ngắn' } },
      'quá ngắn',
    ],
    [
      'manage-user',
      { user, roles: ['unit'], done: 'created', errors: { 'disable-confirm': 'x' } },
      'Đã tạo tài khoản.',
    ],
    [
      'manage-keys',
      {
        keys: [
          {
            keyId: 'abcdefabcdef',
            name: 'Một cửa',
            unitCodes: [],
            hmac: false,
            createdBy: 'qt.admin',
            createdAt: null,
            lastUsedAt: null,
            revokedAt: null,
          },
        ],
        created: { key: 'hl_abcdefabcdef_s3cret', signingSecret: null, name: 'Một cửa' },
        done: null,
        errors: { 'revoke-abcdefabcdef-confirm': 'xác nhận' },
      },
      'hl_abcdefabcdef_s3cret',
    ],
    [
      'manage-audit',
      {
        filters: { actor: 'qt.admin' },
        entries: [
          {
            seq: 3,
            at: '2026-12-01T01:00:00Z',
            actor: 'qt.admin',
            action: 'user.created',
            targetType: 'user',
            targetId: 'canbo.moi',
            unitCode: null,
            reason: null,
          },
        ],
        verify: {
          ok: false,
          checked: 3,
          head: null,
          firstBreak: { problem: 'hash_mismatch', seq: 2, id: 'x', expectedSeq: 2 },
        },
        exportHref: '/api/v1/audit/export',
        verifyHref: '/admin/manage/audit?verify=1',
        next: null,
      },
      'BỊ ĐỨT tại mục số 2',
    ],
    [
      'manage-flags',
      {
        units: [{ code: '19870', label: 'Xã Quảng Phú' }],
        filter: { unit: '19870', from: '2026-11-01', to: '2026-12-01' },
        flags: [
          {
            responseId: 'r1',
            unitCode: '19870',
            day: '2026-11-30',
            reason: 'identical_burst',
            detail: null,
            excluded: false,
          },
        ],
        filterErrors: {},
        canExclude: true,
        errors: { 'exclude-r1-reason': 'ít nhất 5 ký tự' },
        values: { form: 'exclude-r1', reason: 'abc' },
        done: null,
        back: '/admin/manage/flags',
      },
      'ít nhất 5 ký tự',
    ],
    [
      'manage-system',
      {
        p: {
          checkedAt: '2026-12-01T01:00:00Z',
          telegram: { configured: false, lastSuccessAt: null, lastSuccessAgoS: null },
          zalo: {
            configured: true,
            lastSuccessAt: '2026-12-01T00:58:30Z',
            lastSuccessAgoS: 90,
            token: {
              known: true,
              connected: true,
              expiresAt: '2026-12-02T02:00:00Z',
              expiresInS: 90_000,
              refreshedAt: null,
              refreshFailed: false,
            },
          },
        },
        health: 'ok',
        queuesHref: '/admin/queues',
      },
      'còn 1 ngày 1 giờ',
    ],
  ];
  test.each(cases)('%s', (view, data, shows) => {
    const html = eta.render(`./${view}`, { ...base, ...data });
    expect(html).toContain(shows);
  });

  // A refused day: the page asked the API nothing, so it shows the error under the field and the
  // typed text, never an empty result it did not look for, nor the list's heading over nothing.
  test.each([
    [
      'manage-audit',
      {
        filters: { from: '31/02/2026' },
        entries: null,
        verify: null,
        exportHref: '',
        verifyHref: '',
        next: null,
        errors: { from: t('day.bad') },
      },
      [t('audit.none'), 'id="audit-h"'],
    ],
    [
      'manage-flags',
      {
        units: [],
        filter: { unit: '', from: '31/02/2026', to: '2026-12-01' },
        flags: null,
        filterErrors: { from: t('day.bad') },
        canExclude: false,
        done: null,
        back: '',
      },
      [t('flags.none'), 'id="flags-h"'],
    ],
  ] as Array<[string, Record<string, unknown>, [string, string]]>)(
    '%s with a bad day: the error, not "none" nor the list heading',
    (view, data, [none, heading]) => {
      const html = eta.render(`./${view}`, { ...base, ...data });
      expect(html).toContain(t('day.bad'));
      expect(html).toContain('value="31/02/2026"');
      expect(html).not.toContain(none);
      expect(html).not.toContain(heading);
    },
  );
});
