/**
 * A refusal the person who asked can act on: a wrong value, an unknown code, a state that forbids
 * the action. Said to them in Vietnamese first, English second, without a stack trace (the CLI
 * prints `Lỗi: <vi> (Error: <en>)`, cli/failure.ts). `message` is the English text, so logs and
 * tests read the same as before. Exit code 2 marks a mistake in the command line or the
 * configuration, 1 anything else refused.
 */
export class UserError extends Error {
  constructor(
    readonly vi: string,
    readonly en: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(en);
    this.name = 'UserError';
  }
}
