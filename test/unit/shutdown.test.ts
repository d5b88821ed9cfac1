import { logger } from '../../lib/logger';
import { createShutdown } from '../../lib/shutdown';

const log = logger.child({ test: 'shutdown' });

test('runs closers once, in order: http, workers, queues, connections', async () => {
  const calls: string[] = [];
  const s = createShutdown(log);
  s.add('mongodb', async () => void calls.push('mongodb'), 100);
  s.add('redis', async () => void calls.push('redis'), 90);
  s.add('http', async () => void calls.push('http'), 0);
  s.add('producer', async () => void calls.push('producer'), 80);
  s.add('workers', async () => void calls.push('workers'), 20);
  const first = s.run();
  const second = s.run();
  expect(second).toBe(first);
  await Promise.all([first, second]);
  expect(calls).toEqual(['http', 'workers', 'producer', 'redis', 'mongodb']);
});

test('a failing or hanging closer does not stop the later ones', async () => {
  const calls: string[] = [];
  const s = createShutdown(log, 50);
  s.add('broken', async () => Promise.reject(new Error('boom')), 0);
  s.add('hangs', () => new Promise(() => undefined), 10);
  s.add('redis', async () => void calls.push('redis'), 90);
  await s.run();
  expect(calls).toEqual(['redis']);
});
