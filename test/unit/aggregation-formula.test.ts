import {
  elementShares,
  emptyCounts,
  meanShare,
  criterionShare,
  NOT_ENOUGH_DATA,
  rankUnits,
  ratio766,
  responseRate,
  scoreAnswer,
  wilson95,
  type Counts,
} from '../../indices/formula';

const c = (n: number, satisfied: number, dissatisfied = 0, na = 0): Counts => ({ n, satisfied, dissatisfied, na });

describe('Wilson 95% interval', () => {
  test('matches the published values for 8 of 10', () => {
    const ci = wilson95(8, 10)!;
    expect(ci.low).toBeCloseTo(0.4902, 4);
    expect(ci.high).toBeCloseTo(0.9433, 4);
  });
  test('stays inside [0, 1] at the edges and is null without data', () => {
    expect(wilson95(0, 10)!.low).toBe(0);
    expect(wilson95(0, 10)!.high).toBeCloseTo(0.2775, 4);
    expect(wilson95(10, 10)!.high).toBe(1);
    expect(wilson95(10, 10)!.low).toBeCloseTo(0.7225, 4);
    expect(wilson95(0, 0)).toBeNull();
  });
  test('narrows as n grows', () => {
    const a = wilson95(80, 100)!;
    const b = wilson95(800, 1000)!;
    expect(b.high - b.low).toBeLessThan(a.high - a.low);
  });
});

describe('scoring answers', () => {
  test('4 and 5 are satisfied, 1 and 2 dissatisfied, 3 neither, 0 not applicable', () => {
    expect(scoreAnswer(5)).toEqual(c(1, 1));
    expect(scoreAnswer(4)).toEqual(c(1, 1));
    expect(scoreAnswer(3)).toEqual(c(1, 0));
    expect(scoreAnswer(2)).toEqual(c(1, 0, 1));
    expect(scoreAnswer(1)).toEqual(c(1, 0, 1));
    expect(scoreAnswer(0)).toEqual(c(0, 0, 0, 1));
  });
  test('non-scale values are not counted', () => {
    expect(scoreAnswer('yes')).toBeNull();
    expect(scoreAnswer(['cho'])).toBeNull();
    expect(scoreAnswer(7)).toBeNull();
    expect(scoreAnswer(2.5)).toBeNull();
  });
});

describe('indices', () => {
  test('a criterion index leaves not-applicable answers out of n', () => {
    const s = criterionShare(c(4, 3, 1, 6));
    expect(s.index).toBe(0.75);
    expect(s.n).toBe(4);
  });
  test('an element is the mean of its criteria, not the pooled share', () => {
    // 1/1 and 1/3: the mean is 2/3, the pooled share would be 2/4.
    const e = meanShare([criterionShare(c(1, 1)), criterionShare(c(3, 1))]);
    expect(e.index).toBeCloseTo(2 / 3, 10);
    expect(e.n).toBe(4);
    expect(e.satisfied).toBe(2);
  });
  test('overall is the mean of the five elements, TONG_THE shown apart', () => {
    const m = new Map<string, Counts>([
      ['TIEP_CAN|q1', c(10, 10)],
      ['TTHC|q2', c(10, 8)],
      ['CONG_CHUC|q3', c(10, 6)],
      ['KET_QUA|q4', c(10, 4)],
      ['PAKN|q5', c(4, 2, 0, 6)],
      ['TONG_THE|q6', c(10, 0)],
    ]);
    const { elements, overall } = elementShares(m);
    expect(Object.keys(elements)).toEqual(['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE']);
    expect(elements.PAKN.index).toBe(0.5);
    expect(overall.index).toBeCloseTo((1 + 0.8 + 0.6 + 0.4 + 0.5) / 5, 10);
    expect(elements.TONG_THE.index).toBe(0);
  });
  test('an element without answers has a null index and does not drag the overall down', () => {
    const { elements, overall } = elementShares(new Map([['TIEP_CAN|q1', c(2, 1)]]));
    expect(elements.TTHC.index).toBeNull();
    expect(elements.TTHC.ci95).toBeNull();
    expect(overall.index).toBe(0.5);
    expect(meanShare([]).index).toBeNull();
    expect(emptyCounts()).toEqual(c(0, 0));
  });
});

describe('Decision 766 ratio and response rate', () => {
  test('counts dossiers without a dissatisfied answer or open complaint over completed dossiers', () => {
    const r = ratio766(200, 14);
    expect(r.numerator).toBe(186);
    expect(r.denominator).toBe(200);
    expect(r.value).toBe(0.93);
    expect(ratio766(0, 0).value).toBeNull();
  });
  test('response rate divides completed responses by completed dossiers', () => {
    expect(responseRate(50, 200).value).toBe(0.25);
    expect(responseRate(50, 200).ci95).not.toBeNull();
    expect(responseRate(5, 0).value).toBeNull();
  });
});

describe('ranking', () => {
  test('ties share a rank and the next rank skips; units under the minimum are "chưa đủ dữ liệu"', () => {
    const rows = rankUnits(
      [
        { unitCode: 'A', responses: 40, index: 0.8 },
        { unitCode: 'B', responses: 50, index: 0.9 },
        { unitCode: 'C', responses: 35, index: 0.8 },
        { unitCode: 'D', responses: 31, index: 0.7 },
        { unitCode: 'E', responses: 29, index: 0.99 },
        { unitCode: 'F', responses: 60, index: null },
      ],
      30,
    );
    expect(rows.map((r) => [r.unitCode, r.rank])).toEqual([
      ['B', 1],
      ['A', 2],
      ['C', 2],
      ['D', 4],
      ['E', null],
      ['F', null],
    ]);
    expect(rows[4].status).toBe(NOT_ENOUGH_DATA);
    expect(rows[0].status).toBe('ranked');
  });
  test('indices equal to four decimals tie', () => {
    const rows = rankUnits([
      { unitCode: 'X', responses: 30, index: 0.81234 },
      { unitCode: 'Y', responses: 30, index: 0.81226 },
    ]);
    expect(rows.map((r) => r.rank)).toEqual([1, 1]);
  });
});
