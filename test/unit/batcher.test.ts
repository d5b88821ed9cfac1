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

test('drain waits for the items added before it, flushed or failed, and not for later ones', async () => {
  const flushed: number[][] = [];
  let release1!: () => void;
  let release3!: () => void;
  const gate1 = new Promise<void>((r) => (release1 = r));
  const gate3 = new Promise<void>((r) => (release3 = r));
  const b = new Batcher<number>(
    async (items) => {
      flushed.push(items);
      if (items.includes(1)) await gate1;
      if (items.includes(2)) throw new Error('boom');
      if (items.includes(3)) await gate3;
    },
    { maxItems: 1, maxWaitMs: 1 },
  );
  await b.drain(); // nothing pending: resolves at once
  const one = b.add(1);
  const two = b.add(2).catch((e: Error) => e.message);
  let drained = false;
  const d = b.drain().then(() => (drained = true));
  const three = b.add(3);
  await new Promise((r) => setTimeout(r, 20));
  expect(drained).toBe(false); // item 1 is held, item 2 waits behind it
  release1();
  await d;
  expect(await two).toBe('boom');
  await one;
  // Item 3 came after the drain: it is flushing and held, and the drain did not wait for it.
  await new Promise((r) => setTimeout(r, 20));
  expect(flushed).toEqual([[1], [2], [3]]);
  let threeDone = false;
  void three.then(() => (threeDone = true));
  await new Promise((r) => setTimeout(r, 5));
  expect(threeDone).toBe(false);
  release3();
  await three;
});
