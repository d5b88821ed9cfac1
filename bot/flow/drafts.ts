import { Types } from 'mongoose';
import { isDuplicateKey } from '../../lib/mongo';
import { Flow as FlowModel } from '../../models/flow';
import { FlowDraft } from '../../models/flow-draft';
import { DEFAULT_FLOW_KEY, pinDefaultBeforePublish } from './assignments';
import type { AssignmentRow } from './live-assignments';
import { FlowValidationError, type FlowRepository } from './repository';
import type { Flow } from './schema';
import { validateFlow, type FlowValidation } from './validate';

/** A draft as handlers read it. */
export interface Draft {
  id: string;
  key: string;
  unitCode: string | null;
  definition: Record<string, unknown>;
  baseVersion: number | null;
  rev: number;
  createdBy: string;
  updatedBy: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The draft was edited by someone else since the caller read it (its `rev` moved on). */
export class DraftConflictError extends Error {
  constructor(readonly draftId: string) {
    super(`draft ${draftId} was changed by someone else`);
    this.name = 'DraftConflictError';
  }
}

type DraftDocLike = Omit<Draft, 'id' | 'definition'> & { _id: Types.ObjectId; definition: unknown };

function toDraft(d: DraftDocLike): Draft {
  return {
    id: String(d._id),
    key: d.key,
    unitCode: d.unitCode ?? null,
    definition: (d.definition ?? {}) as Record<string, unknown>,
    baseVersion: d.baseVersion ?? null,
    rev: d.rev ?? 0,
    createdBy: d.createdBy,
    updatedBy: d.updatedBy,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

export async function findDraft(id: string): Promise<Draft | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const doc = await FlowDraft.findById(id).lean();
  return doc ? toDraft(doc as DraftDocLike) : null;
}

export async function listDrafts(filter: Record<string, unknown>): Promise<Draft[]> {
  const docs = await FlowDraft.find(filter).sort({ updatedAt: -1 }).limit(500).lean();
  return docs.map((d) => toDraft(d as DraftDocLike));
}

/** A published version's definition (null when there is no such published or archived version). */
export async function versionDefinition(key: string, version: number): Promise<Flow | null> {
  const doc = await FlowModel.findOne({ key, version, status: { $in: ['published', 'archived'] } }).lean();
  return doc ? (doc.definition as Flow) : null;
}

export async function createDraft(p: {
  key: string;
  unitCode: string | null;
  definition: Record<string, unknown>;
  baseVersion: number | null;
  by: string;
}): Promise<Draft> {
  const doc = await FlowDraft.create({
    key: p.key,
    unitCode: p.unitCode,
    definition: p.definition,
    baseVersion: p.baseVersion,
    createdBy: p.by,
    updatedBy: p.by,
  });
  return toDraft(doc.toObject() as DraftDocLike);
}

/** Replaces the draft's definition if nobody changed it since `rev` (DraftConflictError otherwise). */
export async function updateDraft(
  draft: Draft,
  definition: Record<string, unknown>,
  rev: number,
  by: string,
): Promise<Draft> {
  const res = await FlowDraft.updateOne(
    { _id: new Types.ObjectId(draft.id), rev },
    { $set: { definition, updatedBy: by }, $inc: { rev: 1 } },
  );
  if (res.matchedCount === 0) throw new DraftConflictError(draft.id);
  return (await findDraft(draft.id))!;
}

export async function deleteDraft(id: string): Promise<void> {
  await FlowDraft.deleteOne({ _id: new Types.ObjectId(id) });
}

/**
 * The draft as it would be published: its key and a placeholder version (publishing assigns the
 * next one), checked by validateFlow (paths as it gives them: `nodes.3.options.1.value`).
 */
export function checkDraft(draft: Pick<Draft, 'key' | 'definition'>): FlowValidation {
  return validateFlow({ ...draft.definition, key: draft.key, version: 1 });
}

/**
 * Publishes the draft as the next immutable version of its key, then removes it. Nothing is
 * written when it is invalid (FlowValidationError) or was changed since `rev`. Publishing makes
 * nothing live by itself (pinDefaultBeforePublish): an assignment does.
 */
export async function publishDraft(
  draft: Draft,
  rev: number,
  by: string,
  repo: FlowRepository,
): Promise<{ flow: Flow; pinned: AssignmentRow | null }> {
  if (draft.rev !== rev) throw new DraftConflictError(draft.id);
  const checked = checkDraft(draft);
  if (!checked.ok) throw new FlowValidationError(checked.issues);
  const pinned = draft.key === DEFAULT_FLOW_KEY ? await pinDefaultBeforePublish(by) : null;
  // Claimed first (its rev moves on): of two racing publishes of the same draft, one publishes and
  // the other conflicts. A publish that fails leaves the draft in place.
  const id = new Types.ObjectId(draft.id);
  const claimed = await FlowDraft.updateOne({ _id: id, rev }, { $inc: { rev: 1 } });
  if (claimed.matchedCount === 0) throw new DraftConflictError(draft.id);
  for (let attempt = 1; ; attempt++) {
    try {
      const flow = await repo.publish(checked.flow, by);
      await FlowDraft.deleteOne({ _id: id });
      return { flow, pinned };
    } catch (err) {
      // Another draft of the key took the same next version a moment earlier: take the one after.
      if (!isDuplicateKey(err) || attempt >= 5) throw err;
    }
  }
}
