import { hashPhone, normalisePhone, phoneHashOf } from '../../lib/phone';
import { parseDossierEvent } from '../../bot/survey/dossier-event';
import { parseDvcEvent } from '../../bot/survey/dvc-event';

const valid = {
  code: 'H57.22.10-250314-0001',
  procedureCode: '1.001234',
  procedureName: 'Đăng ký khai sinh',
  unitCode: '19867',
  channel: 'online',
  onlineLevel: 4,
  receivedAt: '2025-03-14T09:30:00+07:00',
  dueAt: '2025-03-17T17:00:00+07:00',
  finishedAt: '2025-03-16T10:00:00+07:00',
  returnedAt: null,
  status: 'finished',
  officerId: 'cb-017',
  applicant: { phone: '0912 345 678', telegramChatId: 123456789 },
};

describe('phone numbers', () => {
  test.each([
    ['0912345678', '84912345678'],
    ['0912 345 678', '84912345678'],
    ['+84 912-345-678', '84912345678'],
    ['84912345678', '84912345678'],
    ['0084912345678', '84912345678'],
    ['912345678', '84912345678'],
    ['(0234) 3 822 222', '842343822222'],
  ])('normalises %s to %s', (raw, e164) => {
    expect(normalisePhone(raw)).toBe(e164);
  });

  test.each(['', 'abc', '+1 202 555 0100', '01234', '0612345678', '091234567890'])('refuses %p', (raw) => {
    expect(normalisePhone(raw)).toBeNull();
  });

  test('hashes the same number the same way whatever its spelling, and differently under another key', () => {
    const a = phoneHashOf('0912 345 678', 'k1');
    expect(a).toBe(phoneHashOf('+84912345678', 'k1'));
    expect(a).toMatch(/^[a-f0-9]{64}$/);
    expect(a).not.toBe(hashPhone('84912345678', 'k2'));
    expect(a).not.toContain('912345678');
  });
});

describe('dossier event', () => {
  test('accepts the contract shape and converts dates', () => {
    const r = parseDossierEvent(valid);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.finishedAt?.toISOString()).toBe('2025-03-16T03:00:00.000Z');
    expect(r.event.returnedAt).toBeNull();
    expect(r.event.onlineLevel).toBe(4);
  });

  test('reads a date without an offset in Asia/Ho_Chi_Minh', () => {
    const r = parseDossierEvent({ ...valid, finishedAt: '2025-03-16T10:00:00' });
    expect(r.ok && r.event.finishedAt?.toISOString()).toBe('2025-03-16T03:00:00.000Z');
  });

  test('names the path of every wrong field', () => {
    const r = parseDossierEvent({
      ...valid,
      channel: 'fax',
      receivedAt: 'yesterday',
      applicant: { phone: '12' },
      code: '',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect([...new Set(r.issues.map((i) => i.path))].sort()).toEqual([
      'applicant.phone',
      'channel',
      'code',
      'receivedAt',
    ]);
  });

  test('requires the finishing date of a finished dossier', () => {
    const r = parseDossierEvent({ ...valid, finishedAt: null });
    expect(!r.ok && r.issues.map((i) => i.path)).toEqual(['finishedAt']);
  });

  test('refuses an online level on an in-person dossier and a code with a colon', () => {
    const r = parseDossierEvent({ ...valid, channel: 'in_person', code: 'A:B' });
    expect(!r.ok && r.issues.map((i) => i.path).sort()).toEqual(['code', 'onlineLevel']);
  });
});

describe('national portal (DVC) shape', () => {
  const dvc = {
    MaHoSo: 'H57.22.10-250314-0002',
    MaTTHC: '1.001234',
    TenTTHC: 'Đăng ký khai sinh',
    KenhThucHien: 2,
    MucDo: 3,
    NgayTiepNhan: '20250314093000',
    NgayHenTra: '20250317170000',
    NgayKetThucXuLy: '20250316100000',
    NgayTra: '20250316150000',
    TrangThaiHoSo: '10',
    DonViXuLy: '19867',
    SoDienThoai: '0912345678',
    QuaTrinhXuLy: [{ NguoiXuLy: 'cb-017', PhongBanXuLy: 'Một cửa', ThoiDiemXuLy: '20250314093000' }],
  };

  test('maps codes, portal dates and the first step-log officer', () => {
    const r = parseDvcEvent(dvc);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event).toMatchObject({
      code: dvc.MaHoSo,
      channel: 'online',
      onlineLevel: 3,
      status: 'returned',
      officerId: 'cb-017',
      unitCode: '19867',
    });
    expect(r.event.returnedAt?.toISOString()).toBe('2025-03-16T08:00:00.000Z');
  });

  test('reports wrong fields under the portal names', () => {
    const r = parseDvcEvent({ ...dvc, KenhThucHien: 7, NgayTra: 'không rõ', MaHoSo: null });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path).sort()).toEqual(['KenhThucHien', 'MaHoSo', 'NgayTra']);
  });
});
