import { once } from 'node:events';
import { parseEnv } from '../../config/env';
import { connectionPlan, createProducerConnection, createWorkerConnection } from '../../lib/redis';
import { logger } from '../../lib/logger';

// Port 1: nothing listens there.
const DEAD_URL = 'redis://127.0.0.1:1';

// A connection that cannot reach Redis must report through the logger, not as ioredis's
// "Unhandled error event" (seen when a job outlived the shutdown's drain).
test.each([
  ['producer', createProducerConnection],
  ['worker', createWorkerConnection],
] as const)('a %s connection logs its connection errors', async (role, create) => {
  const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  const r = create({ REDIS_URL: DEAD_URL });
  try {
    await once(r, 'error');
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ role, err: expect.stringContaining('ECONNREFUSED') }),
      'redis connection error',
    );
  } finally {
    const ended = once(r, 'end');
    r.disconnect();
    await ended;
    warn.mockRestore();
  }
});

describe('REDIS_CLUSTER_NODES', () => {
  const target = (source: Record<string, string>) => parseEnv({ NODE_ENV: 'test', ...source });

  test('parses host:port seeds, and then every connection is a cluster client (it wins over REDIS_URL)', () => {
    const env = target({ REDIS_URL: DEAD_URL, REDIS_CLUSTER_NODES: 'redis-1:7001, 10.0.0.2:7002,' });
    const nodes = [
      { host: 'redis-1', port: 7001 },
      { host: '10.0.0.2', port: 7002 },
    ];
    expect(env.REDIS_CLUSTER_NODES).toEqual(nodes);
    for (const role of ['producer', 'worker'] as const)
      expect(connectionPlan(env, role)).toMatchObject({ kind: 'cluster', nodes });
  });

  test('unset or empty, every connection is to REDIS_URL', () => {
    for (const env of [
      target({ REDIS_URL: DEAD_URL }),
      target({ REDIS_URL: DEAD_URL, REDIS_CLUSTER_NODES: '' }),
    ]) {
      expect(env.REDIS_CLUSTER_NODES).toBeUndefined();
      for (const role of ['producer', 'worker'] as const)
        expect(connectionPlan(env, role)).toMatchObject({ kind: 'single', url: DEAD_URL });
    }
  });

  test('a worker cluster connection blocks (BullMQ), a producer one fails fast and pipelines', () => {
    const env = target({ REDIS_CLUSTER_NODES: '127.0.0.1:7001', REDIS_PASSWORD: 'pw' });
    const worker = connectionPlan(env, 'worker');
    const producer = connectionPlan(env, 'producer');
    expect(worker.kind === 'cluster' && worker.options).toMatchObject({
      redisOptions: { maxRetriesPerRequest: null, password: 'pw' },
    });
    expect(worker.options).not.toHaveProperty('enableAutoPipelining');
    expect(producer.kind === 'cluster' && producer.options).toMatchObject({
      enableAutoPipelining: true,
      redisOptions: { maxRetriesPerRequest: 3, password: 'pw' },
    });
  });

  test.each([['redis-1'], ['redis-1:'], ['redis-1:0'], ['redis-1:70000'], ['redis://redis-1:6379'], [',']])(
    'refuses %p, naming the variable',
    (value) => {
      expect(() => parseEnv({ NODE_ENV: 'test', REDIS_CLUSTER_NODES: value })).toThrow(/REDIS_CLUSTER_NODES/);
    },
  );
});
