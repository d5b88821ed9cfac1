import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { linkedSignal } from '../../lib/linked-signal';

test('aborts with the reason of the source that aborted', () => {
  const stop = new AbortController();
  const own = new AbortController();
  const { signal } = linkedSignal([own.signal, undefined, stop.signal]);
  expect(signal.aborted).toBe(false);
  stop.abort(new Error('process stopping'));
  expect(signal.aborted).toBe(true);
  expect((signal.reason as Error).message).toBe('process stopping');
});

test('starts aborted when a source already is', () => {
  const stop = new AbortController();
  stop.abort('gone');
  const { signal } = linkedSignal([stop.signal], 10_000);
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBe('gone');
});

test('times out with a TimeoutError', async () => {
  const { signal, release } = linkedSignal([], 20);
  await sleep(60);
  expect(signal.aborted).toBe(true);
  expect((signal.reason as DOMException).name).toBe('TimeoutError');
  release();
});

test('once released, leaves no listener on its sources and no timeout that fires', async () => {
  const stop = new AbortController();
  const { signal, release } = linkedSignal([stop.signal], 20);
  expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
  release();
  expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  await sleep(60);
  stop.abort();
  expect(signal.aborted).toBe(false);
});
