import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Loads `.env` from the directory `hailong` runs in, when there is one: the settings one would
 * otherwise export in every shell (`npm run demo` writes one so that a second terminal reaches
 * the demo's database and Redis prefix). A variable already set in the environment wins:
 * Node's own parser (process.loadEnvFile) never overrides. Not under NODE_ENV=test: a test's
 * child process must not pick up a developer's (or a running demo's) settings. Returns the file
 * loaded, or null.
 */
export function loadEnvFile(dir: string = process.cwd()): string | null {
  if (process.env.NODE_ENV === 'test') return null;
  const file = path.join(dir, '.env');
  if (!existsSync(file)) return null;
  process.loadEnvFile(file);
  return file;
}
