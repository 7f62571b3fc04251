// End-to-end: script content cannot act with a signed-in admin's rights.
//
// A signed-in instance admin opens pages that other users' scripts serve on
// the dashboard's own host name: an editor's page on a route of the
// `default` app, and an app owner's page on the dashboard's host, which
// their app claims. Each page tries to create an instance admin through
// the admin API with the admin's cookie, to read the admin API, and to
// plant or clear the session cookie, then reports what it saw to a route
// of its own. No user is created, and the dashboard still works. With
// PICLOUD_ADMIN_HOST, the same pages on another host cannot reach the
// dashboard's host, and the dashboard's host cannot be claimed.
//
// Host names *.example.test resolve to 127.0.0.1 in this browser only
// (--host-resolver-rules).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPicloud, launchChromium, login, adminCall, USER, PASSWORD } from './harness.mjs';

const ADMIN_HOST = 'admin.example.test';
const APPS_HOST = 'apps.example.test';

let browser;
const servers = [];

before(async () => {
	browser = await launchChromium(['--host-resolver-rules=MAP *.example.test 127.0.0.1']);
});

after(async () => {
	await browser?.close();
	for (const s of servers) s.stop();
});

/** The attack, as the page's script. `target` is the origin of the admin
 *  API it aims at ('' for its own). It reports to /report on its own host. */
function attackPage(who, target) {
	const js = `
(async () => {
	const results = { ran: true };
	const attempt = async (name, f) => {
		try { results[name] = await f(); } catch (e) { results[name] = 'blocked: ' + e.name; }
	};
	const api = ${JSON.stringify(target)} + '/api/v1/admin';
	await attempt('create_user', async () => (await fetch(api + '/users', {
		method: 'POST', credentials: 'include',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ username: 'pwned-${who}', password: 'pwned password', role: 'admin' })
	})).status);
	await attempt('create_user_simple', async () => (await fetch(api + '/users', {
		method: 'POST', credentials: 'include', mode: 'no-cors',
		headers: { 'content-type': 'text/plain' },
		body: JSON.stringify({ username: 'pwned2-${who}', password: 'pwned password', role: 'admin' })
	})).type);
	await attempt('read_users', async () => {
		const r = await fetch(api + '/users', { credentials: 'include' });
		return r.status + ' ' + (await r.text()).slice(0, 80);
	});
	await attempt('cookie', async () => document.cookie);
	await attempt('storage', async () => { localStorage.setItem('x', '1'); return 'ok'; });
	await fetch('/report?who=${who}&r=' + encodeURIComponent(JSON.stringify(results)), { mode: 'no-cors' });
})();`;
	const html = `<!doctype html><title>cats</title><p>Cute cats</p><script>${js}</script>`;
	// The answer also tries to plant a session cookie and to wipe the site's.
	return `#{ statusCode: 200, headers: #{
		"content-type": "text/html; charset=utf-8",
		"set-cookie": "picloud_session=planted; Path=/",
		"clear-site-data": "\\"cookies\\", \\"storage\\""
	}, body: ${JSON.stringify(html)} }`;
}

const REPORT = 'kv::collection("reports").set(ctx.request.query.who, json::parse(ctx.request.query.r)); "ok"';

/** A member with `role` in `app`, signed in; resolves to their token. */
async function member(base, adminToken, username, app, role) {
	await adminCall(base, adminToken, 'POST', '/users', {
		username,
		password: `${username} password`,
		role: 'member'
	});
	await adminCall(base, adminToken, 'POST', `/apps/${app}/members`, { user_id: username, role });
	return login(base, username, `${username} password`);
}

/** Deploys `source` in `app` with a route at `path`, as `token`. */
async function routed(base, token, app, name, path, source) {
	const s = await adminCall(base, token, 'POST', '/scripts', { app, name, source });
	await adminCall(base, token, 'POST', `/scripts/${s.id}/routes`, { path });
}

/** What the page reported, once it has (bounded). */
async function report(base, adminToken, app, who) {
	for (let i = 0; i < 200; i++) {
		const r = await fetch(`${base}/api/v1/admin/apps/${app}/kv/reports/${who}`, {
			headers: { authorization: `Bearer ${adminToken}` }
		});
		if (r.ok) return (await r.json()).value;
		await new Promise((done) => setTimeout(done, 50));
	}
	assert.fail(`the page of ${who} never reported: its script did not run`);
}

async function usernames(base, adminToken) {
	return (await adminCall(base, adminToken, 'GET', '/users')).items.map((u) => u.username);
}

/** Signs the admin in to the dashboard at `origin` in a new context. */
async function signedInAdmin(origin) {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${origin}/admin/`);
	await page.waitForURL(/\/admin\/login/);
	await page.getByLabel('Username').fill(USER);
	await page.getByLabel('Password').fill(PASSWORD);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('link', { name: 'default' }).waitFor();
	return { context, page };
}

/** The admin's dashboard still shows them signed in. */
async function dashboardStillWorks(page, origin) {
	await page.goto(`${origin}/admin/`);
	await page.getByRole('link', { name: 'default' }).waitFor();
	assert.ok(!page.url().includes('/login'), page.url());
	const me = await page.evaluate(async () => (await fetch('/api/v1/admin/auth/me')).status);
	assert.equal(me, 200, 'the session still works');
}

/** What a sandboxed page must have seen: nothing of the admin's. */
function assertHarmless(seen) {
	assert.equal(seen.ran, true);
	assert.notEqual(seen.create_user, 201, JSON.stringify(seen));
	assert.match(String(seen.read_users), /^blocked|^40[13]/, JSON.stringify(seen));
	assert.doesNotMatch(String(seen.cookie), /pcs_/, JSON.stringify(seen));
}

test('with default settings, pages of an editor and of an app owner on the dashboard host cannot act as the admin', async () => {
	const server = await startPicloud();
	servers.push(server);
	const origin = `http://${ADMIN_HOST}:${server.port}`;
	const admin = await login(server.base);

	// An editor of `default` serves a page at /cats, on every unclaimed host.
	const editor = await member(server.base, admin, 'eddie', 'default', 'editor');
	await routed(server.base, editor, 'default', 'cats', '/cats', attackPage('editor', ''));
	await routed(server.base, editor, 'default', 'report', '/report', REPORT);

	const { context, page } = await signedInAdmin(origin);
	const attack = await context.newPage();
	await attack.goto(`${origin}/cats`);
	const seen = await report(server.base, admin, 'default', 'editor');
	assertHarmless(seen);
	// The page is a sandbox: no storage of the dashboard's origin either.
	assert.match(String(seen.storage), /^blocked/, JSON.stringify(seen));

	// An app owner claims the dashboard's host name and serves a page there.
	await adminCall(server.base, admin, 'POST', '/apps', { name: 'owned' });
	const owner = await member(server.base, admin, 'olga', 'owned', 'owner');
	await adminCall(server.base, owner, 'POST', '/apps/owned/domains', { pattern: ADMIN_HOST });
	await routed(server.base, owner, 'owned', 'page', '/owned', attackPage('owner', ''));
	await routed(server.base, owner, 'owned', 'report', '/report', REPORT);
	await attack.goto(`${origin}/owned`);
	assertHarmless(await report(server.base, admin, 'owned', 'owner'));

	const users = await usernames(server.base, admin);
	assert.deepEqual(
		users.filter((u) => u.startsWith('pwned')),
		[],
		'no user was created'
	);
	await dashboardStillWorks(page, origin);
	await context.close();
});

test('with PICLOUD_ADMIN_HOST, scripts on other hosts cannot reach the dashboard, which no app can claim', async () => {
	const server = await startPicloud({ PICLOUD_ADMIN_HOST: ADMIN_HOST });
	servers.push(server);
	const origin = `http://${ADMIN_HOST}:${server.port}`;
	const admin = await login(server.base);

	const editor = await member(server.base, admin, 'eddie', 'default', 'editor');
	await routed(server.base, editor, 'default', 'cats', '/cats', attackPage('editor', origin));
	await routed(server.base, editor, 'default', 'report', '/report', REPORT);

	const { context, page } = await signedInAdmin(origin);
	const attack = await context.newPage();
	// The dashboard's host serves no user route at all.
	const there = await attack.goto(`${origin}/cats`);
	assert.equal(there.status(), 404);
	// On its own host the page aims at the dashboard's host.
	await attack.goto(`http://${APPS_HOST}:${server.port}/cats`);
	const seen = await report(server.base, admin, 'default', 'editor');
	assertHarmless(seen);
	// Scripts on their own hosts keep an ordinary origin (not sandboxed).
	assert.equal(seen.storage, 'ok', JSON.stringify(seen));

	await adminCall(server.base, admin, 'POST', '/apps', { name: 'owned' });
	const owner = await member(server.base, admin, 'olga', 'owned', 'owner');
	const claim = await fetch(`${server.base}/api/v1/admin/apps/owned/domains`, {
		method: 'POST',
		headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
		body: JSON.stringify({ pattern: ADMIN_HOST })
	});
	assert.equal(claim.status, 400);
	assert.equal((await claim.json()).error.code, 'bad_request');

	assert.deepEqual(
		(await usernames(server.base, admin)).filter((u) => u.startsWith('pwned')),
		[],
		'no user was created'
	);
	await dashboardStillWorks(page, origin);
	await context.close();
});
