import os from 'node:os';
import type { Command } from 'commander';
import { env } from '../../config/env';
import { createProducerConnection } from '../../lib/redis';
import { formatDateTime } from '../../lib/time';
import { Unit } from '../../models/unit';
import {
  disconnectGroup,
  issueConnectCode,
  UnitNotFoundError,
} from '../../workers/aggregation/cases/alert-group';
import { withDb } from './apikey';

/**
 * `hailong unit list`: units with their validity, successor and Telegram group.
 * `hailong unit connect-telegram --unit CODE`: prints a one-time code (15 minutes, single use);
 * an admin posts it in the unit's group, where the bot connects the group (last line: the exact
 * message to post). `hailong unit disconnect-telegram --unit CODE`.
 */
function failed(err: unknown): boolean {
  if (!(err instanceof UnitNotFoundError)) return false;
  console.error(`không có đơn vị / no unit ${err.unitCode}`);
  process.exitCode = 2;
  return true;
}

export function registerUnitCommands(program: Command): void {
  const cmd = program
    .command('unit')
    .description('Đơn vị hành chính và nhóm Telegram của đơn vị / units and their Telegram groups');

  cmd
    .command('list')
    .description('Danh sách đơn vị / list units')
    .option('--all', 'cả đơn vị đã sáp nhập / include merged units')
    .action(async (o: { all?: boolean }) => {
      await withDb(async () => {
        const now = new Date();
        const units = await Unit.find(
          {},
          {
            _id: 0,
            code: 1,
            name: 1,
            level: 1,
            parentCode: 1,
            validTo: 1,
            successorCode: 1,
            alertTelegramChatId: 1,
            alertTelegramConnectedAt: 1,
          },
        )
          .sort({ code: 1 })
          .lean();
        for (const u of units) {
          const merged = !!u.validTo && u.validTo < now;
          if (merged && !o.all) continue;
          const tg = u.alertTelegramChatId
            ? `telegram: đã kết nối / connected ${u.alertTelegramConnectedAt ? formatDateTime(u.alertTelegramConnectedAt) : ''}`.trimEnd()
            : 'telegram: chưa kết nối / not connected';
          const history = merged
            ? `  → ${u.successorCode ?? '(tách / split)'} từ / since ${formatDateTime(u.validTo!)}`
            : '';
          console.log(
            `${u.code.padEnd(16)} ${u.level.padEnd(9)} ${u.name}  (cấp trên / parent: ${u.parentCode ?? '—'})  ${tg}${history}`,
          );
        }
      });
    });

  cmd
    .command('connect-telegram')
    .description(
      'Tạo mã kết nối nhóm Telegram của đơn vị (15 phút, dùng một lần) / one-time code to connect the unit’s Telegram group',
    )
    .requiredOption('--unit <code>', 'mã đơn vị / unit code')
    .action(async (o: { unit: string }) => {
      const e = env();
      const redis = createProducerConnection(e);
      try {
        await withDb(async () => {
          const { code, expiresAt } = await issueConnectCode(redis, e.REDIS_PREFIX, o.unit);
          const unit = await Unit.findOne(
            { code: o.unit },
            { _id: 0, name: 1, alertTelegramChatId: 1 },
          ).lean();
          if (unit?.alertTelegramChatId)
            console.log(
              'Đơn vị đã có nhóm; kết nối nhóm mới sẽ thay nhóm cũ. / The unit has a group; connecting another replaces it.',
            );
          console.log(
            `Mã kết nối cho ${unit?.name ?? o.unit} (${o.unit}): ${code} — hết hạn lúc / expires ${formatDateTime(expiresAt)}, dùng một lần / single use.`,
          );
          console.log(
            'Thêm bot vào nhóm Telegram của đơn vị, rồi một quản trị viên gửi trong nhóm / add the bot to the group, then an admin sends there:',
          );
          console.log(`/ketnoi${e.TELEGRAM_BOT_USERNAME ? `@${e.TELEGRAM_BOT_USERNAME}` : ''} ${code}`);
        });
      } catch (err) {
        if (!failed(err)) throw err;
      } finally {
        await redis.quit();
      }
    });

  cmd
    .command('disconnect-telegram')
    .description('Ngắt kết nối nhóm Telegram của đơn vị / disconnect the unit’s Telegram group')
    .requiredOption('--unit <code>', 'mã đơn vị / unit code')
    .option('--by <name>', 'người thực hiện / who', os.userInfo().username)
    .action(async (o: { unit: string; by: string }) => {
      try {
        await withDb(async () => {
          const removed = await disconnectGroup(o.unit, o.by);
          console.log(
            removed
              ? `Đã ngắt kết nối nhóm Telegram của ${o.unit}. / Disconnected.`
              : `${o.unit} chưa kết nối nhóm nào. / No group was connected.`,
          );
        });
      } catch (err) {
        if (!failed(err)) throw err;
      }
    });
}
