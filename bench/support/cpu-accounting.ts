import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * CPU time per process group over a measured window, read from Linux's /proc (utime + stime of
 * each process, all its threads included): where a benchmark's CPU went, next to what it
 * measured. Groups are found by command line, so the database server and Redis are counted even
 * though the bench did not start them. A process that ends inside the window is not counted
 * (its time is gone with it); one that starts inside it is counted from zero.
 */
export interface CpuGroup {
  name: string;
  /** Matched against /proc/<pid>/cmdline with NULs as spaces; or an explicit pid. */
  match: RegExp | number;
}

export type CpuSnapshot = Map<string, Map<number, number>>;

let ticksPerSecond: number | null = null;
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** False where there is no /proc (not Linux): the bench then says so and reports nothing. */
export function cpuAccountingAvailable(): boolean {
  return fs.existsSync('/proc/self/stat');
}

function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return null;
  }
}

function cmdlines(): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

export function cpuSnapshot(groups: CpuGroup[]): CpuSnapshot {
  const procs = cmdlines();
  const snap: CpuSnapshot = new Map();
  for (const g of groups) {
    const pids =
      typeof g.match === 'number'
        ? [g.match]
        : procs.filter((p) => (g.match as RegExp).test(p.cmd)).map((p) => p.pid);
    const m = new Map<number, number>();
    for (const pid of pids) {
      const s = cpuSecondsOf(pid);
      if (s !== null) m.set(pid, s);
    }
    snap.set(g.name, m);
  }
  return snap;
}

/** CPU seconds each group used between two snapshots. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, after] of b) {
    const before = a.get(name) ?? new Map<number, number>();
    let s = 0;
    for (const [pid, t] of after) s += t - (before.get(pid) ?? 0);
    out[name] = s;
  }
  return out;
}

/** "name 0.83 ms, …" per unit of work, and how many cores were busy in all. */
export function describeCpu(
  used: Record<string, number>,
  units: number,
  seconds: number,
  unitName: string,
): string {
  const total = Object.values(used).reduce((x, y) => x + y, 0);
  const per = Object.entries(used)
    .map(([k, v]) => `${k} ${((v * 1000) / Math.max(units, 1)).toFixed(2)} ms`)
    .join(', ');
  return `CPU per ${unitName}: ${per}; ${(total / seconds).toFixed(2)} cores busy in all`;
}
