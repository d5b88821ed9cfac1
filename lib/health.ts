import mongoose from 'mongoose';
import type { RedisClient } from './redis';

export type Check = 'ok' | 'down';

export interface Health {
  redis: Check;
  mongodb: Check;
}

/** Resolves 'ok' when `probe` answers within `ms`, 'down' otherwise; leaves no timer behind. */
async function check(probe: () => Promise<unknown>, ms: number): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

async function pingMongo(): Promise<void> {
  const conn = mongoose.connection;
  if (!conn.db || conn.readyState !== mongoose.ConnectionStates.connected) throw new Error('not connected');
  await conn.db.command({ ping: 1 });
}

/** This process's own connections: Redis PING and MongoDB `ping`, each within `timeoutMs`. */
export async function probeHealth(redis: RedisClient, timeoutMs: number): Promise<Health> {
  const [r, m] = await Promise.all([check(() => redis.ping(), timeoutMs), check(pingMongo, timeoutMs)]);
  return { redis: r, mongodb: m };
}
