import { once } from 'node:events';
import { createProducerConnection, createWorkerConnection } from '../../lib/redis';
import { logger } from '../../lib/logger';

// A connection that cannot reach Redis must report through the logger, not as ioredis's
// "Unhandled error event" (seen when a job outlived the shutdown's drain).
test.each([
  ['producer', createProducerConnection],
  ['worker', createWorkerConnection],
] as const)('a %s connection logs its connection errors', async (role, create) => {
  const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  // Port 1: nothing listens; no reconnect, so the test ends with one error.
  const r = create('redis://127.0.0.1:1', { lazyConnect: true, retryStrategy: () => null });
  try {
    const failed = r.connect().catch(() => undefined);
    await once(r, 'error');
    await failed;
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ role, err: expect.stringContaining('ECONNREFUSED') }),
      'redis connection error',
    );
  } finally {
    r.disconnect();
    warn.mockRestore();
  }
});
