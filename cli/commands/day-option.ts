import { UserError } from '../../lib/user-error';

/** A `--from`/`--to` day option: YYYY-MM-DD (an Asia/Ho_Chi_Minh day), checked by commander. */
export function parseDay(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value))
    throw new UserError(
      `ngày không hợp lệ "${value}": cần dạng YYYY-MM-DD`,
      `invalid day "${value}": expected YYYY-MM-DD`,
      2,
    );
  return value;
}
