import type { CallerRole, Permission } from '../../../lib/auth/roles';

/** The signed-in person as GET /api/v1/auth/me answers. */
export interface Me {
  user: {
    id: string;
    username: string;
    role: Exclude<CallerRole, 'key'>;
    unitCodes: string[];
    permissions: Permission[];
  };
  csrfToken: string;
  signedInAt: string;
}

/**
 * The console's sections. A section is shown to whoever holds one of its permissions: the
 * menu never offers what the API would refuse. The pages behind each href are the section's
 * own (bot/http/console/pages/<section>.ts); docs/console.md.
 */
export const SECTIONS: ReadonlyArray<{ href: string; label: string; anyOf: Permission[] }> = [
  { href: '/admin', label: 'nav.overview', anyOf: ['indices:read'] },
  { href: '/admin/flows', label: 'nav.flows', anyOf: ['flows:read'] },
  { href: '/admin/cases', label: 'nav.cases', anyOf: ['cases:read'] },
  { href: '/admin/broadcasts', label: 'nav.broadcasts', anyOf: ['broadcasts:read'] },
  { href: '/admin/dossiers', label: 'nav.dossiers', anyOf: ['dossiers:read', 'responses:read'] },
  {
    href: '/admin/manage',
    label: 'nav.admin',
    anyOf: ['users:manage', 'keys:manage', 'audit:read', 'flags:read', 'platforms:read'],
  },
];

export interface NavItem {
  href: string;
  label: string;
  current: boolean;
}

export function navFor(me: Me, url: string): NavItem[] {
  const path = url.split('?')[0]!;
  const held = new Set(me.user.permissions);
  return SECTIONS.filter((s) => s.anyOf.some((p) => held.has(p))).map((s) => ({
    href: s.href,
    label: s.label,
    current: s.href === '/admin' ? path === '/admin' || path === '/admin/' : path.startsWith(s.href),
  }));
}
