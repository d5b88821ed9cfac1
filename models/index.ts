/**
 * Every model. `hailong db indexes` builds the indexes of exactly these (autoIndex is off), and the
 * unique ones are what make writes idempotent: a model missing here runs without its indexes.
 * test/unit/models-index.test.ts checks that every model file is listed.
 */
export { ActionNote } from './action-note';
export { Answer } from './answer';
export { ApiKey } from './api-key';
export { AuditLog } from './audit-log';
export { Broadcast } from './broadcast';
export { Case } from './case';
export { Contact } from './contact';
export { Dossier } from './dossier';
export { DossierDay } from './dossier-day';
export { Flag } from './flag';
export { Flow } from './flow';
export { FlowAssignment } from './flow-assignment';
export { FlowDraft } from './flow-draft';
export { InvitationStat } from './invitation';
export { Procedure } from './procedure';
export { Response } from './response';
export { Rollup } from './rollup';
export { RollupMonth } from './rollup-month';
export { Session } from './session';
export { Unit } from './unit';
export { User } from './user';
export { ZaloToken } from './zalo-token';
