import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import mongoose from 'mongoose';
import { UserError } from '../user-error';

/**
 * A logical backup that both FerretDB 1.24 and MongoDB accept (mongodump/mongorestore need a
 * MongoDB server's tools, not on every host, and FerretDB's PostgreSQL is backed up another way):
 * one file per collection, one canonical Extended JSON document a line (types kept: ObjectId,
 * Date, Decimal), its indexes beside it, and a manifest with the counts. Read back document by
 * document, so a dump of any size streams. Consistent per collection, not across collections:
 * take it when the workers are stopped, or accept that a job may have run between two files
 * (docs/operations.md, "Back up and restore").
 */
const { EJSON } = mongoose.mongo.BSON;
const BATCH = 1000;

export interface DumpManifest {
  format: 'hailong-ejson-1';
  dumpedAt: string;
  database: string;
  collections: Record<string, number>;
}

interface DumpedIndex {
  name: string;
  key: Record<string, unknown>;
  unique?: boolean;
  sparse?: boolean;
}

function db() {
  const d = mongoose.connection.db;
  if (!d) throw new Error('not connected to MongoDB');
  return d;
}

/** Writes every collection of the connected database (but scratch ones) under `dir`. */
export async function dumpDatabase(dir: string, now = new Date()): Promise<DumpManifest> {
  await mkdir(dir, { recursive: true });
  const names = (await db().listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((n) => !n.startsWith('system.') && !n.startsWith('_'))
    .sort();
  const collections: Record<string, number> = {};
  for (const name of names) {
    const coll = db().collection(name);
    const out = createWriteStream(path.join(dir, `${name}.ejson`));
    let n = 0;
    for await (const doc of coll.find({}).batchSize(BATCH)) {
      if (!out.write(`${EJSON.stringify(doc, { relaxed: false })}\n`)) await once(out, 'drain');
      n++;
    }
    out.end();
    await once(out, 'finish');
    const indexes = (await coll.listIndexes().toArray()) as unknown as DumpedIndex[];
    await writeFile(
      path.join(dir, `${name}.indexes.json`),
      JSON.stringify(
        indexes
          .filter((i) => i.name !== '_id_')
          .map(({ name: iname, key, unique, sparse }) => ({ name: iname, key, unique, sparse })),
      ),
    );
    collections[name] = n;
  }
  const manifest: DumpManifest = {
    format: 'hailong-ejson-1',
    dumpedAt: now.toISOString(),
    database: db().databaseName,
    collections,
  };
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * Restores a dump into the connected database: indexes first (the unique ones refuse a second
 * copy), then the documents in batches. Refuses a collection that already holds documents
 * unless `drop` (then it is dropped first), so a restore never mixes two states. Returns the
 * counts restored, which equal the manifest's.
 */
export async function restoreDatabase(
  dir: string,
  opts: { drop?: boolean } = {},
): Promise<Record<string, number>> {
  const manifest = await readManifest(dir);
  const names = Object.keys(manifest.collections);
  if (!opts.drop) {
    for (const name of names) {
      if ((await db().collection(name).estimatedDocumentCount()) > 0)
        throw new UserError(
          `bộ sưu tập ${name} đã có dữ liệu; dùng --drop để thay thế`,
          `collection ${name} is not empty; use --drop to replace it`,
        );
    }
  }
  const restored: Record<string, number> = {};
  for (const name of names) {
    if (opts.drop)
      await db()
        .collection(name)
        .drop()
        .catch(() => undefined);
    const coll = db().collection(name);
    const indexes = JSON.parse(
      await readFile(path.join(dir, `${name}.indexes.json`), 'utf8'),
    ) as DumpedIndex[];
    for (const i of indexes)
      await coll.createIndex(i.key as Record<string, 1 | -1>, {
        name: i.name,
        ...(i.unique ? { unique: true } : {}),
        ...(i.sparse ? { sparse: true } : {}),
      });
    let batch: Record<string, unknown>[] = [];
    let n = 0;
    const lines = createInterface({
      input: createReadStream(path.join(dir, `${name}.ejson`), 'utf8'),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      batch.push(EJSON.parse(line, { relaxed: false }) as Record<string, unknown>);
      if (batch.length >= BATCH) {
        await coll.insertMany(batch, { ordered: false });
        n += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) {
      await coll.insertMany(batch, { ordered: false });
      n += batch.length;
    }
    if (n !== manifest.collections[name])
      throw new Error(
        `restore of ${name}: ${n} documents read, the manifest says ${manifest.collections[name]}`,
      );
    restored[name] = n;
  }
  return restored;
}

async function readManifest(dir: string): Promise<DumpManifest> {
  let raw: string;
  try {
    raw = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new UserError(`không có bản sao lưu tại ${dir}`, `no dump in ${dir} (manifest.json missing)`, 2);
  }
  const m = JSON.parse(raw) as DumpManifest;
  if (m.format !== 'hailong-ejson-1')
    throw new UserError('định dạng sao lưu lạ', `unknown dump format ${String(m.format)}`, 2);
  const files = new Set(await readdir(dir));
  for (const name of Object.keys(m.collections))
    if (!files.has(`${name}.ejson`) || !files.has(`${name}.indexes.json`))
      throw new UserError(`bản sao lưu thiếu tệp của ${name}`, `the dump lacks the files of ${name}`, 2);
  return m;
}
