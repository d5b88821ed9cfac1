import { createProducerConnection, createWorkerConnection } from '../../lib/redis';
import { redisUrl } from '../support/services';

test('a producer connection sends the commands of one event-loop tick as one pipeline; a worker connection does not', async () => {
  const producer = createProducerConnection({ REDIS_URL: redisUrl() });
  const worker = createWorkerConnection({ REDIS_URL: redisUrl() });
  try {
    await Promise.all([producer.ping(), worker.ping()]);
    const sent = [producer.ping('a'), producer.ping('b'), producer.ping('c')];
    // Queued in this tick's pipeline, not written yet.
    expect(producer.autoPipelineQueueSize).toBe(3);
    expect(await Promise.all(sent)).toEqual(['a', 'b', 'c']);
    const direct = worker.ping('d');
    expect(worker.autoPipelineQueueSize).toBe(0);
    expect(await direct).toBe('d');
  } finally {
    await Promise.all([producer.quit(), worker.quit()]);
  }
});
