import { pickAssignment, type AssignmentRow } from '../../bot/flow/live-assignments';

const row = (unitCode: string, procedureCode: string, version: number): AssignmentRow => ({
  unitCode,
  procedureCode,
  flowKey: 'default',
  version,
});
const CHAIN = ['19870', 'QD-DAN-DIEN', '477', '46'];

test('the unit and procedure beat the unit, which beats the units above it, which beat every unit', () => {
  const rows = [row('', '', 1), row('477', '', 2), row('QD-DAN-DIEN', '', 3), row('19870', 'p1', 4)];
  expect(pickAssignment(rows, CHAIN, 'p1')?.version).toBe(4);
  expect(pickAssignment(rows, CHAIN, 'p2')?.version).toBe(3);
  expect(pickAssignment(rows, CHAIN, null)?.version).toBe(3);
  expect(pickAssignment(rows.slice(0, 2), CHAIN, 'p2')?.version).toBe(2);
  expect(pickAssignment(rows.slice(0, 1), CHAIN, 'p1')?.version).toBe(1);
});

test("a nearer unit's choice beats a procedure choice further up; every unit's procedure choice comes before every unit's", () => {
  const rows = [row('', '', 1), row('', 'p1', 2), row('477', 'p1', 3), row('QD-DAN-DIEN', '', 5)];
  expect(pickAssignment(rows, CHAIN, 'p1')?.version).toBe(5);
  expect(pickAssignment(rows, ['19999'], 'p1')?.version).toBe(2);
  expect(pickAssignment(rows, ['19999'], 'p9')?.version).toBe(1);
});

test('nothing assigned: null (the latest published version is live)', () => {
  expect(pickAssignment([], CHAIN, 'p1')).toBeNull();
  expect(pickAssignment([row('477', '', 2)], ['19999'], null)).toBeNull();
});
