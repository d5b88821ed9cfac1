import type { Command } from 'commander';
import { registerApikeyCommand } from './apikey';
import { registerExportCommand } from './export';
import { registerImportDossiersCommand } from './import-dossiers';
import { registerSeedCommand } from './seed';
import { registerStartCommand } from './start';
import { registerZaloCommands } from './zalo';
import { registerReportCommand } from './report';
import { registerRollupsCommand } from './rollups';
import { registerBroadcastCommands } from './broadcast';
import { registerFlagsCommand } from './flags';
import { registerUnitCommands } from './unit';
import { registerCaseCommands } from './case';
import { registerTelegramCommands } from './telegram';
import { registerUserCommands } from './user';
import { registerAuditCommands } from './audit';
import { registerEraseCommand } from './erase';
import { registerDbCommands } from './db';
import { registerPosterCommand } from './poster';
import { registerSecretsCommands } from './secrets';

/** Every `hailong` command. Add one line per command file. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerStartCommand,
  registerSeedCommand,
  registerExportCommand,
  registerApikeyCommand,
  registerImportDossiersCommand,
  registerZaloCommands,
  registerReportCommand,
  registerRollupsCommand,
  registerBroadcastCommands,
  registerFlagsCommand,
  registerUnitCommands,
  registerCaseCommands,
  registerTelegramCommands,
  registerUserCommands,
  registerAuditCommands,
  registerEraseCommand,
  registerDbCommands,
  registerPosterCommand,
  registerSecretsCommands,
];
