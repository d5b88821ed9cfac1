import { AuditLog } from '../../models/audit-log';
import { GENESIS_HASH, auditEntryHash } from './chain';

export type ChainProblem =
  /** An entry without a place in the chain (written around the model). */
  | 'unchained'
  /** seq does not follow the previous entry: entries were removed (or inserted with a chosen seq). */
  | 'gap'
  /** prevHash is not the previous entry's hash. */
  | 'broken_link'
  /** The entry's fields no longer give its hash: it was edited. */
  | 'hash_mismatch';

export interface ChainBreak {
  problem: ChainProblem;
  /** The entry that does not match (its seq, null for an unchained one) and its id. */
  seq: number | null;
  id: string;
  /** The seq the chain expected at that place. */
  expectedSeq: number;
}

export interface ChainReport {
  ok: boolean;
  /** Entries checked before the first break (all of them when ok). */
  checked: number;
  /** The newest entry checked: record it elsewhere to detect a later removal of the newest entries. */
  head: { seq: number; hash: string } | null;
  firstBreak: ChainBreak | null;
}

/**
 * Walks the audit log in seq order from the first entry and stops at the first one that does
 * not match: a gap in seq, a prevHash that is not the previous hash, or a hash its fields no
 * longer give. Removing the newest entries leaves a valid shorter chain: the report's head is
 * what an operator keeps elsewhere to notice that.
 */
export async function verifyAuditChain(): Promise<ChainReport> {
  const stray = await AuditLog.findOne(
    { $or: [{ seq: { $exists: false } }, { seq: null }] },
    { _id: 1 },
  ).lean();
  if (stray) {
    return {
      ok: false,
      checked: 0,
      head: null,
      firstBreak: { problem: 'unchained', seq: null, id: String(stray._id), expectedSeq: 1 },
    };
  }
  let prev: { seq: number; hash: string } | null = null;
  let checked = 0;
  const cursor = AuditLog.find({}).sort({ seq: 1 }).lean().cursor({ batchSize: 500 });
  try {
    for await (const e of cursor) {
      const expectedSeq: number = (prev?.seq ?? 0) + 1;
      const at = { seq: e.seq, id: String(e._id), expectedSeq };
      let problem: ChainProblem | null = null;
      if (e.seq !== expectedSeq) problem = 'gap';
      else if (e.prevHash !== (prev?.hash ?? GENESIS_HASH)) problem = 'broken_link';
      else if (!hashMatches(e)) problem = 'hash_mismatch';
      if (problem) return { ok: false, checked, head: prev, firstBreak: { problem, ...at } };
      prev = { seq: e.seq, hash: e.hash };
      checked++;
    }
  } finally {
    await cursor.close();
  }
  return { ok: true, checked, head: prev, firstBreak: null };
}

function hashMatches(e: Parameters<typeof auditEntryHash>[0] & { hash: string }): boolean {
  try {
    return auditEntryHash(e) === e.hash;
  } catch {
    // A field edited into something of another type (a date into a string) cannot be hashed.
    return false;
  }
}
