import { Command } from 'commander';
import { COMMANDS } from './commands';

/** The `hailong` command line: one commander program, commands registered from ./commands. */
export function buildProgram(): Command {
  const program = new Command()
    .name('hailong')
    .description('Hài Lòng: khảo sát mức độ hài lòng qua chatbot / satisfaction surveys by chatbot')
    .showHelpAfterError();
  for (const register of COMMANDS) register(program);
  return program;
}
