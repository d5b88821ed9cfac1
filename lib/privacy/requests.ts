import type { PrivacyRequests } from '../../bot/conversation/ports';
import { describeSubjectData, subjectData } from './access';
import { eraseSubject } from './erase';
import type { PrivacyDeps } from './subject';

/** /dulieu and /xoa from a chat: the citizen is the subject, and the actor of the audit entry. */
export function privacyRequests(deps: PrivacyDeps): PrivacyRequests {
  return {
    access: async (channel, userId, lang) =>
      describeSubjectData(await subjectData({ channel, userId }, deps), lang),
    erase: async (channel, userId) =>
      (await eraseSubject({ channel, userId }, { ...deps, actor: `citizen:${channel}` })).erasureId,
  };
}
