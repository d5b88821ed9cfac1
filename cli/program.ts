import { Command } from 'commander';
import { logger } from '../lib/logger';
import { COMMANDS } from './commands';
import { describeFailure } from './failure';

/** The `hailong` command line: one commander program, commands registered from ./commands. */
export function buildProgram(): Command {
  const program = new Command()
    .name('hailong')
    .description('Hài Lòng: khảo sát mức độ hài lòng qua chatbot / satisfaction surveys by chatbot')
    .option('--debug', 'in chi tiết lỗi và nhật ký debug / print stack traces and debug logs')
    // Usage errors come back as CommanderError and are printed by runCli, in one line like the rest.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  program.hook('preAction', () => {
    if (program.opts<{ debug?: boolean }>().debug) logger.level = 'debug';
  });
  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * Runs the command line and returns the exit code. Every failure is said in one line on stderr
 * (cli/failure.ts); stdout carries only the command's own output.
 */
export async function runCli(
  argv: readonly string[],
  opts: { from?: 'node' | 'user' } = {},
): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: opts.from ?? 'node' });
    return typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0);
  } catch (err) {
    const debug =
      program.opts<{ debug?: boolean }>().debug === true ||
      ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '');
    const failure = describeFailure(err, { debug });
    if (failure.text) process.stderr.write(`${failure.text}\n`);
    return failure.exitCode;
  }
}
