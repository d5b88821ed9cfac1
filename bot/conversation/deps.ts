import type { Logger } from '../../lib/logger';
import type { FlowRepository } from '../flow/repository';
import type { LiveStore } from './live-store';
import type {
  AnswerSink,
  ConversationBackground,
  ConversationHooks,
  ConversationRecords,
  PrivacyRequests,
  TokenResolver,
} from './ports';

/** What the conversation service is made of (app/start.ts wires the production ones). */
export interface ConversationDeps {
  flows: FlowRepository;
  sink: AnswerSink;
  store: LiveStore;
  background: ConversationBackground;
  /** MongoDB reads, only for what the live store does not know (mongo-records.ts). */
  records: ConversationRecords;
  resolveToken: TokenResolver;
  log: Logger;
  hooks?: ConversationHooks;
  /** /dulieu and /xoa; without it the citizen is told to ask at the counter. */
  privacy?: PrivacyRequests;
  now?: () => Date;
  flowKey?: string;
  /** Record a contact's last interaction at most this often (ms). */
  touchEveryMs?: number;
}
