import type { Connection } from 'mongoose';

/** The driver's client under a mongoose connection. */
type MongoClient = ReturnType<Connection['getClient']>;

export type MongoCommandReport = Record<string, { count: number; p99Ms: number; maxMs: number }>;

/**
 * The MongoDB commands this process's client ran during a part, by collection and command, with
 * their times (driver command monitoring: the client must have been made with
 * `monitorCommands=true` in its URI). Tells whether a turn read the database (the bot's reads
 * are of flows, assignments, units and contacts) and how long such a read waited.
 */
export function watchMongoCommands(client: MongoClient): { stop(): MongoCommandReport } {
  const started = new Map<number, { key: string; at: number }>();
  const times = new Map<string, number[]>();
  const onStarted = (e: { requestId: number; commandName: string; command: Record<string, unknown> }) => {
    const coll = e.command[e.commandName];
    const key = `${typeof coll === 'string' ? coll : '-'}.${e.commandName}`;
    started.set(e.requestId, { key, at: performance.now() });
  };
  const onEnded = (e: { requestId: number }) => {
    const s = started.get(e.requestId);
    if (!s) return;
    started.delete(e.requestId);
    let list = times.get(s.key);
    if (!list) times.set(s.key, (list = []));
    list.push(performance.now() - s.at);
  };
  client.on('commandStarted', onStarted);
  client.on('commandSucceeded', onEnded);
  client.on('commandFailed', onEnded);
  return {
    stop() {
      client.off('commandStarted', onStarted);
      client.off('commandSucceeded', onEnded);
      client.off('commandFailed', onEnded);
      const out: MongoCommandReport = {};
      for (const [k, list] of times) {
        list.sort((a, b) => a - b);
        out[k] = {
          count: list.length,
          p99Ms: list[Math.min(list.length - 1, Math.floor(0.99 * list.length))]!,
          maxMs: list.at(-1)!,
        };
      }
      return out;
    },
  };
}

export function describeMongoCommands(r: MongoCommandReport): string {
  const rows = Object.entries(r).sort((a, b) => b[1].count - a[1].count);
  if (rows.length === 0) return 'MongoDB: no command from this process';
  return `MongoDB from this process: ${rows
    .map(([k, v]) => `${k} ${v.count}× (p99 ${v.p99Ms.toFixed(1)}, max ${v.maxMs.toFixed(1)} ms)`)
    .join(', ')}`;
}
