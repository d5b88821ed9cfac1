import { Flow as FlowModel } from '../../models/flow';
import type { Flow } from './schema';
import { validateFlow, type FlowIssue } from './validate';

export class FlowValidationError extends Error {
  constructor(readonly issues: FlowIssue[]) {
    super(`invalid flow: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'FlowValidationError';
  }
}

/**
 * Flow versions from MongoDB. Published versions are immutable, so a (key, version) is cached
 * for the life of the process; "latest published" is looked up each time a survey starts.
 */
export class FlowRepository {
  private readonly byVersion = new Map<string, Flow>();

  async get(key: string, version: number): Promise<Flow> {
    const id = `${key}@${version}`;
    const hit = this.byVersion.get(id);
    if (hit) return hit;
    const doc = await FlowModel.findOne({ key, version, status: { $in: ['published', 'archived'] } }).lean();
    if (!doc) throw new Error(`flow ${id} is not published`);
    const flow = this.parse(doc.definition);
    this.byVersion.set(id, flow);
    return flow;
  }

  async latestPublished(key: string): Promise<Flow> {
    const doc = await FlowModel.findOne({ key, status: 'published' }).sort({ version: -1 }).lean();
    if (!doc) throw new Error(`no published version of flow "${key}" (run \`hailong seed\`)`);
    const flow = this.parse(doc.definition);
    this.byVersion.set(`${key}@${doc.version}`, flow);
    return flow;
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
    await FlowModel.create({ key: flow.key, version, status: 'published', definition: flow, publishedAt: new Date(), createdBy: by });
    return flow;
  }

  /** Inserts this exact version when absent (seeding); never touches an existing version. */
  async ensure(flow: Flow): Promise<void> {
    const checked = validateFlow(flow);
    if (!checked.ok) throw new FlowValidationError(checked.issues);
    await FlowModel.updateOne(
      { key: flow.key, version: flow.version },
      { $setOnInsert: { status: 'published', definition: checked.flow, publishedAt: new Date(), createdBy: 'seed' } },
      { upsert: true },
    );
  }

  private parse(definition: unknown): Flow {
    const checked = validateFlow(definition);
    if (!checked.ok) throw new FlowValidationError(checked.issues);
    return checked.flow;
  }
}
