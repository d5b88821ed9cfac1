import { retryOnDuplicate } from '../../lib/mongo';
import { UserError } from '../../lib/user-error';
import { Flow as FlowModel } from '../../models/flow';
import { DEFAULT_FLOW_VERSIONS, defaultFlow } from './default-flow';
import { NoPublishedFlowError, type FlowRepository } from './repository';

/**
 * Inserts each version of the default flow that is missing, never changing one already there
 * (`hailong seed` and `hailong start` both call this: one way to put the default flow in place).
 * Two processes starting at once may race on the insert: the loser finds it on its retry.
 * Returns whether the newest version was inserted by this call.
 */
export async function ensureDefaultFlows(flows: FlowRepository): Promise<boolean> {
  const existed = await FlowModel.exists({ key: defaultFlow.key, version: defaultFlow.version });
  for (const flow of DEFAULT_FLOW_VERSIONS) await retryOnDuplicate(() => flows.ensure(flow));
  return !existed;
}

/**
 * At start-up: the default flow is in place, and some version of it is published (an operator
 * may have archived every one; a citizen's /start would then only get an apology). Refuses to
 * start, with what to do, when the database cannot take the insert or nothing is published.
 */
export async function requireDefaultFlow(flows: FlowRepository): Promise<void> {
  try {
    await ensureDefaultFlows(flows);
  } catch (err) {
    throw new UserError(
      `không thể tạo bảng hỏi mặc định "${defaultFlow.key}" (${(err as Error).message}); chạy \`npx hailong seed\` rồi khởi động lại`,
      `could not put the default flow "${defaultFlow.key}" in place (${(err as Error).message}); run \`npx hailong seed\` and start again`,
    );
  }
  try {
    await flows.latestPublished(defaultFlow.key);
  } catch (err) {
    if (!(err instanceof NoPublishedFlowError)) throw err;
    throw new UserError(
      `không có phiên bản nào của bảng hỏi "${defaultFlow.key}" đang được công bố (tất cả đã lưu trữ); công bố một phiên bản trước khi khởi động`,
      `no version of the flow "${defaultFlow.key}" is published (all are archived); publish one before starting`,
    );
  }
}
