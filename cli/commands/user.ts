import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { env } from '../../config/env';
import { Accounts, AccountInputError, UsernameTakenError, UserNotFoundError } from '../../lib/auth/accounts';
import { SessionStore } from '../../lib/auth/sessions';
import { createProducerConnection } from '../../lib/redis';
import { USER_ROLES, type UserRole } from '../../models/user';
import { withDb } from './apikey';

/**
 * `hailong user create --username U --password P --role admin|district|unit|broadcaster|viewer
 * [--unit CODE]...`, `user list`, `user disable U`, `user enable U`, `user reset-password U
 * --password P`. `--password -` reads the password from the first line of standard input (kept
 * out of the shell history). Changes are audited as `cli`; disabling and resetting end the
 * account's sessions at once (Redis), so the command needs REDIS_URL too.
 */
async function withAccounts(fn: (accounts: Accounts) => Promise<void>): Promise<void> {
  const e = env();
  const redis = createProducerConnection(e);
  try {
    const sessions = new SessionStore(redis, e.REDIS_PREFIX, {
      idleMs: e.AUTH_SESSION_IDLE_MIN * 60_000,
      maxMs: e.AUTH_SESSION_MAX_H * 3_600_000,
    });
    await withDb(() => fn(new Accounts(sessions)));
  } catch (err) {
    // What an operator can correct is said plainly, with a non-zero exit; anything else is a bug.
    if (
      err instanceof AccountInputError ||
      err instanceof UsernameTakenError ||
      err instanceof UserNotFoundError
    ) {
      console.error(err.message);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await redis.quit();
  }
}

async function passwordOf(value: string): Promise<string> {
  if (value !== '-') return value;
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
    return '';
  } finally {
    rl.close();
  }
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const CLI = { actor: 'cli' } as const;

function parseRole(value: string): UserRole {
  if (!(USER_ROLES as readonly string[]).includes(value))
    throw new AccountInputError(
      'role',
      `Vai trò không hợp lệ "${value}": ${USER_ROLES.join('|')}. / Unknown role.`,
    );
  return value as UserRole;
}

export function registerUserCommands(program: Command): void {
  const cmd = program.command('user').description('Tài khoản cán bộ / officials’ accounts (console and API)');

  cmd
    .command('create')
    .requiredOption('--username <username>', 'a-z 0-9 . _ - (3 to 64), e.g. canbo.nguyen')
    .requiredOption(
      '--password <password>',
      'at least 12 characters, not a common password; "-" reads it from stdin',
    )
    .requiredOption('--role <role>', USER_ROLES.join('|'))
    .option(
      '--unit <code>',
      'a unit the account answers for, and everything below it (repeatable; none for admin)',
      collect,
      [] as string[],
    )
    .description('Tạo tài khoản / create an account')
    .action(async (opts: { username: string; password: string; role: string; unit: string[] }) => {
      await withAccounts(async (accounts) => {
        const u = await accounts.create(
          {
            username: opts.username,
            password: await passwordOf(opts.password),
            role: parseRole(opts.role),
            unitCodes: opts.unit,
          },
          CLI,
        );
        console.log(
          `Đã tạo tài khoản / created: ${u.username}\t${u.role}\t${u.unitCodes.join(',') || '(mọi đơn vị / every unit)'}`,
        );
      });
    });

  cmd
    .command('list')
    .description('Liệt kê tài khoản / list accounts')
    .action(async () => {
      await withAccounts(async (accounts) => {
        for (const u of await accounts.list())
          console.log(
            `${u.username}\t${u.role}\t${u.unitCodes.join(',') || '(all)'}\t${u.disabled ? `disabled ${u.disabledAt?.toISOString()}` : 'active'}\t${u.lastLoginAt?.toISOString() ?? 'never signed in'}`,
          );
      });
    });

  for (const [name, disabled, vi] of [
    ['disable', true, 'Khoá tài khoản (các phiên kết thúc ngay)'],
    ['enable', false, 'Mở lại tài khoản'],
  ] as const) {
    cmd
      .command(name)
      .argument('<username>')
      .description(`${vi} / ${name} an account`)
      .action(async (username: string) => {
        await withAccounts(async (accounts) => {
          const u = await accounts.update(username, { disabled }, CLI);
          console.log(`${u.username}: ${u.disabled ? 'đã khoá / disabled' : 'đang hoạt động / active'}`);
        });
      });
  }

  cmd
    .command('reset-password')
    .argument('<username>')
    .requiredOption('--password <password>', 'the new password; "-" reads it from stdin')
    .description('Đặt lại mật khẩu (các phiên kết thúc) / set a new password, ending the account’s sessions')
    .action(async (username: string, opts: { password: string }) => {
      await withAccounts(async (accounts) => {
        const u = await accounts.resetPassword(username, await passwordOf(opts.password), CLI);
        console.log(`Đã đặt lại mật khẩu / password reset: ${u.username}`);
      });
    });
}
