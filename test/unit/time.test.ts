import {
  formatDate,
  formatDateTime,
  hcmDay,
  hcmMonth,
  hcmQuarter,
  hcmYear,
  parsePeriod,
} from '../../lib/time';

describe('Asia/Ho_Chi_Minh day keys', () => {
  test('16:59:59 UTC is still the same day in Vietnam, 17:00 UTC is the next', () => {
    expect(hcmDay(new Date('2025-03-10T16:59:59.999Z'))).toBe('2025-03-10');
    expect(hcmDay(new Date('2025-03-10T17:00:00.000Z'))).toBe('2025-03-11');
  });

  test('a UTC evening on the last day of a month, quarter and year belongs to the next one', () => {
    const d = new Date('2024-12-31T17:30:00Z');
    expect(hcmDay(d)).toBe('2025-01-01');
    expect(hcmMonth(d)).toBe('2025-01');
    expect(hcmQuarter(d)).toBe('2025-Q1');
    expect(hcmYear(d)).toBe('2025');
  });

  test('month, quarter and year keys of a mid-year instant', () => {
    const d = new Date('2025-06-30T16:00:00Z');
    expect(hcmMonth(d)).toBe('2025-06');
    expect(hcmQuarter(d)).toBe('2025-Q2');
    expect(hcmYear(d)).toBe('2025');
  });
});

describe('formatting for Vietnamese reports', () => {
  test('dd/MM/yyyy and dd/MM/yyyy HH:mm in Vietnam time', () => {
    const d = new Date('2025-07-01T02:05:00Z');
    expect(formatDate(d)).toBe('01/07/2025');
    expect(formatDateTime(d)).toBe('01/07/2025 09:05');
    expect(formatDate(new Date('2025-06-30T17:00:00Z'))).toBe('01/07/2025');
  });
});

describe('parsePeriod', () => {
  test('a year runs from 1 January 00:00 Vietnam time (17:00 UTC the day before)', () => {
    const p = parsePeriod('2025');
    expect(p.kind).toBe('year');
    expect(p.start.toISOString()).toBe('2024-12-31T17:00:00.000Z');
    expect(p.end.toISOString()).toBe('2025-12-31T17:00:00.000Z');
    expect([p.firstDay, p.lastDay]).toEqual(['2025-01-01', '2025-12-31']);
  });

  test('a quarter spans three months', () => {
    const p = parsePeriod('2025-Q3');
    expect(p.kind).toBe('quarter');
    expect(p.start.toISOString()).toBe('2025-06-30T17:00:00.000Z');
    expect(p.end.toISOString()).toBe('2025-09-30T17:00:00.000Z');
    expect([p.firstDay, p.lastDay]).toEqual(['2025-07-01', '2025-09-30']);
  });

  test('a month, including February of a leap year', () => {
    const p = parsePeriod('2024-02');
    expect(p.kind).toBe('month');
    expect(p.start.toISOString()).toBe('2024-01-31T17:00:00.000Z');
    expect(p.end.toISOString()).toBe('2024-02-29T17:00:00.000Z');
    expect(p.lastDay).toBe('2024-02-29');
  });

  test('a single day', () => {
    const p = parsePeriod('2025-03-10');
    expect(p.start.toISOString()).toBe('2025-03-09T17:00:00.000Z');
    expect(p.end.toISOString()).toBe('2025-03-10T17:00:00.000Z');
  });

  test('the end is exclusive: the last instant belongs to the period, the end does not', () => {
    const p = parsePeriod('2025-03');
    const last = new Date(p.end.getTime() - 1);
    expect(hcmMonth(last)).toBe('2025-03');
    expect(hcmMonth(p.end)).toBe('2025-04');
    expect(hcmMonth(p.start)).toBe('2025-03');
  });

  test.each(['2025-13', '2025-Q5', '25', '2025-02-30', '2025-1', 'abc', ''])('refuses "%s"', (key) => {
    expect(() => parsePeriod(key)).toThrow(/invalid period/);
  });
});
