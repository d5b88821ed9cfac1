import { Option, type Command } from 'commander';
import type { Role } from '../../app/start';
import { UserError } from '../../lib/user-error';

const ROLES: readonly Role[] = ['http', 'bot', 'workers'];

export function parseRoles(value: string): Role[] {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  const bad = roles.filter((r) => !ROLES.includes(r as Role));
  if (roles.length === 0 || bad.length > 0) {
    throw new UserError(
      `--roles: cần danh sách ${ROLES.join(', ')} cách nhau bởi dấu phẩy, không phải "${value}"`,
      `--roles: expected a comma-separated list of ${ROLES.join(', ')}, got "${value}"`,
      2,
    );
  }
  return [...new Set(roles)] as Role[];
}

/**
 * `hailong start [--roles http,bot,workers]`: the whole system, by default http and bot in this
 * process and the workers in a child process it supervises (app/layout.ts); with --roles (else
 * ROLES from the environment) exactly those roles in this one process, to scale (e.g. several
 * `--roles workers` behind one `--roles http,bot`). SIGTERM/SIGINT drain and exit.
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Chạy hệ thống (HTTP, bot, workers) / run the system')
    .addOption(
      new Option(
        '--roles <roles>',
        'vai trò của tiến trình / roles of this process: http,bot,workers',
      ).argParser(parseRoles),
    )
    .action(async (opts: { roles?: Role[] }) => {
      // Loaded here, synchronously (CommonJS): the other commands need none of the app's wiring.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startLayout } = require('../../app/layout') as typeof import('../../app/layout');
      await startLayout({ ...(opts.roles ? { roles: opts.roles } : {}), handleSignals: true });
    });
}
