import { outOfQuiet, planReminders } from '../../bot/survey/schedule';

const quiet = { start: '21:00', end: '07:00' };
const huế = (iso: string) => new Date(`${iso}+07:00`);

describe('quiet hours', () => {
  test('moves a time inside quiet hours to 07:00 the next morning', () => {
    expect(outOfQuiet(huế('2025-03-16T22:15:00'), quiet)).toEqual(huế('2025-03-17T07:00:00'));
    expect(outOfQuiet(huế('2025-03-17T05:59:00'), quiet)).toEqual(huế('2025-03-17T07:00:00'));
  });
  test('leaves daytime alone, including the edges', () => {
    expect(outOfQuiet(huế('2025-03-16T20:59:00'), quiet)).toEqual(huế('2025-03-16T20:59:00'));
    expect(outOfQuiet(huế('2025-03-16T07:00:00'), quiet)).toEqual(huế('2025-03-16T07:00:00'));
  });
});

describe('reminder plan', () => {
  const issuedAt = huế('2025-03-16T20:30:00');
  test('24 h and 72 h after the invitation, out of quiet hours, with stable numbers', () => {
    const plan = planReminders({
      issuedAt,
      expiresAt: huế('2025-03-30T00:00:00'),
      delaysHours: [24, 72],
      max: 2,
      quiet,
    });
    expect(plan).toEqual([
      { n: 1, at: huế('2025-03-17T20:30:00') },
      { n: 2, at: huế('2025-03-19T20:30:00') },
    ]);
  });
  test('a reminder that would fall at night goes out the next morning', () => {
    const plan = planReminders({
      issuedAt,
      expiresAt: huế('2025-03-30T00:00:00'),
      delaysHours: [1.5],
      max: 2,
      quiet,
    });
    expect(plan).toEqual([{ n: 1, at: huế('2025-03-17T07:00:00') }]);
  });
  test('at most max reminders, none after the survey expires', () => {
    expect(
      planReminders({
        issuedAt,
        expiresAt: huế('2025-03-30T00:00:00'),
        delaysHours: [24, 48, 72],
        max: 2,
        quiet,
      }).map((r) => r.n),
    ).toEqual([1, 2]);
    expect(
      planReminders({
        issuedAt,
        expiresAt: huế('2025-03-18T00:00:00'),
        delaysHours: [24, 72],
        max: 2,
        quiet,
      }).map((r) => r.n),
    ).toEqual([1]);
  });
});
