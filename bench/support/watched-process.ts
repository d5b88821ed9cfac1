import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Connection } from 'mongoose';
import { watchLoop, type LoopReport } from './loop-watch';
import { watchMongoCommands, type MongoCommandReport } from './mongo-watch';

/**
 * A server a bench measures (the bot under test, the echo bot) in an OS process of its own, so
 * that the bench's process only sends, receives and measures: in the bench's process the load
 * generator and the Bot API sink shared the bot's event loop and CPU, and their cost counted as
 * the bot's. The instruments that read a process from inside (bench/support/loop-watch.ts: event
 * loop, GC, CPU wait, a CPU profile; mongo-watch.ts: the MongoDB commands of its client) run in
 * the child, asked for over the IPC channel: `watch` before a measured part, `report` after it.
 */
export interface WatchReport {
  loop: LoopReport;
  /** Null when the child has no MongoDB client (the echo bot). */
  mongo: MongoCommandReport | null;
}

type ToChild = { id: number; op: 'watch'; profileTo?: string } | { id: number; op: 'report' };
type Answer = { id: number; report?: WatchReport; error?: string };
type FromChild = { ready: { port: number } } | Answer;

type MongoClient = ReturnType<Connection['getClient']>;

/**
 * The child's side: tells the parent it listens on `port`, runs the instruments on request, and
 * stops (`stop`, then exit) on SIGTERM or when the parent is gone (the IPC channel closed).
 */
export function serveWatch(opts: {
  port: number;
  mongoClient: MongoClient | null;
  redisUrl: string | undefined;
  stop(): Promise<void>;
}): void {
  let watching: {
    loop: Awaited<ReturnType<typeof watchLoop>>;
    mongo: ReturnType<typeof watchMongoCommands> | null;
  } | null = null;
  const reply = (m: FromChild) => process.send!(m);
  process.on('message', (m: ToChild) => {
    void (async () => {
      try {
        if (m.op === 'watch') {
          watching = {
            loop: await watchLoop({
              ...(m.profileTo ? { profileTo: m.profileTo } : {}),
              ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
            }),
            mongo: opts.mongoClient ? watchMongoCommands(opts.mongoClient) : null,
          };
          reply({ id: m.id });
        } else {
          if (!watching) throw new Error('report before watch');
          const { loop, mongo } = watching;
          watching = null;
          reply({ id: m.id, report: { loop: await loop.stop(), mongo: mongo ? mongo.stop() : null } });
        }
      } catch (err) {
        reply({ id: m.id, error: String(err) });
      }
    })();
  });
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= opts.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  reply({ ready: { port: opts.port } });
}

/** The parent's side of one such process. */
export interface WatchedProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Starts the child's instruments (a CPU profile to `profileTo` when given). */
  watch(profileTo?: string): Promise<void>;
  /** Stops them and returns what they saw since watch(). */
  report(): Promise<WatchReport>;
  /** SIGTERM, and resolves once the process exited. */
  stop(): Promise<void>;
}

/**
 * Forks `entry` (TypeScript, through tsx resolved from `cwd`) with `args` and resolves once it
 * said it is ready. Its stderr (the app's logs) and stdout go to the bench's.
 */
export async function forkWatched(
  name: string,
  entry: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; startTimeoutS?: number; nodeFlags?: string[] },
): Promise<WatchedProcess> {
  const child = fork(entry, args, {
    cwd: opts.cwd,
    env: opts.env,
    execArgv: [...(opts.nodeFlags ?? []), '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const limitS = opts.startTimeoutS ?? Number(process.env.BENCH_START_TIMEOUT_S ?? 300);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start in ${limitS} s`));
    }, limitS * 1000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready`));
    };
    child.once('exit', onExit);
    const onMessage = (m: FromChild) => {
      if (!('ready' in m)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m.ready.port);
    };
    child.on('message', onMessage);
  });
  let seq = 0;
  const ask = (m: Omit<ToChild, 'id'>): Promise<Answer> => {
    const id = ++seq;
    return new Promise((resolve, reject) => {
      const onMessage = (r: FromChild) => {
        if (!('id' in r) || r.id !== id) return;
        child.off('message', onMessage);
        if (r.error) reject(new Error(`${name}: ${r.error}`));
        else resolve(r);
      };
      child.on('message', onMessage);
      child.send({ ...m, id } as ToChild);
    });
  };
  return {
    child,
    pid: child.pid!,
    port,
    async watch(profileTo) {
      await ask({ op: 'watch', ...(profileTo ? { profileTo } : {}) });
    },
    async report() {
      return (await ask({ op: 'report' })).report!;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
