import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { learnBotUsername } from '../../app/telegram';
import { env as loadEnv, type Env } from '../../config/env';
import { logger } from '../../lib/logger';
import { UserError } from '../../lib/user-error';
import { unitResults } from '../../bot/http/public/published';
import { renderPoster, type PosterChannel, type PosterSize } from '../../bot/print/poster';
import {
  resultsLink,
  unitStartPayload,
  unitTelegramLink,
  unitWebLink,
  zaloOaLink,
} from '../../bot/survey/links';
import { Unit } from '../../models/unit';
import { withDb } from './apikey';

/**
 * `hailong poster --unit CODE [--counter NAME] [--size a4|a6] --out FILE.pdf`: the printable
 * invitation of a unit (bot/print/poster.ts), with the unit's own survey links (no dossier) and
 * its latest published index.
 */
export function posterChannels(
  e: Pick<Env, 'PUBLIC_URL' | 'TELEGRAM_BOT_USERNAME' | 'ZALO_OA_ID'>,
  unitCode: string,
): PosterChannel[] {
  const channels: PosterChannel[] = [];
  const telegram = unitTelegramLink(e, unitCode);
  if (telegram) channels.push({ kind: 'telegram', label: 'Telegram', link: telegram });
  const zalo = zaloOaLink(e);
  const payload = unitStartPayload(unitCode);
  if (zalo && payload)
    channels.push({ kind: 'zalo', label: 'Zalo', link: zalo, hint: `rồi nhắn: /start ${payload}` });
  channels.push({ kind: 'web', label: 'Trang web', link: unitWebLink(e, unitCode) });
  return channels;
}

export function registerPosterCommand(program: Command): void {
  program
    .command('poster')
    .description('Tờ mời đánh giá có mã QR (PDF, A4 hoặc A6) / printable QR poster of a unit (PDF)')
    .requiredOption('--unit <code>', 'mã đơn vị / unit code')
    .option('--counter <name>', 'tên quầy in trên tờ mời / counter name printed on it')
    .option('--size <size>', 'a4 (áp phích) | a6 (thẻ) / a4 poster or a6 card', 'a4')
    .requiredOption('--out <file>', 'tệp PDF / output PDF file')
    .action(async (o: { unit: string; counter?: string; size: string; out: string }) => {
      if (o.size !== 'a4' && o.size !== 'a6')
        throw new UserError(
          `--size phải là a4 hoặc a6, không phải "${o.size}"`,
          `--size must be a4 or a6, not "${o.size}"`,
          2,
        );
      const e = await learnBotUsername(loadEnv(), logger);
      await withDb(async () => {
        const unit = await Unit.findOne({ code: o.unit }, { code: 1, name: 1 }).lean();
        if (!unit) throw new UserError(`không có đơn vị ${o.unit}`, `no unit ${o.unit}`, 2);
        const results = await unitResults(unit.code, { minN: e.PUBLIC_MIN_N, now: new Date() });
        const { pdf, qr } = await renderPoster({
          unitName: unit.name,
          counter: o.counter ?? null,
          channels: posterChannels(e, unit.code),
          resultsUrl: resultsLink(e, unit.code),
          latest: results?.periods[0] ?? null,
          minN: e.PUBLIC_MIN_N,
          size: o.size as PosterSize,
        });
        await writeFile(o.out, pdf);
        console.log(
          `${o.out}: ${o.size.toUpperCase()}, ${qr.length} mã QR / QR codes (${qr.map((q) => q.kind).join(', ')})`,
        );
        if (!qr.some((q) => q.kind === 'telegram'))
          console.log(
            'Chưa có mã Telegram: đặt TELEGRAM_BOT_USERNAME hoặc TELEGRAM_BOT_TOKEN / no Telegram code: set TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN',
          );
        if (!qr.some((q) => q.kind === 'zalo'))
          console.log('Chưa có mã Zalo: đặt ZALO_OA_ID / no Zalo code: set ZALO_OA_ID');
      });
    });
}
