import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { env as loadEnv, type Env } from '../config/env';
import { logger, type Logger } from '../lib/logger';
import { startApp, type Role, type RunningApp } from './start';

/**
 * What `hailong start` runs. With roles (`--roles`, else ROLES), exactly those in this one
 * process. Without: the README's layout, `http` and `bot` in this process and the `workers` role
 * in a child process it starts and supervises (`hailong start --roles workers`, which lowers its
 * own CPU priority to WORKERS_NICE): one command for the operator, two event loops.
 *
 * Why two: in one process the workers' database driver, BullMQ and their garbage take the event
 * loop every await of a turn queues on, and a new citizen's first turn waited for them: at 100
 * updates/s on two cores, after a warm-up, first turns p99 53–95 ms with all roles in one process,
 * 15–45 ms with the workers apart (bench/RESULTS.md, "bot-turns, an independent harness and the
 * README's layout"). The niced child gives the bot the CPU first; the workers' jobs wait in Redis
 * meanwhile, so nothing is lost by it.
 */
export async function startLayout(
  opts: { roles?: Role[]; env?: Env; handleSignals?: boolean } = {},
): Promise<RunningApp> {
  const env = opts.env ?? loadEnv();
  const roles = opts.roles ?? env.ROLES;
  if (roles) {
    const app = await startApp({ env, roles, handleSignals: opts.handleSignals ?? false });
    if (process.send) followSupervisor(app);
    return app;
  }
  const log = logger.child({ roles: 'http,bot' });
  const app = await startApp({ env, roles: ['http', 'bot'] });
  let workers: WorkersProcess;
  try {
    workers = await superviseWorkers(log);
  } catch (err) {
    await app.stop();
    throw err;
  }
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= Promise.all([app.stop(), workers.stop()]).then(() => undefined));
  if (opts.handleSignals) {
    const handler = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      void stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  }
  return { ...app, stop };
}

/** What a supervised process sends its parent once it started. */
const STARTED = { hailong: 'started' } as const;

/**
 * A process started by superviseWorkers: tells the supervisor it started, and drains and exits
 * when the supervisor is gone without stopping it (killed with SIGKILL, crashed), so that no
 * workers process outlives its command.
 */
function followSupervisor(app: RunningApp): void {
  process.send!(STARTED);
  process.once('disconnect', () => {
    app.ctx.log.warn('the supervising process is gone: shutting down');
    void app.stop().then(() => process.exit(0));
  });
}

export interface WorkersProcess {
  /** The running child's pid (null between a death and its restart). */
  pid(): number | null;
  /** SIGTERM to the child; resolves once it drained and exited (SIGKILL past `killAfterMs`). */
  stop(): Promise<void>;
}

/** The restart delay after a death: doubled after each one that came soon after a start, up to the cap. */
const RESTART_MS = { first: 1000, cap: 30_000, stableAfter: 60_000 };

/**
 * Starts `hailong start --roles workers` as a child of this process (the same Node, flags and
 * environment but HEALTH_FILE, its logs to this process's stderr) and keeps it running: a child that exits is
 * started again after a delay. Resolves once the first one started; rejects if it exits before
 * (its settings are this process's, so a start that fails is a fault to show, not to retry).
 */
export async function superviseWorkers(
  log: Logger,
  opts: { command?: string[]; killAfterMs?: number; restartMs?: typeof RESTART_MS } = {},
): Promise<WorkersProcess> {
  const command = opts.command ?? [
    ...process.execArgv,
    require.resolve('../bin/hailong'),
    'start',
    '--roles',
    'workers',
  ];
  const restart = opts.restartMs ?? RESTART_MS;
  let child: ChildProcess | null = null;
  /** False until the first child started: a first start that fails is not retried. */
  let supervising = false;
  let stopping = false;
  /** Deaths in a row, each soon after its start: the next restart waits first × 2^n. */
  let quickDeaths = 0;
  let timer: NodeJS.Timeout | null = null;

  // The heartbeat file speaks for this process, which supervises the child; the child writing
  // it too would keep a container healthy whose bot process can no longer reach Redis.
  const env = { ...process.env };
  delete env.HEALTH_FILE;

  const launch = (): Promise<void> => {
    const c = spawn(process.execPath, command, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = c;
    const startedAt = Date.now();
    const started = new Promise<void>((resolve, reject) => {
      c.on('message', (m: unknown) => {
        if ((m as typeof STARTED)?.hailong === STARTED.hailong) resolve();
      });
      c.once('exit', (code, signal) => reject(new Error(`workers process exited (${code ?? signal})`)));
    });
    c.once('exit', (code, signal) => {
      child = null;
      if (stopping || !supervising) return;
      if (Date.now() - startedAt > restart.stableAfter) quickDeaths = 0;
      const delay = Math.min(restart.first * 2 ** quickDeaths++, restart.cap);
      log.error({ code, signal, restartInMs: delay }, 'workers process exited: starting it again');
      timer = setTimeout(() => {
        timer = null;
        if (!stopping) void launch().catch(() => undefined);
      }, delay);
    });
    log.info({ pid: c.pid }, 'workers process started by this one');
    return started;
  };

  await launch();
  supervising = true;
  return {
    pid: () => child?.pid ?? null,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGTERM');
      const limit = setTimeout(() => {
        log.error({ pid: c.pid }, 'workers process did not drain in time: killed');
        c.kill('SIGKILL');
      }, opts.killAfterMs ?? 60_000);
      await exited;
      clearTimeout(limit);
    },
  };
}
