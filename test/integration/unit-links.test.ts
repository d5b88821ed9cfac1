import { expandUnits, scopedUnits, UnitAccessError, UnitLinks } from '../../lib/auth/scope';
import { Unit } from '../../models/unit';
import { seedUnits } from '../support/api';
import { connectTestDb, dropTestDb } from '../support/services';

/**
 * Unit scope from one read of the tree (UnitLinks): the same units as walking it level by level
 * with a query per level, as it was done before, for every unit of the seed data and a deeper,
 * merged tree beside it.
 */

/** The former walk, one `$or` query per level: the oracle. */
async function walked(codes: string[]): Promise<string[]> {
  const all = new Set(codes);
  let frontier = [...codes];
  for (let depth = 0; depth < 16 && frontier.length > 0; depth++) {
    const below = await Unit.find(
      { $or: [{ parentCode: { $in: frontier } }, { successorCode: { $in: frontier } }] },
      { code: 1 },
    ).lean();
    frontier = below.map((u) => u.code).filter((c) => !all.has(c));
    frontier.forEach((c) => all.add(c));
  }
  return [...all].sort();
}

beforeAll(async () => {
  await connectTestDb('unitlinks');
  await seedUnits();
  // A chain deeper than the seed's, a merger into a unit of another branch, and a unit that is
  // both below and merged into the same unit.
  await Unit.insertMany([
    { code: 'L1', name: 'L1', level: 'province' },
    { code: 'L2', name: 'L2', level: 'district', parentCode: 'L1' },
    { code: 'L3', name: 'L3', level: 'commune', parentCode: 'L2' },
    { code: 'L4', name: 'L4', level: 'commune', parentCode: 'L3', successorCode: 'M1' },
    { code: 'M1', name: 'M1', level: 'commune', parentCode: 'L1' },
    { code: 'M2', name: 'M2', level: 'commune', parentCode: 'M1', successorCode: 'M1' },
  ]);
});
afterAll(async () => {
  await dropTestDb();
});

test('every unit’s scope from one read equals the level-by-level walk', async () => {
  const links = await UnitLinks.read();
  const codes = (await Unit.find({}, { code: 1 }).lean()).map((u) => u.code);
  expect(codes.length).toBeGreaterThan(15);
  for (const code of codes) expect(links.expand([code])).toEqual(await walked([code]));
  expect(await expandUnits(['477', 'L2'])).toEqual(await walked(['477', 'L2']));
  expect(links.expand(['M1'])).toEqual(['L4', 'M1', 'M2']);
  // A code with no unit is its own scope, as before.
  expect(links.expand(['NO-SUCH'])).toEqual(['NO-SUCH']);
});

test('a scoped figure covers only the caller’s units, and a unit outside them is refused', async () => {
  const links = await UnitLinks.read();
  const allowed = links.expand(['L2']);
  expect(await scopedUnits('L3', allowed, links)).toEqual(['L3', 'L4']);
  await expect(scopedUnits('M1', allowed, links)).rejects.toBeInstanceOf(UnitAccessError);
  expect(await scopedUnits('L1', null)).toEqual(await walked(['L1']));
});
