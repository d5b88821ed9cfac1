import { metrics, setQueueDepthSource } from '../../lib/metrics';

afterEach(() => setQueueDepthSource(null));

test('the queue depth is read at scrape time, one series per queue and state', async () => {
  setQueueDepthSource(async () => [
    { queue: 'ingest', state: 'wait', count: 3 },
    { queue: 'ingest', state: 'failed', count: 1 },
  ]);
  const text = await metrics.metrics();
  expect(text).toContain('hailong_queue_jobs{queue="ingest",state="wait"} 3');
  expect(text).toContain('hailong_queue_jobs{queue="ingest",state="failed"} 1');
});

test('a failing or hanging queue source leaves the depth out and the scrape still answers', async () => {
  setQueueDepthSource(() => Promise.reject(new Error('redis down')));
  expect(await metrics.metrics()).not.toMatch(/^hailong_queue_jobs\{/m);
  setQueueDepthSource(() => new Promise(() => undefined));
  const text = await metrics.metrics();
  expect(text).not.toMatch(/^hailong_queue_jobs\{/m);
  expect(text).toContain('# TYPE hailong_turn_duration_seconds histogram');
});
