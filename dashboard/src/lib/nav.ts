// Where to go around sign-in. Kept free of $app imports so it is testable.

/** The login page's URL, remembering `here` (a path with its query) to come
 *  back to. */
export function loginUrl(base: string, here: string): string {
	return `${base}/login?next=${encodeURIComponent(here)}`;
}

/** Where to go after signing in: `next` when it is a path inside the
 *  dashboard (never another site: no `//host`, no `https://…`, no
 *  backslashes, and never the login page itself), else the apps list. */
export function safeNext(next: string | null | undefined, base: string): string {
	const home = `${base}/`;
	if (!next) return home;
	if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return home;
	// Control characters (tabs, new lines) are dropped by URL parsers and
	// could turn "/\t/evil" into "//evil".
	// eslint-disable-next-line no-control-regex
	if (/[\u0000-\u001f\u007f]/.test(next)) return home;
	const path = next.split(/[?#]/, 1)[0];
	if (path !== base && !path.startsWith(`${base}/`)) return home;
	if (path === `${base}/login` || path.startsWith(`${base}/login/`)) return home;
	return next;
}
