// A client-only single-page app: nothing is rendered on a server, and no
// page is prerendered; adapter-static writes one fallback page
// (build/index.html) that serves every path under /admin/.
export const ssr = false;
export const prerender = false;
// URLs without a trailing slash: /admin, /admin/login, /admin/apps/shop
// (the client turns /admin/login/ into /admin/login).
export const trailingSlash = 'never';
