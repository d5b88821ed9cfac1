import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { MongoClient } from 'mongodb';

/**
 * Where one request's time goes, measured, for bench/dashboard.ts's BENCH_DASHBOARD_TRACE=1:
 * every database command it sends (the driver's command monitoring: the connection must be made
 * with `monitorCommands=true`), as a waterfall from the request's start, and the process's CPU
 * profile over a few requests (the inspector's sampling profiler), by function self time.
 */
export interface CommandSpan {
  startMs: number;
  ms: number;
  command: string;
  collection: string;
  /** The filter's field names and its `unitCode`/`month`/`day` values: which read it was. */
  what: string;
}

interface Started {
  requestId: number;
  commandName: string;
  command: Record<string, unknown>;
}

function describeFilter(command: Record<string, unknown>): string {
  const filter = (command.filter ?? command.query ?? {}) as Record<string, unknown>;
  return Object.entries(filter)
    .map(([k, v]) => (typeof v === 'string' ? `${k}=${v}` : k))
    .join(',');
}

/** Records the commands of `client` while `run` runs, with their times from its start. */
export async function traceCommands(client: MongoClient, run: () => Promise<void>): Promise<CommandSpan[]> {
  const open = new Map<number, { at: number; span: Omit<CommandSpan, 'ms'> }>();
  const spans: CommandSpan[] = [];
  const t0 = performance.now();
  const started = (e: Started) => {
    const collection = String(e.command[e.commandName] ?? '');
    open.set(e.requestId, {
      at: performance.now(),
      span: {
        startMs: performance.now() - t0,
        command: e.commandName,
        collection,
        what: describeFilter(e.command),
      },
    });
  };
  const ended = (e: { requestId: number }) => {
    const o = open.get(e.requestId);
    if (!o) return;
    open.delete(e.requestId);
    spans.push({ ...o.span, ms: performance.now() - o.at });
  };
  client.on('commandStarted', started);
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
  try {
    await run();
  } finally {
    client.off('commandStarted', started);
    client.off('commandSucceeded', ended);
    client.off('commandFailed', ended);
  }
  return spans.sort((a, b) => a.startMs - b.startMs);
}

/**
 * Serial rounds of a waterfall: a command that starts after every command of the current round
 * has ended opens a new round. What a request waits for is the sum of its rounds' lengths.
 */
export function rounds(
  spans: readonly CommandSpan[],
): Array<{ startMs: number; ms: number; commands: number }> {
  const out: Array<{ startMs: number; endMs: number; commands: number }> = [];
  for (const s of spans) {
    const cur = out[out.length - 1];
    if (cur && s.startMs < cur.endMs) {
      cur.endMs = Math.max(cur.endMs, s.startMs + s.ms);
      cur.commands++;
    } else out.push({ startMs: s.startMs, endMs: s.startMs + s.ms, commands: 1 });
  }
  return out.map((r) => ({ startMs: r.startMs, ms: r.endMs - r.startMs, commands: r.commands }));
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * Runs `run` under the CPU profiler; writes the profile to `file` (open it in Chrome's DevTools)
 * and returns the functions by self time (ms), the idle time among them as "(idle)".
 */
export async function profileCpu(
  run: () => Promise<void>,
  file: string,
): Promise<{ wallMs: number; top: Array<{ fn: string; ms: number }> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  let profile: Profile;
  try {
    await run();
  } finally {
    ({ profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile });
    session.disconnect();
  }
  writeFileSync(file, JSON.stringify(profile));
  return summarise(profile);
}

function summarise(profile: Profile): { wallMs: number; top: Array<{ fn: string; ms: number }> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  // timeDeltas[i] is the time before sample i: charge it to that sample's function.
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const where = f.url
      ? `${f.url.replace(/^.*\/(node_modules\/|wt\/[^/]+\/)/, '')}:${f.lineNumber + 1}`
      : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const top = [...self.entries()].map(([fn, ms]) => ({ fn, ms })).sort((a, b) => b.ms - a.ms);
  return { wallMs: (profile.endTime - profile.startTime) / 1000, top };
}
