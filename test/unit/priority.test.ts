import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { niceFor } from '../../app/priority';
import type { Role } from '../../app/start';

const roles = (...r: Role[]) => new Set<Role>(r);

test('only a process that runs the workers role alone is lowered', () => {
  expect(niceFor(roles('workers'), 10)).toBe(10);
  expect(niceFor(roles('workers', 'bot'), 10)).toBeNull();
  expect(niceFor(roles('workers', 'http'), 10)).toBeNull();
  expect(niceFor(roles('http', 'bot'), 10)).toBeNull();
  expect(niceFor(roles('workers'), 0)).toBeNull();
});

// In a child process: lowering a priority cannot be undone without privileges.
function priorityAfter(
  rolesCsv: string,
  nice: number,
  startNice = 0,
): { main: number; leastOfThreads: number } {
  const root = path.resolve(__dirname, '../..');
  const script = `
    const os = require('node:os');
    const { applyRolePriority } = require('./app/priority');
    if (${startNice} > 0) os.setPriority(${startNice});
    const log = { info() {}, warn() {} };
    applyRolePriority(new Set(${JSON.stringify(rolesCsv.split(','))}), ${nice}, log);
    // The least nice of all the process's threads (field 19 of /proc/<pid>/task/<tid>/stat).
    const fs = require('node:fs');
    const nices = fs.readdirSync('/proc/self/task').map((t) =>
      Number(fs.readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16]));
    if (nices.length < 2) throw new Error('expected several threads, saw ' + nices.length);
    process.stdout.write(JSON.stringify({ main: os.getPriority(), leastOfThreads: Math.min(...nices) }));
  `;
  return JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' }),
  ) as { main: number; leastOfThreads: number };
}

test('applyRolePriority sets the nice value of every thread of a workers-only process, and leaves the others', () => {
  const inherited = os.getPriority();
  const lowered = Math.max(10, inherited);
  expect(priorityAfter('workers', 10)).toEqual({ main: lowered, leastOfThreads: lowered });
  expect(priorityAfter('http,bot,workers', 10)).toEqual({ main: inherited, leastOfThreads: inherited });
  // Never raises a priority someone already lowered further.
  expect(priorityAfter('workers', 5, 15).main).toBe(15);
});
