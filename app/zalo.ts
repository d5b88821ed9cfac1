import type { AnswerSink, ConversationHooks } from '../bot/conversation/ports';
import type { ConversationService } from '../bot/conversation/service';
import { createZaloChannel, type ZaloChannel } from '../bot/channels/zalo/zalo-channel';
import { createWorkerConnection } from '../lib/redis';
import type { Shutdown } from '../lib/shutdown';
import type { AppContext } from '../lib/app-context';
import type { Role } from './start';

/**
 * The Zalo OA channel, when configured (ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET_KEY,
 * SECRETS_KEY). The `bot` role consumes the inbound event queue and keeps the token fresh; any
 * role can send.
 */
export function startZalo(opts: {
  ctx: AppContext;
  service: ConversationService;
  sink: AnswerSink;
  /** Outreach's hooks: a rating-template answer completes its dossier's survey. */
  hooks: Pick<ConversationHooks, 'onFinished'>;
  roles: Set<Role>;
  shutdown: Shutdown;
  /** Pages the admins (Telegram group ADMIN_TELEGRAM_CHAT_ID); always logged at error level too. */
  alertAdmins?: (text: string) => Promise<void>;
}): ZaloChannel | null {
  const { ctx, roles, shutdown } = opts;
  if (!ctx.env.ZALO_APP_ID) {
    ctx.log.info('Zalo channel off (ZALO_APP_ID not set)');
    return null;
  }
  const zalo = createZaloChannel(ctx, {
    conversation: opts.service,
    sink: opts.sink,
    hooks: opts.hooks,
    onRefreshFailed: async (f) => {
      ctx.log.error(
        { failure: f },
        'ZALO TOKEN REFRESH FAILED: the Zalo channel is down until an admin reconnects (hailong zalo connect)',
      );
      await opts
        .alertAdmins?.(
          '⚠️ Hài Lòng: làm mới token Zalo OA thất bại, kênh Zalo đang dừng. Quản trị viên cần kết nối lại: `hailong zalo connect`.',
        )
        .catch((err: Error) => ctx.log.error({ err: err.message }, 'admin alert failed'));
    },
  });
  if (roles.has('bot')) {
    // Its worker connection is closed with the channel (zalo.close()).
    void zalo.startWorker(() => createWorkerConnection(ctx.env));
    zalo.startTokenKeeper();
  }
  shutdown.add('zalo', () => zalo.close(), 25);
  return zalo;
}
