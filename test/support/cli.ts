import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '../../cli/program';

function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `hailong` as `npx hailong` does (bin/hailong.ts in a child process), with `env` added to
 * this process's environment (a key set to undefined is removed). Runs in an empty directory
 * unless told (`hailong` reads ./.env). Resolves with the exit code and both streams.
 */
export function runHailong(
  args: readonly string[],
  env: Record<string, string | undefined>,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      // tsx by its own path: the child may run in another directory (one holding a .env file).
      [
        '--import',
        pathToFileURL(require.resolve('tsx')).href,
        path.join(__dirname, '../../bin/hailong.ts'),
        ...args,
      ],
      {
        env: childEnv(env),
        cwd: opts.cwd ?? mkdtempSync(path.join(tmpdir(), 'hl-cli-')),
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err as Error); // killed (timeout) or not started
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Runs `hailong` through its one entry (runCli) in this process, quicker than runHailong's child
 * process: stdout and stderr as the command wrote them (console and streams), and the exit code.
 * The caller sets process.env (MONGODB_URI, REDIS_PREFIX) first.
 */
export async function runHailongHere(args: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((c: string | Uint8Array) => ((stdout += Buffer.from(c).toString()), true));
  const err = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((c: string | Uint8Array) => ((stderr += Buffer.from(c).toString()), true));
  // jest's console does not write to process.stdout/stderr.
  const log = jest
    .spyOn(console, 'log')
    .mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
  const error = jest
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
  try {
    const code = await runCli([...args], { from: 'user' });
    return { code, stdout, stderr };
  } finally {
    for (const spy of [out, err, log, error]) spy.mockRestore();
    process.exitCode = 0;
  }
}
