import {
  BACKOFF_CAP_MS,
  CAPPED_EXPONENTIAL,
  DEFAULT_JOB_OPTIONS,
  REGISTRY_ATTEMPTS,
  registryBackoff,
} from '../../workers/queues';

const job = { opts: DEFAULT_JOB_OPTIONS };
const waits = Array.from({ length: REGISTRY_ATTEMPTS - 1 }, (_, i) =>
  registryBackoff(i + 1, CAPPED_EXPONENTIAL, undefined, job),
);

test('the registry backoff doubles from 1 s and waits at most 5 minutes between attempts', () => {
  expect(waits.slice(0, 10)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map((s) => s * 1000));
  expect(Math.max(...waits)).toBe(BACKOFF_CAP_MS);
  expect(waits.slice(9).every((w) => w === BACKOFF_CAP_MS)).toBe(true);
});

test('its attempts outlast an outage of hours, where 10 uncapped ones ran out after 8.5 minutes', () => {
  const totalH = waits.reduce((a, b) => a + b, 0) / 3_600_000;
  expect(totalH).toBeGreaterThan(6);
  expect(totalH).toBeLessThan(7);
});

test('the base delay is the job’s own; an unknown type is refused by name', () => {
  expect(
    registryBackoff(3, CAPPED_EXPONENTIAL, undefined, {
      opts: { backoff: { type: CAPPED_EXPONENTIAL, delay: 50 } },
    }),
  ).toBe(200);
  expect(() => registryBackoff(1, 'linear', undefined, job)).toThrow('unknown backoff type "linear"');
});
