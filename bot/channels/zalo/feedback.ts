import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../lib/logger';
import { Dossier } from '../../../models/dossier';
import type { AnswerSink, ConversationHooks, ResponseMeta } from '../../conversation/ports';
import type { ZaloFeedback } from './inbound-processor';
import { templateLinkKey } from './proactive';

/**
 * A rating-template answer (webhook `user_feedback`) recorded as the response of its dossier,
 * through the same AnswerSink as chat answers. The dossier is found by the template message id
 * we stored when sending, or by the tracking id (the dossier code) of a by-phone send. The
 * payload's field names (`rate`, `note`) are UNCONFIRMED: Zalo documents only the event
 * (docs/platform-limits.md).
 * Then the dossier is marked rated through the same `onFinished` hook a completed chat survey
 * calls: its response id, the funnel's "completed", no more reminders, a kept phone erased, and
 * its survey link closed.
 */
export const ZALO_RATING_QUESTION = 'zalo_rating';

export function createZaloFeedbackRecorder(deps: {
  sink: AnswerSink;
  redis: Redis;
  prefix: string;
  log: Logger;
  hooks?: Pick<ConversationHooks, 'onFinished'>;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());
  return async function record(f: ZaloFeedback): Promise<void> {
    const linked = f.msgId ? await deps.redis.get(templateLinkKey(deps.prefix, f.msgId)) : null;
    const code = linked ?? f.trackingId;
    if (!code || f.rate === null || f.rate < 1 || f.rate > 5) {
      deps.log.warn({ msgId: f.msgId, hasDossier: Boolean(code) }, 'zalo rating feedback without dossier or valid rate; dropped');
      return;
    }
    const dossier = await Dossier.findOne({ code }).lean();
    if (!dossier) {
      deps.log.warn({ dossier: code }, 'zalo rating feedback for an unknown dossier; dropped');
      return;
    }
    if (dossier.survey?.responseId) {
      deps.log.info({ dossier: code }, 'zalo rating feedback for a dossier already rated; ignored');
      return;
    }
    // One response per dossier: the id is derived from the code, so a repeated rating overwrites.
    const responseId = `zalo-${createHash('sha256').update(code).digest('hex').slice(0, 32)}`;
    const at = new Date(f.at > 0 ? f.at : now().getTime()).toISOString();
    const meta: ResponseMeta = {
      dossierCode: code,
      unitCode: dossier.unitCode,
      procedureCode: dossier.procedureCode,
      officerId: dossier.officerId ?? null,
      dossierChannel: dossier.channel,
      onlineLevel: dossier.onlineLevel ?? null,
      surveyChannel: 'zalo',
      flowKey: 'zalo_rating',
      flowVersion: 1,
      lang: 'vi',
      startedAt: at,
    };
    const answer = { questionId: ZALO_RATING_QUESTION, element: 'TONG_THE', type: 'rating', value: f.rate, text: f.note };
    await deps.sink.answer({ responseId, meta, answer, answeredAt: at });
    await deps.sink.complete({ responseId, meta, answers: [answer], completedAt: at });
    await deps.hooks?.onFinished?.({ dossierCode: code, responseId, status: 'completed', channel: 'zalo' });
    deps.log.info({ dossier: code, responseId }, 'zalo rating recorded');
  };
}
