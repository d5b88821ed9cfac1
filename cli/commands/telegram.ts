import type { Command } from 'commander';
import { env } from '../../config/env';
import { logger } from '../../lib/logger';
import { createProducerConnection } from '../../lib/redis';
import type { DeadLetter } from '../../bot/channels/telegram/dead-letters';
import { UpdateInbox } from '../../bot/channels/telegram/update-inbox';
import { secretsKeyRingOf, type SecretKeyRing } from '../../lib/secret-box';

interface Target {
  id?: string;
  all?: boolean;
}

/** The dead letters of the configured bot, through an inbox that never drains (the bots do). */
async function withInbox<T>(fn: (inbox: UpdateInbox, key: SecretKeyRing | null) => Promise<T>): Promise<T> {
  const e = env();
  if (!e.TELEGRAM_BOT_TOKEN) throw new Error('set TELEGRAM_BOT_TOKEN first: dead letters are kept per bot');
  const key = secretsKeyRingOf(e);
  const redis = createProducerConnection(e);
  try {
    const inbox = new UpdateInbox(
      redis,
      e.REDIS_PREFIX,
      e.TELEGRAM_BOT_TOKEN.split(':')[0]!,
      () => Promise.resolve(),
      logger,
      {
        secretsKey: key,
      },
    );
    return await fn(inbox, key);
  } finally {
    await redis.quit();
  }
}

/** The letters `--id N` or `--all` names; null (with the reason printed) for bad input. */
async function targets(inbox: UpdateInbox, t: Target): Promise<DeadLetter[] | null> {
  if ((t.id === undefined) === !t.all) {
    console.error('chọn --id <update_id> hoặc --all / give --id <update_id> or --all');
    return null;
  }
  if (t.all) return inbox.deadLetters.list();
  if (!/^\d{1,16}$/.test(t.id!)) {
    console.error(`--id: expected an update_id (a number), got "${t.id}"`);
    return null;
  }
  const letter = await inbox.deadLetters.get(Number(t.id));
  if (!letter) {
    console.error(`không có thư chết ${t.id} / no dead letter ${t.id} (expired, dropped or replayed)`);
    return null;
  }
  return [letter];
}

function describe(l: DeadLetter): string {
  const input =
    l.input.kind === 'command'
      ? l.input.text
      : l.input.kind === 'button'
        ? `button ${l.input.data}`
        : l.input.kind === 'text'
          ? l.input.sealed
            ? 'text (sealed)'
            : 'text (not kept)'
          : l.input.type;
  return [l.updateId, l.chatKey, input, l.error, l.attempts, new Date(l.deadAt).toISOString()].join('\t');
}

/**
 * `hailong telegram dead-letters list | replay (--id N | --all) | drop (--id N | --all)`:
 * the updates the bot gave up on after TELEGRAM_UPDATE_RETRY_FOR_S (bot/channels/telegram/
 * dead-letters.ts). A replay puts the update back in its chat's queue and a running bot process
 * applies it within seconds; a letter whose typed text was sealed needs the bots' SECRETS_KEY.
 */
export function registerTelegramCommands(program: Command): void {
  const cmd = program.command('telegram').description('Kênh Telegram / Telegram channel');
  const dl = cmd
    .command('dead-letters')
    .description('Tin chưa xử lý được sau thời gian thử lại / updates given up after the retry window');

  dl.command('list')
    .description('Liệt kê / list (update_id, chat, input, error, attempts, dead at)')
    .action(async () => {
      await withInbox(async (inbox) => {
        const letters = await inbox.deadLetters.list();
        console.log(`Thư chết / dead letters: ${letters.length}`);
        for (const l of letters) console.log(describe(l));
      });
    });

  dl.command('replay')
    .description('Xử lý lại / apply again (a running bot process does)')
    .option('--id <update_id>', 'one letter')
    .option('--all', 'every letter, oldest first')
    .action(async (opts: Target) => {
      await withInbox(async (inbox, key) => {
        const letters = await targets(inbox, opts);
        if (!letters) return void (process.exitCode = 1);
        let queued = 0;
        for (const l of letters) {
          if (l.input.kind === 'text' && l.input.sealed && !key) {
            console.error(`${l.updateId}: text sealed with SECRETS_KEY, which is not set here: not replayed`);
            process.exitCode = 1;
            continue;
          }
          if (await inbox.replayDeadLetter(l.updateId, key)) queued++;
          else console.error(`${l.updateId}: not replayable (${describe(l)}); drop it`);
        }
        console.log(
          `Đã xếp lại ${queued} / ${queued} queued again; a running bot applies them within seconds`,
        );
      });
    });

  dl.command('drop')
    .description('Xoá / delete')
    .option('--id <update_id>', 'one letter')
    .option('--all', 'every letter')
    .action(async (opts: Target) => {
      await withInbox(async (inbox) => {
        const letters = await targets(inbox, opts);
        if (!letters) return void (process.exitCode = 1);
        let dropped = 0;
        for (const l of letters) if (await inbox.deadLetters.drop(l.updateId)) dropped++;
        console.log(`Đã xoá ${dropped} / ${dropped} dropped`);
      });
    });
}
