// Who is signed in, as last told by GET /auth/me (set by the dashboard
// layout). Shared state, not a source of truth: the server decides.

import type { Me } from './types';

export const session = $state<{ me: Me | null }>({ me: null });

/** Whether the signed-in user is an instance admin (may create apps). */
export function isAdmin(): boolean {
	return session.me?.user.role === 'admin';
}
