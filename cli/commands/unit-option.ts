import { UserError } from '../../lib/user-error';
import { Unit } from '../../models/unit';

/**
 * Refuses unit codes that are not in the units collection: a mistyped code would otherwise give
 * an empty report or reach nobody, without a word.
 */
export async function requireUnits(codes: readonly string[]): Promise<void> {
  if (codes.length === 0) return;
  const known = new Set(
    (await Unit.find({ code: { $in: [...codes] } }, { _id: 0, code: 1 }).lean()).map((u) => u.code),
  );
  const missing = codes.filter((c) => !known.has(c));
  if (missing.length > 0) {
    const list = missing.map((c) => `"${c}"`).join(', ');
    throw new UserError(
      `không có đơn vị mã ${list} (các đơn vị do "hailong seed" tạo hoặc đã nhập)`,
      `unknown unit ${list}`,
    );
  }
}
