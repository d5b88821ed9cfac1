import { InvalidArgumentError } from 'commander';

/** A `--from`/`--to` day option: YYYY-MM-DD (an Asia/Ho_Chi_Minh day), checked by commander. */
export function parseDay(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidArgumentError(`ngày không hợp lệ / invalid day "${value}": expected YYYY-MM-DD`);
  return value;
}
