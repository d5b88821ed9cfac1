import { Flow as FlowModel } from '../../models/flow';
import {
  LiveAssignments,
  liveAssignmentsChanged,
  liveFlowsGeneration,
  type LiveTarget,
} from './live-assignments';
import type { Flow } from './schema';
import { validateFlow, type FlowIssue } from './validate';

interface LatestEntry {
  at: number;
  /** liveFlowsGeneration() when it was read: a change announced since makes it stale. */
  gen: number;
  version: Promise<number>;
  /** A renewal ahead of expiry is under way. */
  renewing: boolean;
}

/**
 * No published version of the flow a new survey needs (an empty database, every version archived).
 * Typed so the conversation can apologise to the citizen instead of failing the update.
 */
export class NoPublishedFlowError extends Error {
  constructor(readonly flowKey: string) {
    super(`no published version of flow "${flowKey}" (run \`hailong seed\`)`);
    this.name = 'NoPublishedFlowError';
  }
}

export class FlowValidationError extends Error {
  constructor(readonly issues: FlowIssue[]) {
    super(`invalid flow: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'FlowValidationError';
  }
}

/**
 * Flow versions from MongoDB. Published versions are immutable, so a (key, version) is parsed
 * once and cached for the life of the process (single flight: concurrent misses share one read).
 * Which version is the latest published is looked up at most every `latestTtlMs` per key, so a
 * survey start does not read and validate the whole definition each time (under many concurrent
 * starts that made `/start` wait on the database); a version published in this process or
 * announced by another (bot/flow/change-bus.ts) is used by new surveys at once. A start past half
 * the time to live renews the lookup in the background, and until the renewal is back every start
 * gets the version known, however old: once a version is known, no start waits for the lookup,
 * which queues behind the workers' writes on a loaded database. (Waiting for it past the time to
 * live held every start of a burst that came after a quiet spell: bench/bursts.ts.) When an
 * announcement is lost, new surveys get the new version once a renewal has read it: from the
 * start after the one that begins the renewal, half the time to live after the last lookup.
 */
export class FlowRepository {
  private readonly byVersion = new Map<string, Promise<Flow>>();
  private readonly latest = new Map<string, LatestEntry>();
  private readonly assignments: LiveAssignments;

  constructor(
    private readonly latestTtlMs = 5000,
    /** The clock of the time to live (a test steps it instead of waiting). */
    private readonly now: () => number = Date.now,
  ) {
    this.assignments = new LiveAssignments(latestTtlMs, now);
  }

  /**
   * The version a new survey of this unit and procedure gets: the most specific assignment
   * (bot/flow/live-assignments.ts), else the latest published version of `fallbackKey`.
   */
  async live(fallbackKey: string, target: LiveTarget | null): Promise<Flow> {
    const pick = await this.assignments.pick(target);
    return pick ? this.get(pick.flowKey, pick.version) : this.latestPublished(fallbackKey);
  }

  get(key: string, version: number): Promise<Flow> {
    const id = `${key}@${version}`;
    const hit = this.byVersion.get(id);
    if (hit) return hit;
    const load = (async () => {
      const doc = await FlowModel.findOne({
        key,
        version,
        status: { $in: ['published', 'archived'] },
      }).lean();
      if (!doc) throw new Error(`flow ${id} is not published`);
      return this.parse(doc.definition);
    })();
    this.byVersion.set(id, load);
    load.catch(() => this.byVersion.get(id) === load && this.byVersion.delete(id));
    return load;
  }

  async latestPublished(key: string): Promise<Flow> {
    const now = this.now();
    let entry = this.latest.get(key);
    const gen = liveFlowsGeneration();
    if (!entry || entry.gen !== gen) {
      entry = this.loadLatest(key, now, gen);
      this.latest.set(key, entry);
    } else if (now - entry.at > this.latestTtlMs / 2 && !entry.renewing) {
      // Off the caller's path; the version known is served meanwhile. A database that does not
      // answer keeps it; a database that says nothing is published any more drops it, so the
      // next start is told so instead of starting an archived flow.
      const old = entry;
      old.renewing = true;
      const fresh = this.loadLatest(key, now, gen);
      fresh.version
        // The new version's definition is loaded before a start can pick it.
        .then((v) => this.get(key, v))
        .then(
          () => void (this.latest.get(key) === old && this.latest.set(key, fresh)),
          (err: unknown) => {
            if (err instanceof NoPublishedFlowError && this.latest.get(key) === old) this.latest.delete(key);
            else old.renewing = false;
          },
        );
    }
    return this.get(key, await entry.version);
  }

  private loadLatest(key: string, now: number, gen: number): LatestEntry {
    const version = FlowModel.findOne({ key, status: 'published' }, { version: 1 })
      .sort({ version: -1 })
      .lean()
      .then((doc) => {
        if (!doc) throw new NoPublishedFlowError(key);
        return doc.version;
      });
    const entry: LatestEntry = { at: now, gen, version, renewing: false };
    version.catch(() => this.latest.get(key) === entry && this.latest.delete(key));
    return entry;
  }

  /**
   * Publishes a definition as the next version of its key. The stored version number is
   * assigned here; the definition's own `version` is overwritten. Nothing is written when the
   * flow is invalid.
   */
  async publish(definition: unknown, by = 'system'): Promise<Flow> {
    const checked = validateFlow(definition);
    if (!checked.ok) throw new FlowValidationError(checked.issues);
    const last = await FlowModel.findOne({ key: checked.flow.key }).sort({ version: -1 }).lean();
    const version = (last?.version ?? 0) + 1;
    const flow: Flow = { ...checked.flow, version };
    await FlowModel.create({
      key: flow.key,
      version,
      status: 'published',
      definition: flow,
      publishedAt: new Date(),
      createdBy: by,
    });
    // Every repository here, and (announced) in every other process, reads the new latest.
    liveAssignmentsChanged();
    return flow;
  }

  /** Inserts this exact version when absent (seeding); never touches an existing version. */
  async ensure(flow: Flow): Promise<void> {
    const checked = validateFlow(flow);
    if (!checked.ok) throw new FlowValidationError(checked.issues);
    const now = new Date();
    // timestamps off: on an existing version this must change nothing, not even updatedAt.
    const put = await FlowModel.updateOne(
      { key: flow.key, version: flow.version },
      {
        $setOnInsert: {
          status: 'published',
          definition: checked.flow,
          publishedAt: now,
          createdBy: 'seed',
          createdAt: now,
          updatedAt: now,
        },
      },
      { upsert: true, timestamps: false },
    );
    // A version put in place here is used by new surveys at once, as a published one is.
    if (put.upsertedCount > 0) liveAssignmentsChanged();
    this.latest.delete(flow.key);
  }

  private parse(definition: unknown): Flow {
    const checked = validateFlow(definition);
    if (!checked.ok) throw new FlowValidationError(checked.issues);
    return checked.flow;
  }
}
