import { Flow as FlowModel } from '../../models/flow';
import { FlowAssignment } from '../../models/flow-assignment';
import { liveAssignmentsChanged, LiveAssignments, type AssignmentRow } from './live-assignments';

/** The flow key the conversation service starts when nothing is assigned (ConversationDeps.flowKey). */
export const DEFAULT_FLOW_KEY = 'default';

/** An assignment as the API gives it: null is "every unit" / "every procedure". */
export interface Assignment {
  unitCode: string | null;
  procedureCode: string | null;
  flowKey: string;
  version: number;
  assignedBy: string;
  updatedAt: Date;
}

/** The version asked for is not a published one. */
export class NotPublishedError extends Error {
  constructor(
    readonly flowKey: string,
    readonly version: number,
  ) {
    super(`flow ${flowKey}@${version} is not published`);
    this.name = 'NotPublishedError';
  }
}

const stored = (v: string | null | undefined) => v ?? '';
const given = (v: string | null | undefined) => (v ? v : null);

export async function listAssignments(filter: Record<string, unknown>): Promise<Assignment[]> {
  const docs = await FlowAssignment.find(filter).sort({ unitCode: 1, procedureCode: 1 }).lean();
  return docs.map((d) => ({
    unitCode: given(d.unitCode),
    procedureCode: given(d.procedureCode),
    flowKey: d.flowKey,
    version: d.version,
    assignedBy: d.assignedBy,
    updatedAt: d.updatedAt,
  }));
}

/** The assignment of exactly this unit and procedure, if any. */
export async function assignmentAt(
  unitCode: string | null,
  procedureCode: string | null,
): Promise<Assignment | null> {
  return (
    (await listAssignments({ unitCode: stored(unitCode), procedureCode: stored(procedureCode) }))[0] ?? null
  );
}

/**
 * Makes `flowKey@version` live for the unit and procedure (replacing what was assigned there).
 * Sessions already started keep their own version: they carry it.
 */
export async function assign(
  a: Omit<Assignment, 'assignedBy' | 'updatedAt'>,
  by: string,
): Promise<{ assignment: Assignment; previous: Assignment | null }> {
  const published = await FlowModel.exists({ key: a.flowKey, version: a.version, status: 'published' });
  if (!published) throw new NotPublishedError(a.flowKey, a.version);
  const previous = await assignmentAt(a.unitCode, a.procedureCode);
  await FlowAssignment.updateOne(
    { unitCode: stored(a.unitCode), procedureCode: stored(a.procedureCode) },
    { $set: { flowKey: a.flowKey, version: a.version, assignedBy: by } },
    { upsert: true },
  );
  liveAssignmentsChanged();
  return { assignment: (await assignmentAt(a.unitCode, a.procedureCode))!, previous };
}

/** Removes the assignment of the unit and procedure: they inherit again. False when there was none. */
export async function unassign(
  unitCode: string | null,
  procedureCode: string | null,
): Promise<Assignment | null> {
  const previous = await assignmentAt(unitCode, procedureCode);
  if (!previous) return null;
  await FlowAssignment.deleteOne({ unitCode: stored(unitCode), procedureCode: stored(procedureCode) });
  liveAssignmentsChanged();
  return previous;
}

/**
 * Before the first version of the default flow is published through the API: the version live
 * until now (the latest published) becomes the explicit default, so publishing changes nothing
 * live by itself and a district's publish cannot change another district's surveys. Returns the
 * pinned assignment, or null when a default already existed (or nothing was published yet).
 */
export async function pinDefaultBeforePublish(by: string): Promise<AssignmentRow | null> {
  if (await FlowAssignment.exists({ unitCode: '', procedureCode: '' })) return null;
  const latest = await FlowModel.findOne({ key: DEFAULT_FLOW_KEY, status: 'published' }, { version: 1 })
    .sort({ version: -1 })
    .lean();
  if (!latest) return null;
  const row = { unitCode: '', procedureCode: '', flowKey: DEFAULT_FLOW_KEY, version: latest.version };
  const res = await FlowAssignment.updateOne(
    { unitCode: '', procedureCode: '' },
    { $setOnInsert: { ...row, assignedBy: by } },
    { upsert: true },
  );
  liveAssignmentsChanged();
  return res.upsertedCount > 0 ? row : null;
}

/** What is live for a unit and procedure, and which assignment says so (null: the latest published). */
export async function liveFor(
  unitCode: string | null,
  procedureCode: string | null,
): Promise<{ flowKey: string; version: number; assignment: Assignment | null }> {
  const pick = await new LiveAssignments(0, Date.now).pick({ unitCode, procedureCode });
  if (pick) {
    const assignment = await assignmentAt(given(pick.unitCode), given(pick.procedureCode));
    return { flowKey: pick.flowKey, version: pick.version, assignment };
  }
  const latest = await FlowModel.findOne({ key: DEFAULT_FLOW_KEY, status: 'published' }, { version: 1 })
    .sort({ version: -1 })
    .lean();
  return { flowKey: DEFAULT_FLOW_KEY, version: latest?.version ?? 0, assignment: null };
}
