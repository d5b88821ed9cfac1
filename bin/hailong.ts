#!/usr/bin/env node
import { ConfigError } from '../config/env';
import { buildProgram } from '../cli/program';

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    // A bad setting names the variable and what was expected; anything else is a bug: show it.
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
