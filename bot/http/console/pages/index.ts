import type { FastifyInstance } from 'fastify';
import type { ConsoleDeps } from '../plugin';
import { authPages } from './auth';
import { broadcastPages } from './broadcasts';
import { casePages } from './cases';
import { dossierPages } from './dossiers';
import { flowPages } from './flows';
import { managePages } from './manage';
import { overviewPages } from './overview';

/** Registers one section's pages on the console's fastify context. */
export type ConsolePages = (app: FastifyInstance, deps: ConsoleDeps) => void;

/** Every section of the console, one line each (docs/console.md). */
export const CONSOLE_PAGES: ConsolePages[] = [
  authPages,
  overviewPages,
  flowPages,
  casePages,
  broadcastPages,
  managePages,
  dossierPages,
];
