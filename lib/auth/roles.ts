import type { UserRole } from '../../models/user';

/**
 * What a caller may do, one permission per kind of operation. Which units it may do it to is
 * the scope's business (lib/auth/scope.ts), never a permission's.
 */
export const PERMISSIONS = [
  'units:read',
  'procedures:read',
  'flows:read',
  /** Create, edit, validate, import and publish flow drafts. */
  'flows:write',
  /** Choose which published version is live for a unit and procedure. */
  'flows:assign',
  'preview:use',
  'dossiers:read',
  /** Ratings and choices of individual responses (never their free text). */
  'responses:read',
  /** Free-text answers: a permission of its own, and every read is audited. */
  'freeText:read',
  'indices:read',
  /** "Bạn nói, chúng tôi làm" notes on a unit's public results page. */
  'actionNotes:write',
  'reports:export',
  'cases:read',
  'cases:write',
  'broadcasts:read',
  /** Compose, count, test, schedule, pause, resume and cancel broadcasts. */
  'broadcasts:write',
  'broadcasts:approve',
  'flags:read',
  /** Exclude a flagged response from the indices, with a reason. */
  'flags:write',
  'users:manage',
  'keys:manage',
  'audit:read',
  /** The platforms' connection state (Zalo OA token expiry, last successful calls). */
  'platforms:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** A caller's role: an official's account role, or `key` for a machine's API key. */
export type CallerRole = UserRole | 'key';
export const CALLER_ROLES: readonly CallerRole[] = [
  'admin',
  'district',
  'unit',
  'broadcaster',
  'viewer',
  'key',
];

const READ_FIGURES: Permission[] = ['units:read', 'procedures:read', 'indices:read', 'reports:export'];
/** Accounts, keys, the audit log and the platforms' connections are the admin's. */
const ADMIN_ONLY: readonly Permission[] = ['users:manage', 'keys:manage', 'audit:read', 'platforms:read'];
const ALL_BUT_ADMIN = PERMISSIONS.filter((p) => !ADMIN_ONLY.includes(p));

/**
 * The issue-18 roles. admin: everything. district: everything in its subtree but users, keys
 * and the audit log; it edits and publishes flow drafts of its subtree (a published version
 * is live only where someone assigns it). unit (a commune's or agency's manager): its
 * subtree's cases, broadcast approval, the live flow version and previews, figures and exports, the notes of its public results page;
 * not flow editing, not exclusions (a unit does not remove ratings of itself). broadcaster:
 * broadcasts to its units. viewer: figures and reports, never free text. key (the one-stop
 * system): posts dossier events and reads figures, responses, cases and flags of its units, as
 * the reports API does today. Individual responses are not a viewer's: it reads the figures
 * made of them. Neither broadcasters, viewers nor keys read flows.
 */
export const ROLE_PERMISSIONS: Readonly<Record<CallerRole, ReadonlySet<Permission>>> = Object.freeze({
  admin: new Set<Permission>(PERMISSIONS),
  district: new Set<Permission>(ALL_BUT_ADMIN),
  unit: new Set<Permission>([
    ...READ_FIGURES,
    'flows:read',
    'flows:assign',
    'preview:use',
    'dossiers:read',
    'responses:read',
    'freeText:read',
    'cases:read',
    'cases:write',
    'broadcasts:read',
    'broadcasts:approve',
    'flags:read',
    'actionNotes:write',
  ]),
  broadcaster: new Set<Permission>(['units:read', 'procedures:read', 'broadcasts:read', 'broadcasts:write']),
  viewer: new Set<Permission>(READ_FIGURES),
  key: new Set<Permission>([...READ_FIGURES, 'dossiers:read', 'responses:read', 'cases:read', 'flags:read']),
});

export function can(role: CallerRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** Roles whose accounts answer for units (every role but admin needs at least one unit). */
export function roleNeedsUnits(role: UserRole): boolean {
  return role !== 'admin';
}
