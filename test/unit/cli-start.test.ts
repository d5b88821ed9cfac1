import { Command } from 'commander';
import { parseRoles, registerStartCommand } from '../../cli/commands/start';

test('--roles takes a comma-separated subset of http, bot, workers', () => {
  expect(parseRoles('http,workers')).toEqual(['http', 'workers']);
  expect(parseRoles(' bot , bot ')).toEqual(['bot']);
});

test('--roles refuses unknown or empty roles before anything starts', async () => {
  expect(() => parseRoles('http,web')).toThrow(/expected a comma-separated list of http, bot, workers/);
  expect(() => parseRoles(',')).toThrow();
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerStartCommand(program);
  await expect(program.parseAsync(['start', '--roles', 'nope'], { from: 'user' })).rejects.toThrow(
    /--roles: expected a comma-separated list of http, bot, workers, got "nope"/,
  );
});
