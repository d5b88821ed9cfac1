import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../lib/logger';
import { superviseWorkers } from '../../app/layout';

/**
 * The supervision of `hailong start`'s workers process (app/layout.ts), with a stand-in child:
 * a `node -e` script that says it started as `hailong start --roles workers` does, then behaves
 * as the test needs. The real command is in test/integration/start-layout.test.ts.
 */
const STARTED = "process.send({ hailong: 'started' });";

function recordingLog(): { log: Logger; errors: Array<Record<string, unknown> & { msg: string }> } {
  const errors: Array<Record<string, unknown> & { msg: string }> = [];
  const log = {
    info: () => undefined,
    warn: () => undefined,
    error: (obj: Record<string, unknown>, msg: string) => errors.push({ ...obj, msg }),
  } as unknown as Logger;
  return { log, errors };
}

/** Polls until `ok` (bounded by the test's timeout: a wait, not a timed assertion). */
async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await sleep(10);
}

test('a workers process that exits is started again, later after each quick death, up to the cap', async () => {
  const { log, errors } = recordingLog();
  const workers = await superviseWorkers(log, {
    command: ['-e', `${STARTED} setTimeout(() => process.exit(3), 20);`],
    restartMs: { first: 20, cap: 80, stableAfter: 60_000 },
  });
  const pids = new Set<number>();
  await until(() => {
    const pid = workers.pid();
    if (pid) pids.add(pid);
    return errors.length >= 4;
  });
  await workers.stop();
  expect(errors.slice(0, 4).map((e) => [e.code, e.restartInMs])).toEqual([
    [3, 20],
    [3, 40],
    [3, 80],
    [3, 80],
  ]);
  expect(errors[0]!.msg).toBe('workers process exited: starting it again');
  // Each restart is a new process.
  expect(pids.size).toBeGreaterThanOrEqual(3);
});

test('stop() ends the child with SIGTERM and starts no other', async () => {
  const { log, errors } = recordingLog();
  const workers = await superviseWorkers(log, {
    command: [
      '-e',
      `process.once('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000); ${STARTED}`,
    ],
  });
  const pid = workers.pid()!;
  await workers.stop();
  expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  await sleep(100);
  expect(workers.pid()).toBeNull();
  expect(errors).toEqual([]);
});

test('a child that does not drain in time is killed', async () => {
  const { log, errors } = recordingLog();
  const workers = await superviseWorkers(log, {
    // The handler first: a SIGTERM that came before it would end the child at once.
    command: ['-e', `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); ${STARTED}`],
    killAfterMs: 200,
  });
  await workers.stop();
  expect(errors.map((e) => e.msg)).toEqual(['workers process did not drain in time: killed']);
});

test('a first start that fails is an error, and nothing is started again', async () => {
  const { log, errors } = recordingLog();
  await expect(
    superviseWorkers(log, {
      command: ['-e', 'process.exit(4)'],
      restartMs: { first: 10, cap: 10, stableAfter: 1 },
    }),
  ).rejects.toThrow('workers process exited (4)');
  await sleep(100);
  expect(errors).toEqual([]);
});
