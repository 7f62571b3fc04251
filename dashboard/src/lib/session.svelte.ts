// Who is signed in, as last told by GET /auth/me (set by the dashboard
// layout). Shared state, not a source of truth: the server decides.

import type { AppRole, Me } from './types';

export const session = $state<{ me: Me | null }>({ me: null });

/** Whether the signed-in user is an instance admin (may create apps). */
export function isAdmin(): boolean {
	return session.me?.user.role === 'admin';
}

const RANK: Record<AppRole, number> = { viewer: 0, editor: 1, owner: 2 };

/** The signed-in user's role in an app (by id or name): `owner` for an
 *  instance admin, null when they have none or nobody is known yet. */
export function roleIn(app: string): AppRole | null {
	const me = session.me;
	if (!me) return null;
	if (me.user.role === 'admin') return 'owner';
	return me.roles.find((g) => g.app_id === app || g.app === app)?.role ?? null;
}

/** Whether the signed-in user holds at least `role` in the app. The
 *  dashboard hides controls by this; the server enforces it regardless. */
export function hasRole(app: string, role: AppRole): boolean {
	const mine = roleIn(app);
	return mine !== null && RANK[mine] >= RANK[role];
}

/** May write scripts, routes, KV, triggers and secrets in the app. */
export function canEdit(app: string): boolean {
	return hasRole(app, 'editor');
}

/** May manage the app's members and domains, and delete it. */
export function isOwner(app: string): boolean {
	return hasRole(app, 'owner');
}
