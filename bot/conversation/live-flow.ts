import type { Logger } from '../../lib/logger';
import { noPublishedFlow } from '../../lib/metrics';
import type { InboundEvent } from '../channels/channel';
import { NoPublishedFlowError, type FlowRepository } from '../flow/repository';
import type { LiveTarget } from '../flow/live-assignments';
import type { Flow } from '../flow/schema';

/**
 * The flow a new survey starts with, or null when none is published. A deployment with no
 * published flow used to fail the update (retried, then dead-lettered) and leave the citizen in
 * silence; now the caller apologises and operators get an error line and
 * `hailong_no_published_flow_total`. Any other failure (the database down) still throws, so the
 * update is retried as before.
 */
export async function liveFlowOrNull(
  flows: FlowRepository,
  flowKey: string,
  target: (LiveTarget & { code?: string }) | null,
  ev: Pick<InboundEvent, 'channel' | 'updateId'>,
  log: Logger,
): Promise<Flow | null> {
  try {
    return await flows.live(flowKey, target);
  } catch (err) {
    if (!(err instanceof NoPublishedFlowError)) throw err;
    noPublishedFlow.inc({ channel: ev.channel, flow: err.flowKey });
    log.error(
      { flowKey: err.flowKey, channel: ev.channel, updateId: ev.updateId, dossier: target?.code ?? null },
      'survey not started: no published flow (run `hailong seed` or publish one)',
    );
    return null;
  }
}
