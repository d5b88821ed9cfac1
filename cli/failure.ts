import { types } from 'node:util';
import { CommanderError } from 'commander';
import { ConfigError } from '../config/env';
import { UserError } from '../lib/user-error';

/**
 * The one place the `hailong` command turns an error into what the person at the terminal reads:
 * one line on stderr, Vietnamese first and English in brackets, and an exit code. Ordinary
 * mistakes (a UserError, a bad setting, a wrong command line, a file that cannot be opened, a
 * database that does not answer) never show a stack trace; anything else is a bug, said in one
 * line with the hint to rerun with --debug (or LOG_LEVEL=debug), which adds the stack.
 */
export interface Failure {
  /** What to print on stderr; empty when there is nothing to say (help or version shown). */
  text: string;
  exitCode: number;
}

/** commander's usage errors by code, in Vietnamese (its English message follows in brackets). */
const USAGE_VI: Record<string, string> = {
  'commander.unknownCommand': 'không có lệnh này',
  'commander.unknownOption': 'không có tuỳ chọn này',
  'commander.missingArgument': 'thiếu đối số bắt buộc',
  'commander.optionMissingArgument': 'tuỳ chọn thiếu giá trị',
  'commander.missingMandatoryOptionValue': 'thiếu tuỳ chọn bắt buộc',
  'commander.invalidArgument': 'giá trị không hợp lệ',
  'commander.excessArguments': 'thừa đối số',
  'commander.conflictingOption': 'các tuỳ chọn không dùng cùng nhau được',
};

const FILE_ERRORS: Record<string, [string, string]> = {
  ENOENT: ['không tìm thấy tệp', 'no such file'],
  EACCES: ['không có quyền mở tệp', 'permission denied'],
  EISDIR: ['đây là thư mục, không phải tệp', 'is a directory'],
  ENOTDIR: ['đường dẫn không phải thư mục', 'not a directory'],
};

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

// Node's own errors (fs) may come from another realm (a test runner's sandbox): no instanceof.
const isError = (e: unknown): e is Error => e instanceof Error || types.isNativeError(e);

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

function line(vi: string, en: string): string {
  return `Lỗi: ${oneLine(vi)} (Error: ${oneLine(en)})`;
}

/** The known causes, as a UserError; null for anything else (a bug). */
export function asUserError(err: unknown): UserError | null {
  if (err instanceof UserError) return err;
  if (err instanceof ConfigError) {
    const issues = err.issues.join('; ');
    return new UserError(`cấu hình không hợp lệ: ${issues}`, `invalid configuration: ${issues}`, 2);
  }
  if (err instanceof CommanderError) {
    const en = err.message.replace(/^error: /, '');
    return new UserError(
      `${USAGE_VI[err.code] ?? 'câu lệnh không đúng'}; xem "hailong --help"`,
      `${en}; see "hailong --help"`,
      2,
    );
  }
  if (isError(err) && err.name === 'MongooseServerSelectionError') {
    return new UserError(
      'không kết nối được MongoDB; kiểm tra MONGODB_URI và máy chủ cơ sở dữ liệu (bản demo: "npm run demo" còn chạy không?)',
      `cannot reach MongoDB (${err.message}); check MONGODB_URI and that the server runs (demo: is "npm run demo" still running?)`,
    );
  }
  const sys = err as NodeJS.ErrnoException;
  if (isError(err) && typeof sys.code === 'string' && typeof sys.path === 'string' && FILE_ERRORS[sys.code]) {
    const [vi, en] = FILE_ERRORS[sys.code];
    return new UserError(`${vi}: ${sys.path}`, `${en}: ${sys.path}`);
  }
  return null;
}

export function describeFailure(err: unknown, opts: { debug: boolean }): Failure {
  // Help (asked for, or shown for a bare `hailong`) and --version have already printed.
  if (err instanceof CommanderError && HELP_CODES.has(err.code)) return { text: '', exitCode: err.exitCode };
  const known = asUserError(err);
  if (known) return { text: line(known.vi, known.en), exitCode: known.exitCode };
  const message = isError(err) ? err.message : String(err);
  const summary = `Lỗi ngoài dự kiến: ${oneLine(message)}. Chạy lại với --debug để xem chi tiết (Unexpected error; rerun with --debug or LOG_LEVEL=debug for the stack trace)`;
  if (!opts.debug) return { text: summary, exitCode: 1 };
  return { text: `${summary}\n${isError(err) && err.stack ? err.stack : message}`, exitCode: 1 };
}
