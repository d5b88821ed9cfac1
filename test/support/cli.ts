import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

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
