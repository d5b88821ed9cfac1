import { parsePeriod } from '../../lib/time';
import { UserError } from '../../lib/user-error';

/** A `--period` option: YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD (Asia/Ho_Chi_Minh), checked by commander. */
export function parsePeriodOption(value: string): string {
  try {
    parsePeriod(value);
  } catch {
    throw new UserError(
      `kỳ không hợp lệ "${value}": cần YYYY, YYYY-Qn, YYYY-MM hoặc YYYY-MM-DD`,
      `invalid period "${value}": expected YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD`,
      2,
    );
  }
  return value;
}
