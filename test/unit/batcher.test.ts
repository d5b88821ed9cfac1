import { Batcher } from '../../workers/jobs/batcher';

test('one flush at a time: what arrives meanwhile goes out together next, in order', async () => {
  const flushed: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const b = new Batcher<number>(
    async (items) => {
      flushed.push(items);
      if (flushed.length === 1) await gate;
    },
    { maxItems: 3, maxWaitMs: 1 },
  );
  const first = b.add(1);
  await new Promise((r) => setTimeout(r, 20)); // the first batch is flushing and held
  const later = [2, 3, 4, 5].map((n) => b.add(n));
  await new Promise((r) => setTimeout(r, 20));
  expect(flushed).toEqual([[1]]);
  release();
  await Promise.all([first, ...later]);
  expect(flushed).toEqual([[1], [2, 3, 4], [5]]);
});

test('a failed flush rejects its own items only', async () => {
  const b = new Batcher<number>(
    async (items) => {
      if (items.includes(1)) throw new Error('boom');
    },
    { maxItems: 1, maxWaitMs: 1 },
  );
  const r = await Promise.allSettled([b.add(1), b.add(2)]);
  expect(r.map((x) => x.status)).toEqual(['rejected', 'fulfilled']);
});
