import { logger } from '../../lib/logger';
import { createShutdown } from '../../lib/shutdown';

const log = logger.child({ test: 'shutdown' });
const closer = (calls: string[], name: string) => () => {
  calls.push(name);
  return Promise.resolve();
};

test('runs closers once, in order: http, workers, queues, connections', async () => {
  const calls: string[] = [];
  const s = createShutdown(log);
  s.add('mongodb', closer(calls, 'mongodb'), 100);
  s.add('redis', closer(calls, 'redis'), 90);
  s.add('http', closer(calls, 'http'), 0);
  s.add('producer', closer(calls, 'producer'), 80);
  s.add('workers', closer(calls, 'workers'), 20);
  const first = s.run();
  const second = s.run();
  expect(second).toBe(first);
  await Promise.all([first, second]);
  expect(calls).toEqual(['http', 'workers', 'producer', 'redis', 'mongodb']);
});

test('a failing or hanging closer does not stop the later ones', async () => {
  const calls: string[] = [];
  const s = createShutdown(log, 50);
  s.add('broken', () => Promise.reject(new Error('boom')), 0);
  s.add('hangs', () => new Promise(() => undefined), 10);
  s.add('redis', closer(calls, 'redis'), 90);
  await s.run();
  expect(calls).toEqual(['redis']);
});

test('the stop signal is aborted once the grace has passed, while a step still waits', async () => {
  const s = createShutdown(log, 1000, 50);
  let abortedAt: number | null = null;
  const t0 = Date.now();
  s.stopSignal.addEventListener('abort', () => (abortedAt = Date.now() - t0));
  // A step that waits for work whose calls only the stop signal ends (a job on a hanging platform).
  s.add(
    'workers',
    () => new Promise<void>((resolve) => s.stopSignal.addEventListener('abort', () => resolve())),
    20,
  );
  await s.run();
  expect(s.stopSignal.aborted).toBe(true);
  expect(abortedAt).toBeGreaterThanOrEqual(45);
  expect(Date.now() - t0).toBeLessThan(1000);
});

test('a shutdown done within the grace leaves the stop signal alone', async () => {
  const s = createShutdown(log, 1000, 50);
  s.add('http', () => Promise.resolve(), 0);
  await s.run();
  await new Promise((r) => setTimeout(r, 100));
  expect(s.stopSignal.aborted).toBe(false);
});
