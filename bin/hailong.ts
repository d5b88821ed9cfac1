#!/usr/bin/env node
import { loadEnvFile } from '../cli/env-file';

loadEnvFile();
// Loaded after .env, synchronously (CommonJS): the logger reads LOG_LEVEL when it is loaded.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runCli } = require('../cli/program') as typeof import('../cli/program');

// Errors are printed by runCli (one line, Vietnamese then English). Exit at once on failure: a
// command that failed half-way may still hold connections open.
void runCli(process.argv).then((code) => {
  if (code !== 0) process.exit(code);
});
