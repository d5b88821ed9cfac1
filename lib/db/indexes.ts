import type { Model } from 'mongoose';
import type { Env } from '../../config/env';
import * as models from '../../models';
import { UserError } from '../user-error';

/**
 * The indexes of every model (models/index.ts), built on purpose and checked, never by
 * mongoose's autoIndex on first use (lib/mongo.ts turns it off): `hailong db indexes` builds
 * them, `hailong db check` says what is missing, and `hailong start` builds them itself only in
 * development and tests (or with MONGO_BUILD_INDEXES=true). On a large collection an index build
 * is an operator's decision, taken at a chosen time; and the unique ones are what make ingest
 * idempotent, so a production process refuses to start without them.
 */
const MODELS: readonly Model<never>[] = Object.values(models) as unknown as Model<never>[];

export interface IndexSpec {
  collection: string;
  key: Record<string, unknown>;
  unique: boolean;
  sparse: boolean;
}

export interface IndexBuild {
  collection: string;
  created: string[];
  undeclared: string[];
}

interface ListedIndex {
  name: string;
  key: Record<string, unknown>;
  unique?: boolean;
  sparse?: boolean;
}

/** Whether `hailong start` builds the indexes itself (development, tests, or MONGO_BUILD_INDEXES). */
export function buildsIndexesAtStart(env: Pick<Env, 'NODE_ENV' | 'MONGO_BUILD_INDEXES'>): boolean {
  return env.MONGO_BUILD_INDEXES ?? env.NODE_ENV !== 'production';
}

/** Every index the schemas declare (the one on _id comes with each collection). */
export function expectedIndexes(): IndexSpec[] {
  return MODELS.flatMap((m) =>
    m.schema.indexes().map(([key, opts]) => ({
      collection: m.collection.collectionName,
      key: key as Record<string, unknown>,
      unique: opts?.unique === true,
      sparse: opts?.sparse === true,
    })),
  );
}

async function listIndexes(m: Model<never>): Promise<ListedIndex[]> {
  try {
    return (await m.collection.listIndexes().toArray()) as unknown as ListedIndex[];
  } catch (err) {
    // A collection that does not exist yet has no indexes (NamespaceNotFound).
    if ((err as { code?: unknown }).code === 26) return [];
    throw err;
  }
}

const sameKey = (a: Record<string, unknown>, b: Record<string, unknown>): boolean =>
  JSON.stringify(Object.entries(a)) === JSON.stringify(Object.entries(b));

/**
 * Builds every model's missing indexes (createIndexes: never drops one, so an index an operator
 * added stays; `undeclared` lists those no schema declares).
 */
export async function buildIndexes(): Promise<IndexBuild[]> {
  const out: IndexBuild[] = [];
  for (const m of MODELS) {
    const before = new Set((await listIndexes(m)).map((i) => i.name));
    await m.createIndexes();
    const after = await listIndexes(m);
    const declared = m.schema.indexes().map(([key]) => key as Record<string, unknown>);
    out.push({
      collection: m.collection.collectionName,
      created: after.map((i) => i.name).filter((n) => !before.has(n)),
      undeclared: after
        .filter((i) => i.name !== '_id_' && !declared.some((k) => sameKey(k, i.key)))
        .map((i) => i.name),
    });
  }
  return out;
}

/** The declared indexes the connected database lacks (a unique one without `unique` counts). */
export async function missingIndexes(): Promise<IndexSpec[]> {
  const present = new Map<string, ListedIndex[]>();
  for (const m of MODELS) present.set(m.collection.collectionName, await listIndexes(m));
  return expectedIndexes().filter(
    (want) =>
      !(present.get(want.collection) ?? []).some(
        (have) =>
          sameKey(have.key, want.key) &&
          (have.unique === true) === want.unique &&
          // FerretDB 1.24 builds a sparse index but does not list the option: unknown is accepted.
          (have.sparse === undefined || have.sparse === want.sparse),
      ),
  );
}

export const describeIndex = (i: IndexSpec): string =>
  `${i.collection} ${JSON.stringify(i.key)}${i.unique ? ' unique' : ''}${i.sparse ? ' sparse' : ''}`;

/** A production start without its indexes: refused, with what to run. */
export async function requireIndexes(): Promise<void> {
  const missing = await missingIndexes();
  if (missing.length === 0) return;
  const list = missing.slice(0, 3).map(describeIndex).join('; ');
  throw new UserError(
    `cơ sở dữ liệu thiếu ${missing.length} chỉ mục (${list}); chạy \`npx hailong db indexes\` trước khi khởi động`,
    `the database lacks ${missing.length} index(es) (${list}); run \`npx hailong db indexes\` before starting`,
  );
}
