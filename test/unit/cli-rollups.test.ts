import { Command } from 'commander';
import { registerRollupsCommand } from '../../cli/commands/rollups';

function program(): Command {
  const p = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerRollupsCommand(p);
  // exitOverride is not inherited by subcommands registered before it; set it on each.
  for (const c of p.commands)
    for (const sub of c.commands) sub.exitOverride().configureOutput({ writeErr: () => undefined });
  return p;
}

test.each(['rebuild', 'backfill'])(
  'rollups %s refuses a malformed --from or --to before touching any database',
  async (sub) => {
    await expect(
      program().parseAsync(['rollups', sub, '--from', '2026-1-5'], { from: 'user' }),
    ).rejects.toThrow(/invalid day "2026-1-5": expected YYYY-MM-DD/);
    await expect(program().parseAsync(['rollups', sub, '--to', 'hôm qua'], { from: 'user' })).rejects.toThrow(
      /invalid day "hôm qua"/,
    );
  },
);
