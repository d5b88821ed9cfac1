import type { ApiRoute } from '../route';
import { actionNoteRoutes } from './action-notes';
import { apiKeyRoutes } from './api-keys';
import { auditRoutes } from './audit';
import { broadcastControlRoutes } from './broadcast-control';
import { broadcastRoutes } from './broadcasts';
import { caseRoutes } from './cases';
import { chatLinkRoutes } from './chat-link';
import { dossierRoutes } from './dossiers';
import { flagRoutes } from './flags';
import { indexRoutes } from './indices';
import { reportRoutes } from './reports';
import { responseRoutes } from './responses';
import { authRoutes } from './auth';
import { flowAssignmentRoutes } from './flow-assignments';
import { flowDraftRoutes } from './flow-drafts';
import { flowRoutes } from './flows';
import { openapiRoutes } from './openapi';
import { platformRoutes } from './platforms';
import { previewRoutes } from './preview';
import { procedureRoutes } from './procedures';
import { unitRoutes } from './units';
import { userRoutes } from './users';

/**
 * The /api/v1 route table. A resource is a file of `defineRoute(...)` entries added here; each
 * entry declares its schemas, permission and scope rule (docs/api.md, "Adding a route").
 */
export const API_ROUTES: readonly ApiRoute[] = [
  ...authRoutes,
  ...chatLinkRoutes,
  ...unitRoutes,
  ...procedureRoutes,
  ...actionNoteRoutes,
  ...userRoutes,
  ...apiKeyRoutes,
  ...auditRoutes,
  ...platformRoutes,
  ...flowRoutes,
  ...flowAssignmentRoutes,
  ...flowDraftRoutes,
  ...previewRoutes,
  ...openapiRoutes,
  ...dossierRoutes,
  ...responseRoutes,
  ...indexRoutes,
  ...reportRoutes,
  ...caseRoutes,
  ...broadcastRoutes,
  ...broadcastControlRoutes,
  ...flagRoutes,
];
