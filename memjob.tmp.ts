import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
(async () => {
  const conn = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const prefix = '{memtest}';
  const q = new Queue('broadcast-telegram', { connection: conn, prefix });
  const job = await q.add('broadcast.deliver', { b: '6747a1b2c3d4e5f6a7b8c9d0', c: '6747a1b2c3d4e5f6a7b8c9d1', u: '10000001', l: 'vi' }, { jobId: 'bc-6747a1b2c3d4e5f6a7b8c9d0-6747a1b2c3d4e5f6a7b8c9d1', attempts: 8, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 86400, count: 500000 } });
  const w = new Worker('broadcast-telegram', async () => undefined, { connection: new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null }), prefix });
  await new Promise((r) => w.on('completed', r));
  const k = `${prefix}:broadcast-telegram:${job.id}`;
  console.log('completed job hash bytes', await conn.call('MEMORY', 'USAGE', k), 'fields', await conn.hlen(k));
  await w.close(); await q.obliterate({ force: true }); await q.close(); await conn.quit();
})();
