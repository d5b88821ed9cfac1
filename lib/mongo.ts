import mongoose from 'mongoose';

/**
 * Connects mongoose. Works against MongoDB 6+ and FerretDB 1.24: no transactions, no change
 * streams, no TTL expiry, simple pipelines only (see DEVELOPERS.md).
 */
export async function connectMongo(uri: string, dbName?: string): Promise<typeof mongoose> {
  mongoose.set('strictQuery', true);
  // Indexes are built by `syncIndexes()` at seed/start, not implicitly on first model use.
  mongoose.set('autoIndex', false);
  return mongoose.connect(uri, { dbName, serverSelectionTimeoutMS: 5000 });
}

export async function disconnectMongo(): Promise<void> {
  await mongoose.disconnect();
}
