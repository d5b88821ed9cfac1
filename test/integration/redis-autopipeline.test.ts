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

type Scripted = { hlEcho(arg: string): Promise<string>; hlTwice(arg: string): Promise<string> };
/** The same scripts on a pipeline or a transaction: each call queues and returns it. */
type ScriptedChain = { hlEcho(arg: string): unknown; hlTwice(arg: string): unknown };

// patches/ioredis+6.0.0.patch: a pipeline finds its connection's scripts on its class's prototype
// instead of copying every one onto itself (BullMQ defines 64 on the connection the turns use,
// and auto pipelining makes a pipeline per batch).
test('a pipeline of a connection with scripts runs them without copying them onto itself', async () => {
  const producer = createProducerConnection({ REDIS_URL: redisUrl() });
  try {
    producer.defineCommand('hlEcho', { numberOfKeys: 0, lua: 'return ARGV[1]' });
    const pipeline = producer.pipeline();
    expect(Object.keys(pipeline)).not.toContain('hlEcho');
    expect(Object.keys(pipeline)).not.toContain('hlEchoBuffer');
    (pipeline as unknown as ScriptedChain).hlEcho('a');
    expect(await pipeline.exec()).toEqual([[null, 'a']]);
    const multi = producer.multi();
    (multi as unknown as ScriptedChain).hlEcho('b');
    expect(await multi.exec()).toEqual([[null, 'b']]);
    // Auto pipelined: both in one pipeline of this tick.
    const scripted = producer as unknown as Scripted;
    expect(await Promise.all([scripted.hlEcho('c'), scripted.hlEcho('d')])).toEqual(['c', 'd']);
    // A script defined after pipelines were made is on the next one.
    producer.defineCommand('hlTwice', { numberOfKeys: 0, lua: 'return ARGV[1] .. ARGV[1]' });
    expect(await Promise.all([scripted.hlTwice('e'), scripted.hlEcho('f')])).toEqual(['ee', 'f']);
    const later = producer.pipeline();
    (later as unknown as ScriptedChain).hlTwice('g');
    expect(await later.exec()).toEqual([[null, 'gg']]);
  } finally {
    await producer.quit();
  }
});

// patches/ioredis+6.0.0.patch: `length` is a getter on Pipeline's prototype. ioredis defines it on
// each pipeline, which gives every pipeline a hidden class of its own; those live in old space and
// keep each pipeline with its commands and replies alive through the scavenges until a full GC
// (bench/redis-pipeline.ts measures the minor-GC time this costs).
test('a pipeline counts its commands through a getter it shares with every other pipeline', async () => {
  const producer = createProducerConnection({ REDIS_URL: redisUrl() });
  try {
    const pipeline = producer.pipeline();
    expect(Object.getOwnPropertyDescriptor(pipeline, 'length')).toBeUndefined();
    expect(pipeline.length).toBe(0);
    pipeline.ping('a').ping('b');
    expect(pipeline.length).toBe(2);
    expect(await pipeline.exec()).toEqual([
      [null, 'a'],
      [null, 'b'],
    ]);
    const multi = producer.multi();
    multi.ping('c');
    // multi() queues MULTI itself; exec() adds EXEC.
    expect(multi.length).toBe(2);
    expect(await multi.exec()).toEqual([[null, 'c']]);
  } finally {
    await producer.quit();
  }
});
