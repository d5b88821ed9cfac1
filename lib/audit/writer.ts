import { setTimeout as sleep } from 'node:timers/promises';
import { AuditLog } from '../../models/audit-log';
import { isDuplicateKey } from '../mongo';
import type { AuditDetails } from './chain';

/** One audit entry as its writer gives it; seq and the hashes are added when it is appended. */
export interface AuditInput {
  /** A username, `key:<keyId>`, `cli` or `system`. */
  actor: string;
  /** `domain.verb`, e.g. `auth.login`, `user.disabled`, `case.closed`. */
  action: string;
  targetType: string;
  targetId: string;
  unitCode?: string | null;
  /** An official's written reason (exclusions, cancels). */
  reason?: string | null;
  /** The client address of the request, when there is one. */
  ip?: string | null;
  /** Ids, counts and flags only, never personal data. */
  details?: AuditDetails | null;
  at?: Date;
}

export interface AppendedAudit {
  seq: number;
  hash: string;
}

/** Appends racing for the same seq: a loser reads the new newest entry and tries again. */
const MAX_TRIES = 50;

function checkDetails(details: AuditDetails): void {
  for (const [k, v] of Object.entries(details)) {
    const ok =
      v === null ||
      ['string', 'number', 'boolean'].includes(typeof v) ||
      (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!ok) throw new TypeError(`audit details.${k}: ids, counts and flags only`);
  }
}

/**
 * The audit log's writer: appends one entry at the end of the hash chain (models/audit-log.ts
 * computes the link). Works from any number of processes without transactions: the unique
 * index on seq lets one of two racing appends win, and the other tries again after a short,
 * random pause.
 */
export async function appendAudit(input: AuditInput): Promise<AppendedAudit> {
  const details = input.details && Object.keys(input.details).length > 0 ? input.details : null;
  if (details) checkDetails(details);
  const entry = {
    at: input.at ?? new Date(),
    actor: input.actor,
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId,
    unitCode: input.unitCode ?? null,
    reason: input.reason ?? null,
    ip: input.ip ?? null,
    details,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const doc = await AuditLog.create(entry);
      return { seq: doc.seq, hash: doc.hash };
    } catch (err) {
      if (!isDuplicateKey(err) || attempt >= MAX_TRIES) throw err;
      await sleep(Math.floor(Math.random() * 5 * Math.min(attempt, 10)));
    }
  }
}
