import mongoose from 'mongoose';

/**
 * Connects mongoose. Works against MongoDB 6+ and FerretDB 1.24: no transactions, no change
 * streams, no TTL expiry, simple pipelines only (see DEVELOPERS.md).
 */
export async function connectMongo(uri: string, dbName?: string): Promise<typeof mongoose> {
  mongoose.set('strictQuery', true);
  // Indexes are built on purpose (lib/db/indexes.ts: `hailong db indexes`, seed, a development
  // or test start), never implicitly on first model use.
  mongoose.set('autoIndex', false);
  return mongoose.connect(uri, { dbName, serverSelectionTimeoutMS: 5000 });
}

export async function disconnectMongo(): Promise<void> {
  await mongoose.disconnect();
}

const DUPLICATE_KEY = 11000;

interface WriteErrorLike {
  code?: unknown;
  // The driver's MongoBulkWriteError holds one write error or several.
  writeErrors?: WriteError | WriteError[];
}
type WriteError = { code?: unknown; err?: { code?: unknown } };

/** The error codes of a failed write: one per failed document for bulk writes, else its own. */
function writeErrorCodes(err: unknown): unknown[] {
  if (typeof err !== 'object' || err === null) return [];
  const e = err as WriteErrorLike;
  const writeErrors = e.writeErrors === undefined ? [] : ([] as WriteError[]).concat(e.writeErrors);
  return writeErrors.length > 0 ? writeErrors.map((w) => w.code ?? w.err?.code) : [e.code];
}

/** Whether a write failed (at least partly) on a unique index. */
export function isDuplicateKey(err: unknown): boolean {
  return writeErrorCodes(err).includes(DUPLICATE_KEY);
}

/**
 * For an unordered bulk write: how many documents were refused as duplicates, when that is the
 * only reason any was refused (an idempotent replay); null when something else failed too.
 */
export function onlyDuplicateKeys(err: unknown): number | null {
  const codes = writeErrorCodes(err);
  return codes.length > 0 && codes.every((c) => c === DUPLICATE_KEY) ? codes.length : null;
}

/**
 * Two upserts of the same new key racing (on two workers) can both try the insert; the loser
 * gets E11000. Running it again finds the document and updates it, so the write stays
 * idempotent instead of failing the job.
 */
export async function retryOnDuplicate<T>(write: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await write();
    } catch (err) {
      if (i >= tries || !isDuplicateKey(err)) throw err;
    }
  }
}
