import { describeFailure } from '../../cli/failure';
import { ConfigError } from '../../config/env';
import { UserError } from '../../lib/user-error';

test('a UserError is one line, Vietnamese first, English in brackets', () => {
  expect(
    describeFailure(new UserError('không có đơn vị mã "X"', 'unknown unit "X"'), { debug: false }),
  ).toEqual({ text: 'Lỗi: không có đơn vị mã "X" (Error: unknown unit "X")', exitCode: 1 });
  expect(
    describeFailure(new ConfigError(['PORT: expected number', 'HOST: required']), { debug: false }),
  ).toEqual({
    text: 'Lỗi: cấu hình không hợp lệ: PORT: expected number; HOST: required (Error: invalid configuration: PORT: expected number; HOST: required)',
    exitCode: 2,
  });
});

test('an unexpected error is one short line pointing at --debug; --debug adds the stack', () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
  const plain = describeFailure(bug, { debug: false });
  expect(plain.exitCode).toBe(1);
  expect(plain.text.split('\n')).toHaveLength(1);
  expect(plain.text).toMatch(/^Lỗi ngoài dự kiến: Cannot read properties .*--debug/);
  expect(plain.text).not.toContain('at ');
  const debug = describeFailure(bug, { debug: true });
  expect(debug.text.split('\n')[0]).toBe(plain.text);
  expect(debug.text).toContain(bug.stack);
});
