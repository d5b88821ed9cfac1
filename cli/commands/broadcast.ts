import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import mongoose, { isValidObjectId } from 'mongoose';
import { env, type Env } from '../../config/env';
import { logger } from '../../lib/logger';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { createProducerConnection, type RedisClient } from '../../lib/redis';
import { ZONE, formatDateTime } from '../../lib/time';
import { UserError } from '../../lib/user-error';
import { Broadcast, type BroadcastChannel } from '../../models/broadcast';
import { broadcastSenders } from '../../workers/broadcast/channels';
import {
  approveBroadcast,
  cancelBroadcast,
  createBroadcast,
  pauseBroadcast,
  resumeBroadcast,
  type ControlDeps,
} from '../../workers/broadcast/control';
import { broadcastProgress, type BroadcastProgress } from '../../workers/broadcast/progress';
import { BroadcastQueues } from '../../workers/broadcast/queues';
import { renderBroadcast, validateContent } from '../../workers/broadcast/render';
import { countRecipients } from '../../workers/broadcast/targeting';
import { requireUnits } from './unit-option';
import {
  BROADCAST_TEMPLATES,
  isBroadcastTemplate,
  renderTemplate,
  TemplateUnavailableError,
  type TemplateContent,
} from '../../bot/http/public/broadcast-templates';
import { unitResults } from '../../bot/http/public/published';
import { resultsLink, unitWebLink } from '../../bot/survey/links';
import { Unit } from '../../models/unit';

/**
 * `hailong broadcast …`: compose, count, send (or schedule, or submit for approval), watch,
 * pause, resume, cancel, approve, test-send. Contract (keep): `broadcast send --text TEXT [--unit
 * CODE] [--channel telegram|zalo] [--at TIME] [--ignore-quiet-hours] --yes` prints the broadcast
 * id on its last line; `broadcast status ID --json` prints its counts.
 */
async function withDeps<T>(
  fn: (deps: ControlDeps & { e: Env; redis: RedisClient }) => Promise<T>,
): Promise<T> {
  const e = env();
  const own = mongoose.connection.readyState !== 1;
  if (own) await connectMongo(e.MONGODB_URI);
  const redis = createProducerConnection(e);
  const queues = new BroadcastQueues(redis, e.REDIS_PREFIX);
  try {
    return await fn({ e, redis, prefix: e.REDIS_PREFIX, queues, env: e });
  } finally {
    await queues.close();
    await redis.quit();
    if (own) await disconnectMongo();
  }
}

/** A unit's awareness template filled with its links and its published results. */
async function templateContent(name: string, unitCode: string, e: Env): Promise<TemplateContent> {
  if (!isBroadcastTemplate(name)) throw new Error(`unknown template ${name}`);
  const unit = await Unit.findOne({ code: unitCode }, { code: 1, name: 1 }).lean();
  if (!unit) throw new UserError(`không có đơn vị ${unitCode}`, `no unit ${unitCode}`, 2);
  const results =
    name === 'ket-qua' ? await unitResults(unit.code, { minN: e.PUBLIC_MIN_N, now: new Date() }) : null;
  try {
    return renderTemplate(name, {
      unitName: unit.name,
      surveyLink: unitWebLink(e, unit.code),
      resultsLink: resultsLink(e, unit.code),
      results,
    });
  } catch (err) {
    if (err instanceof TemplateUnavailableError)
      throw new UserError(
        'mẫu ket-qua: chưa có kết quả đủ số phiếu để công bố',
        'ket-qua template: no published result yet (below the minimum number of responses)',
        1,
      );
    throw err;
  }
}

/** "2026-05-01 08:00" or "2026-05-01T08:00" in Asia/Ho_Chi_Minh, or an ISO instant with offset. */
export function parseAt(value: string): Date {
  const v = value.trim();
  const dt = /[zZ]|[+-]\d\d:?\d\d$/.test(v)
    ? DateTime.fromISO(v)
    : DateTime.fromFormat(v.replace('T', ' '), v.length > 16 ? 'yyyy-MM-dd HH:mm:ss' : 'yyyy-MM-dd HH:mm', {
        zone: ZONE,
      });
  if (!dt.isValid)
    throw new UserError(
      `--at: thời điểm không hợp lệ "${value}", cần "YYYY-MM-DD HH:mm" (giờ Việt Nam)`,
      `--at: expected "YYYY-MM-DD HH:mm" (Asia/Ho_Chi_Minh), got "${value}"`,
      2,
    );
  return dt.toJSDate();
}

function parseButton(value: string, previous: Array<{ text: string; url: string }> = []) {
  const i = value.lastIndexOf('=http');
  if (i <= 0)
    throw new UserError(
      `--button: cần dạng "Nhãn=https://…", không phải "${value}"`,
      `--button: expected "Label=https://…", got "${value}"`,
      2,
    );
  return [...previous, { text: value.slice(0, i).trim(), url: value.slice(i + 1).trim() }];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const parseChannel = (v: string): BroadcastChannel => {
  if (v !== 'telegram' && v !== 'zalo')
    throw new UserError(
      `--channel: chọn telegram hoặc zalo, không phải "${v}"`,
      `--channel: expected telegram or zalo, got "${v}"`,
      2,
    );
  return v;
};

function describe(p: BroadcastProgress): string {
  const c = p.counts;
  const eta =
    p.etaSeconds === null
      ? '?'
      : `${Math.floor(p.etaSeconds / 60)}m${String(p.etaSeconds % 60).padStart(2, '0')}s`;
  return `${p.status} | đã gửi/sent ${c.sent} · chờ/queued ${c.queued} · đang gửi/sending ${c.sending} · lỗi/failed ${c.failed} · chặn/blocked ${c.blocked} · bỏ qua/skipped ${c.skipped} · huỷ/cancelled ${c.cancelled} | ${p.ratePerS}/s · ETA ${eta}`;
}

const TERMINAL = new Set(['completed', 'cancelled']);

/** A broadcast id as printed by `send`; anything else would reach MongoDB as a cast error. */
function broadcastId(id: string): string {
  if (!isValidObjectId(id))
    throw new UserError(`mã thông báo không hợp lệ "${id}"`, `not a broadcast id: "${id}"`, 2);
  return id;
}

const noBroadcast = (id: string) => new UserError(`không có thông báo ${id}`, `no broadcast ${id}`);

export function registerBroadcastCommands(program: Command): void {
  const cmd = program
    .command('broadcast')
    .description('Gửi thông báo tuyên truyền tới người đăng ký / awareness broadcasts to subscribers');

  cmd
    .command('send')
    .description('Soạn, đếm người nhận và gửi (cần --yes) / compose, count recipients and send (needs --yes)')
    .option('--text <text>', 'nội dung tiếng Việt / Vietnamese text')
    .option(
      '--template <name>',
      `mẫu tuyên truyền của đơn vị (cần --unit): ${BROADCAST_TEMPLATES.join(' | ')} / awareness template of the unit`,
    )
    .option('--text-en <text>', 'bản tiếng Anh cho người chọn English / English version')
    .option('--html', 'nội dung là HTML Telegram (b, i, u, s, code, a) / text is Telegram HTML')
    .option('--image <url>', 'ảnh kèm theo / image URL')
    .option('--button <label=url>', 'nút liên kết (lặp lại) / link button (repeatable)', parseButton)
    .option('--unit <code>', 'đơn vị và các đơn vị trực thuộc / unit subtree')
    .option('--channel <channel>', 'telegram | zalo (mặc định cả hai / default both)', parseChannel)
    .option('--lang <lang>', 'chỉ người dùng ngôn ngữ này / only contacts of this language (vi|en)')
    .option(
      '--tag <tag>',
      'chỉ người có nhãn này (lặp lại) / only contacts with this tag (repeatable)',
      collect,
    )
    .option('--at <time>', 'hẹn giờ, giờ Việt Nam / schedule, Asia/Ho_Chi_Minh "YYYY-MM-DD HH:mm"', parseAt)
    .option('--ignore-quiet-hours', 'gửi cả trong giờ nghỉ / send during quiet hours')
    .option('--require-approval', 'cần người thứ hai duyệt / a second person must approve')
    .option('--by <name>', 'người soạn / author', os.userInfo().username)
    .option('--yes', 'xác nhận gửi / confirm')
    .action(
      async (o: {
        text?: string;
        template?: string;
        textEn?: string;
        html?: boolean;
        image?: string;
        button?: Array<{ text: string; url: string }>;
        unit?: string;
        channel?: BroadcastChannel;
        lang?: string;
        tag?: string[];
        at?: Date;
        ignoreQuietHours?: boolean;
        requireApproval?: boolean;
        by: string;
        yes?: boolean;
      }) => {
        if (o.lang && o.lang !== 'vi' && o.lang !== 'en')
          throw new UserError('--lang: chọn vi hoặc en', '--lang: expected vi or en', 2);
        if (!o.text === !o.template)
          throw new UserError(
            'cần đúng một trong --text hoặc --template',
            'expected exactly one of --text or --template',
            2,
          );
        if (o.template && !isBroadcastTemplate(o.template))
          throw new UserError(
            `--template: chọn ${BROADCAST_TEMPLATES.join(', ')}`,
            `--template: expected one of ${BROADCAST_TEMPLATES.join(', ')}`,
            2,
          );
        if (o.template && !o.unit) throw new UserError('--template cần --unit', '--template needs --unit', 2);
        await withDeps(async (deps) => {
          if (o.unit) await requireUnits([o.unit]);
          const filled = o.template ? await templateContent(o.template, o.unit!, deps.e) : null;
          const target = {
            unitCode: o.unit ?? null,
            channels: o.channel ? [o.channel] : [],
            lang: (o.lang as 'vi' | 'en' | undefined) ?? null,
            tags: o.tag ?? [],
          };
          const content = {
            text: filled?.text ?? o.text!,
            textEn: o.textEn ?? filled?.textEn ?? null,
            format: o.html ? ('html' as const) : ('text' as const),
            imageUrl: o.image ?? null,
            buttons: [...(filled?.buttons ?? []), ...(o.button ?? [])],
          };
          if (!o.yes) {
            const problems = validateContent(content);
            const n = await countRecipients(target, { zaloWindowH: deps.e.ZALO_CS_WINDOW_H });
            console.log(renderBroadcast(content, 'vi').html);
            for (const b of content.buttons) console.log(`[${b.text}] ${b.url}`);
            console.log(
              `Người nhận / recipients: ${n.total} (Telegram ${n.byChannel.telegram}, Zalo ${n.byChannel.zalo}; Zalo ngoài cửa sổ 7 ngày / outside the window: ${n.zaloOutsideWindow})`,
            );
            if (problems.length > 0) console.log(`Lỗi / problems:\n  - ${problems.join('\n  - ')}`);
            console.log('Chưa gửi. Thêm --yes để gửi / Not sent: add --yes to send');
            return;
          }
          const created = await createBroadcast(
            {
              ...content,
              target,
              createdBy: o.by,
              sendAt: o.at ?? null,
              ignoreQuietHours: o.ignoreQuietHours ?? false,
              ...(o.requireApproval ? { requireApproval: true } : {}),
            },
            deps,
          );
          console.log(
            `Người nhận / recipients: ${created.recipients.total} (Telegram ${created.recipients.byChannel.telegram}, Zalo ${created.recipients.byChannel.zalo})`,
          );
          if (created.status === 'pending_approval')
            console.log(
              `Chờ duyệt / waiting for approval: hailong broadcast approve ${created.id} --by <người duyệt>`,
            );
          else if (created.startsAt)
            console.log(
              `Bắt đầu lúc / starts at ${formatDateTime(created.startsAt)}${created.heldByQuietHours ? ' (sau giờ nghỉ / after quiet hours)' : ''}`,
            );
          console.log(created.id);
        });
      },
    );

  cmd
    .command('status')
    .argument('<id>', 'mã thông báo / broadcast id', broadcastId)
    .description('Tiến độ / progress (thanh tiến độ trên terminal / a progress bar on a terminal)')
    .option('--json', 'in số liệu dạng JSON / print counts as JSON')
    .option('--no-watch', 'không theo dõi / print once')
    .action(async (id: string, o: { json?: boolean; watch: boolean }) => {
      await withDeps(async (deps) => {
        let p = await broadcastProgress(id, deps.redis, deps.prefix);
        if (!p) throw noBroadcast(id);
        if (o.json) return void console.log(JSON.stringify(p, null, 2));
        if (!process.stdout.isTTY || !o.watch || TERMINAL.has(p.status)) return void console.log(describe(p));
        const bar = new SingleBar(
          { format: '{bar} {percentage}% | {value}/{total} | {info}', hideCursor: true },
          Presets.shades_classic,
        );
        bar.start(Math.max(1, p.recipients), p.done, { info: describe(p) });
        while (!TERMINAL.has(p.status)) {
          await sleep(1000);
          p = (await broadcastProgress(id, deps.redis, deps.prefix))!;
          bar.setTotal(Math.max(1, p.recipients));
          bar.update(p.done, { info: describe(p) });
        }
        bar.stop();
        console.log(describe(p));
      });
    });

  for (const [name, vi, en] of [
    ['pause', 'Tạm dừng', 'pause'],
    ['resume', 'Tiếp tục', 'resume'],
    ['cancel', 'Huỷ', 'cancel'],
  ] as const) {
    cmd
      .command(name)
      .argument('<id>', 'mã thông báo / broadcast id', broadcastId)
      .description(`${vi} / ${en}`)
      .action(async (id: string) => {
        await withDeps(async (deps) => {
          if (name === 'cancel') {
            const r = await cancelBroadcast(id, deps);
            if (!r.cancelled)
              throw new UserError(
                `không huỷ được thông báo ${id} (không có, hoặc đã xong)`,
                `broadcast ${id} cannot be cancelled (not found or finished)`,
              );
            console.log(`Đã huỷ / cancelled; đang gửi dở / in flight: ${r.inFlight}`);
          } else {
            const ok = name === 'pause' ? await pauseBroadcast(id, deps) : await resumeBroadcast(id, deps);
            if (!ok)
              throw new UserError(
                `không ${vi.toLowerCase()} được thông báo ${id} ở trạng thái hiện tại`,
                `broadcast ${id} cannot be ${name}d in its current state`,
              );
            console.log(name === 'pause' ? 'Đã tạm dừng / paused' : 'Đã tiếp tục / resumed');
          }
        });
      });
  }

  cmd
    .command('approve')
    .argument('<id>', 'mã thông báo / broadcast id', broadcastId)
    .description('Duyệt (người thứ hai) / approve (a second person)')
    .requiredOption('--by <name>', 'người duyệt / approver')
    .action(async (id: string, o: { by: string }) => {
      await withDeps(async (deps) => {
        const r = await approveBroadcast(id, o.by, deps);
        console.log(`Đã duyệt / approved; bắt đầu lúc / starts at ${formatDateTime(r.startsAt)}`);
      });
    });

  cmd
    .command('test')
    .argument('<id>', 'mã thông báo / broadcast id', broadcastId)
    .description('Gửi thử cho chính mình / send a test to yourself')
    .requiredOption('--to <chatId>', 'chat id (Telegram) / user id (Zalo) của bạn / yours')
    .option('--channel <channel>', 'telegram | zalo', parseChannel, 'telegram')
    .option('--lang <lang>', 'vi | en', 'vi')
    .action(async (id: string, o: { to: string; channel: BroadcastChannel; lang: string }) => {
      await withDeps(async (deps) => {
        const bc = await Broadcast.findById(id).lean();
        if (!bc) throw noBroadcast(id);
        const sender = broadcastSenders({ env: deps.e, log: logger, redis: deps.redis, prefix: deps.prefix })[
          o.channel
        ];
        if (!sender)
          throw new UserError(
            `kênh ${o.channel} chưa được cấu hình (TELEGRAM_BOT_TOKEN / ZALO_…)`,
            `${o.channel} is not configured (TELEGRAM_BOT_TOKEN / ZALO_…)`,
            2,
          );
        const content = {
          text: bc.text,
          textEn: bc.textEn ?? null,
          format: bc.format === 'html' ? ('html' as const) : ('text' as const),
          imageUrl: bc.imageUrl ?? null,
          buttons: bc.buttons.map((b) => ({ text: b.text, textEn: b.textEn ?? null, url: b.url })),
        };
        await sender.send(o.to, renderBroadcast(content, o.lang === 'en' ? 'en' : 'vi'));
        console.log('Đã gửi thử / test sent');
      });
    });

  cmd
    .command('list')
    .description('Các thông báo gần đây / recent broadcasts')
    .action(async () => {
      await withDeps(async () => {
        const rows = await Broadcast.find(
          {},
          { status: 1, createdBy: 1, createdAt: 1, recipientCount: 1, text: 1 },
        )
          .sort({ createdAt: -1 })
          .limit(20)
          .lean();
        for (const r of rows)
          console.log(
            `${r._id.toString()}  ${r.status.padEnd(16)} ${String(r.recipientCount).padStart(7)}  ${formatDateTime(r.createdAt)}  ${r.createdBy}`,
          );
      });
    });
}
