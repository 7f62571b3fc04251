// End-to-end: the dashboard in Debian's chromium (playwright-core, headless)
// against a real picloud on a free port with a fresh data directory
// (harness.mjs: PICLOUD_BIN, CHROMIUM).
//
//   SCREENSHOTS   a directory: when set, the journey saves the pictures
//                 docs/dashboard.md shows (`SCREENSHOTS=../docs/images`)
//
// Run with `npm run e2e` after `cargo build -p picloud`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request as httpRequest } from 'node:http';
import { misfits } from './shapes.mjs';
import {
	USER,
	PASSWORD,
	startPicloud,
	launchChromium,
	watchConsole,
	login,
	cli,
	adminCall as call
} from './harness.mjs';

let server;
let base;
let browser;

before(async () => {
	server = await startPicloud();
	base = server.base;
	browser = await launchChromium();
});

after(async () => {
	await browser?.close();
	server?.stop();
});

const SHOTS = process.env.SCREENSHOTS ? resolve(process.env.SCREENSHOTS) : null;
if (SHOTS) mkdirSync(SHOTS, { recursive: true });

/** Saves a picture of the page for the docs, when asked to. */
async function shot(page, name) {
	if (SHOTS) await page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`) });
}

const adminToken = () => login(base);
const adminCall = (token, method, path, body) => call(base, token, method, path, body);

/** A GET to the server with another Host header (fetch does not allow it). */
function getWithHost(path, host) {
	return new Promise((done, fail) => {
		const req = httpRequest(`${base}${path}`, { headers: { host } }, (res) => {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', (chunk) => (text += chunk));
			res.on('end', () => done(text));
		});
		req.on('error', fail);
		req.end();
	});
}

/** A request to the server with another Host header; resolves to
 *  `{ status, headers, text }`. */
function sendWithHost(method, path, host, body, headers = {}) {
	return new Promise((done, fail) => {
		const req = httpRequest(
			`${base}${path}`,
			{ method, headers: { host, 'content-type': 'application/json', ...headers } },
			(res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (chunk) => (text += chunk));
				res.on('end', () => done({ status: res.statusCode, headers: res.headers, text }));
			}
		);
		req.on('error', fail);
		req.end(body === undefined ? undefined : JSON.stringify(body));
	});
}

const SOURCE = [
	'let name = ctx.request.query.name ?? "world";',
	'kv::collection("greetings").set(name, #{ greeted: true, version: 1 });',
	'log::info("greeted " + name);',
	'`Hello, ${name}!`'
].join('\n');

/** What the journey sets as a secret: never to be seen on any page. */
const SECRET_VALUE = 'e2e-secret-value-7f3a9c';

test('a signed-out browser at / reaches sign-in, and no signed-in control is ever painted', async () => {
	const context = await browser.newContext();
	// Every signed-in control that is ever put into the page, even for a
	// moment (the observer runs before the browser paints).
	await context.addInitScript(() => {
		window.__signedInControls = [];
		new MutationObserver(() => {
			for (const el of document.querySelectorAll('header a, header button, nav')) {
				const text = el.textContent.trim();
				if (/Sign out|API tokens|Apps/.test(text)) window.__signedInControls.push(text);
			}
		}).observe(document, { childList: true, subtree: true });
	});
	const page = await context.newPage();
	// The server's root, where no route is: a browser is sent to the dashboard.
	await page.goto(`${base}/`);
	await page.waitForURL(/\/admin\/login/);
	await page.getByRole('button', { name: 'Sign in' }).waitFor();
	assert.deepEqual(await page.evaluate(() => window.__signedInControls), []);
	await context.close();
});

test('the whole journey: sign in, app, script with an error then fixed, route, domain, secret, test run, executions, KV, sign out', async () => {
	const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
	const page = await context.newPage();
	const errors = watchConsole(page);

	// Not signed in: the app sends us to sign-in, then back.
	await page.goto(`${base}/admin/`);
	await page.waitForURL(/\/admin\/login/);
	await shot(page, 'login');
	await page.getByLabel('Username').fill(USER);
	await page.getByLabel('Password').fill('not the password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('alert').filter({ hasText: /invalid username or password/i }).waitFor();
	await page.getByLabel('Password').fill(PASSWORD);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('link', { name: 'default' }).waitFor();

	// An app.
	await page.getByLabel('App name').fill('shop');
	await page.getByRole('button', { name: 'Create app' }).click();
	await page.getByRole('link', { name: 'shop' }).waitFor();
	await shot(page, 'apps');
	await page.getByRole('link', { name: 'shop' }).click();
	await page.waitForURL(/\/admin\/apps\/shop$/);

	// A script with a deliberate error: the marker in the editor at the
	// line the server reports, and the message in words.
	await page.getByRole('button', { name: 'New script' }).click();
	await page.waitForURL(/\/scripts\/new$/);
	await page.getByLabel('Name').fill('hello');
	await page.getByLabel('Source').fill('let greeting = "hi";\nlet x = ;\ngreeting');
	await page.getByRole('button', { name: 'Save' }).click();
	await page.getByRole('alert').filter({ hasText: /Compile error at line 2/ }).waitFor();
	await page.locator('.cm-lintRange-error').first().waitFor();
	const marked = await page.locator('.cm-lintRange-error').first().evaluate((el) => {
		const line = el.closest('.cm-line');
		return [...line.parentElement.children].indexOf(line) + 1;
	});
	assert.equal(marked, 2, 'the marker is on line 2');
	await shot(page, 'editor-error');

	// Fixed and saved: version 1, and the page is the script's.
	await page.getByLabel('Source').fill(SOURCE);
	await page.getByRole('button', { name: 'Save' }).click();
	await page.waitForURL(/\/admin\/apps\/shop\/scripts\/[0-9a-f-]{36}$/);
	await page.getByText('Version 1').waitFor();
	assert.equal(await page.locator('.cm-lintRange-error').count(), 0, 'the marker is gone');
	const scriptUrl = page.url();

	// A route, with the live check saying the path is free.
	await page.getByRole('link', { name: 'Routes' }).click();
	await page.waitForURL(/\/apps\/shop\/routes$/);
	await page.getByLabel('Script').selectOption({ label: 'hello' });
	await page.getByLabel('Path').fill('/hello');
	await page.getByText('Available').waitFor();
	await page.getByLabel('GET', { exact: true }).check();
	await page.getByRole('button', { name: 'Add route' }).click();
	await page.getByRole('cell', { name: '/hello' }).waitFor();
	// The same path again is a conflict, said before anything is sent.
	await page.getByLabel('Path').fill('/hello/');
	await page.getByText(/conflict/i).first().waitFor();
	await shot(page, 'routes');

	// The app's routes answer on its own domain: claim one in Settings.
	await page.getByRole('link', { name: 'Settings' }).click();
	await page.getByLabel('Pattern').fill('shop.example.com');
	await page.getByRole('button', { name: 'Claim' }).click();
	await page.getByRole('rowheader', { name: 'shop.example.com' }).waitFor();
	await shot(page, 'settings');
	assert.equal(await getWithHost('/hello?name=route', 'shop.example.com'), 'Hello, route!');

	// A secret: set in its tab, listed by name, its value never on the page;
	// then deleted.
	await page.getByRole('link', { name: 'Secrets' }).click();
	await page.waitForURL(/\/apps\/shop\/secrets$/);
	await page.getByText('This app has no secrets.').waitFor();
	const secretName = page.getByLabel('Name', { exact: true });
	const secretValue = page.getByLabel('Value', { exact: true });
	assert.equal(await secretValue.getAttribute('type'), 'password');
	await secretName.fill('e2e_token');
	assert.equal(await secretName.inputValue(), 'E2E_TOKEN', 'names are turned into capitals');
	await secretValue.fill(SECRET_VALUE);
	await page.getByRole('button', { name: 'Save secret' }).click();
	await page.getByRole('rowheader', { name: 'E2E_TOKEN' }).waitFor();
	await page.getByRole('status').filter({ hasText: 'Saved the secret E2E_TOKEN.' }).waitFor();
	assert.equal(await secretValue.inputValue(), '', 'the value field is cleared');
	assert.ok(!(await page.locator('body').innerText()).includes(SECRET_VALUE), 'no value in the text');
	assert.ok(!(await page.content()).includes(SECRET_VALUE), 'no value in the markup');
	await shot(page, 'secrets');
	page.once('dialog', (dialog) => dialog.accept());
	await page.getByRole('button', { name: 'Delete secret E2E_TOKEN' }).click();
	await page.getByText('This app has no secrets.').waitFor();
	await page.getByRole('status').filter({ hasText: 'Deleted the secret E2E_TOKEN.' }).waitFor();

	// The test runner: the answer and the logs of that very run.
	await page.goto(scriptUrl);
	await page.getByText('Version 1').waitFor();
	await page.getByLabel('Path').fill('?name=e2e');
	await page.getByRole('button', { name: 'Run' }).click();
	const response = page.getByRole('region', { name: 'Response' });
	await response.getByText('Hello, e2e!').waitFor();
	await response.getByText('200').first().waitFor();
	const logs = page.getByRole('region', { name: 'Execution and logs' });
	await logs.getByText('greeted e2e').waitFor();
	await shot(page, 'editor-runner');

	// The executions page: both runs, the newest first, with its logs.
	await page.getByRole('link', { name: 'Executions', exact: true }).first().click();
	await page.waitForURL(/\/executions$/);
	const rows = page.locator('tbody tr', { has: page.getByRole('button', { name: /^Logs/ }) });
	await rows.nth(1).waitFor();
	await page.getByRole('button', { name: /^Logs/ }).first().click();
	await page.getByText('greeted e2e').waitFor();
	await shot(page, 'executions');

	// The KV key the script wrote.
	await page.getByRole('link', { name: 'KV' }).click();
	await page.waitForURL(/\/apps\/shop\/kv$/);
	await page.getByRole('link', { name: 'greetings' }).click();
	await page.getByRole('button', { name: 'e2e', exact: true }).click();
	const value = page.getByLabel('Value (JSON)');
	await value.waitFor();
	assert.deepEqual(JSON.parse(await value.inputValue()), { greeted: true, version: 1 });
	await shot(page, 'kv');

	// The script page's activity: three charts of the last hour, a point a
	// minute, drawn; the table under them adds up to the two runs so far.
	await page.goto(scriptUrl);
	const activity = page.getByRole('region', { name: 'Activity' });
	await activity.getByText('Executions and errors').waitFor();
	assert.equal(await activity.locator('.chart[data-points="60"]').count(), 3);
	await activity.locator('.chart canvas').nth(2).waitFor();
	const inked = await activity.locator('.chart canvas').first().evaluate((c) => {
		const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
		let n = 0;
		for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
		return n;
	});
	assert.ok(inked > 100, `the chart is drawn (${inked} pixels)`);
	await activity.getByText(/^As a table/).click();
	const counts = await activity
		.getByRole('table', { name: 'Activity per minute, with executions' })
		.locator('tbody tr td:nth-of-type(1)')
		.allInnerTexts();
	assert.equal(
		counts.reduce((sum, n) => sum + Number(n), 0),
		2
	);
	await shot(page, 'activity');

	// The app's scripts at a glance: the same two runs, as the day's bars.
	await page.goto(`${base}/admin/apps/shop`);
	const bars = page.getByRole('img', { name: /^2 executions in the last 24 hours/ });
	await bars.waitFor();
	assert.ok((await bars.locator('rect').count()) >= 1, 'an hour has a bar');
	await shot(page, 'scripts');

	// History: a change saved in the editor, the two versions side by side
	// with the change marked, and the first restored as version 3.
	await page.goto(scriptUrl);
	await page.getByText('Version 1').waitFor();
	await page.getByLabel('Source').fill(SOURCE.replace('Hello', 'Howdy'));
	await page.getByRole('button', { name: 'Save' }).click();
	await page.getByText('Version 2').waitFor();
	assert.equal(await getWithHost('/hello?name=h', 'shop.example.com'), 'Howdy, h!');
	await page.getByRole('link', { name: 'History' }).click();
	await page.waitForURL(/\/history$/);
	await page.getByRole('rowheader', { name: '2 live' }).waitFor();
	await page.locator('.diff .cm-changedText').first().waitFor();
	// Version 1 on the left, version 2 on the right (CSS reaches into the shadow root).
	const sides = page.locator('.diff .cm-content');
	assert.ok((await sides.nth(0).innerText()).includes('Hello'));
	assert.ok((await sides.nth(1).innerText()).includes('Howdy'));
	await shot(page, 'history');
	page.once('dialog', (dialog) => dialog.accept());
	await page.getByRole('button', { name: 'Restore version 1' }).click();
	await page
		.getByRole('status')
		.filter({ hasText: 'Version 1 restored as version 3, now live.' })
		.waitFor();
	await page.getByRole('rowheader', { name: '3 live' }).waitFor();
	assert.equal(await getWithHost('/hello?name=h', 'shop.example.com'), 'Hello, h!');

	// Releases: one made by hand, with what it holds in words.
	await page.getByRole('link', { name: 'Releases' }).click();
	await page.waitForURL(/\/apps\/shop\/releases$/);
	await page.getByText('This app has no releases yet.').waitFor();
	await page.getByLabel(/Message/).fill('after the e2e restore');
	await page.getByRole('button', { name: 'Make a release' }).click();
	await page.getByRole('status').filter({ hasText: 'Made release 1.' }).waitFor();
	await page.getByText('script hello added (version 3)').waitFor();
	await page.getByText('after the e2e restore').waitFor();

	// A broken version, released; then rolled back from the dashboard.
	await page.goto(scriptUrl);
	await page.getByText('Version 3').waitFor();
	await page.getByLabel('Source').fill('throw "broken on purpose"');
	await page.getByRole('button', { name: 'Save' }).click();
	await page.getByText('Version 4').waitFor();
	assert.match(await getWithHost('/hello?name=h', 'shop.example.com'), /broken on purpose/);
	await page.getByRole('link', { name: 'Releases' }).click();
	await page.getByLabel(/Message/).fill('the broken one');
	await page.getByRole('button', { name: 'Make a release' }).click();
	await page.getByRole('status').filter({ hasText: 'Made release 2.' }).waitFor();
	page.once('dialog', (dialog) => dialog.accept());
	await page.getByRole('button', { name: 'Roll back to release 1' }).click();
	await page
		.getByRole('status')
		.filter({ hasText: 'Rolled back to release 1: release 3 records it.' })
		.waitFor();
	await page.getByText('script hello: version 4 → 5').waitFor();
	assert.equal(await getWithHost('/hello?name=h', 'shop.example.com'), 'Hello, h!');
	await shot(page, 'releases');

	// An expired session: back to sign-in, then to where we were.
	await context.clearCookies();
	await page.getByRole('link', { name: 'Triggers' }).click();
	await page.waitForURL(/\/admin\/login\?next=/);
	await page.getByLabel('Username').fill(USER);
	await page.getByLabel('Password').fill(PASSWORD);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.waitForURL(/\/admin\/apps\/shop\/triggers$/);
	await page.getByRole('heading', { name: 'Dead letters', exact: true }).waitFor();

	// Sign out: back to sign-in, and the session is gone.
	await page.getByRole('button', { name: 'Sign out' }).click();
	await page.waitForURL(/\/admin\/login/);
	const me = await page.evaluate(async () => (await fetch('/api/v1/admin/auth/me')).status);
	assert.equal(me, 401);

	// Nothing was blocked by the Content-Security-Policy, nothing threw.
	assert.deepEqual(
		errors.filter((e) => /Content Security Policy|page error/i.test(e)),
		[]
	);
	await context.close();
});

test('a bad deploy is rolled back with the CLI and its failed request replayed from the dashboard', async () => {
	const home = mkdtempSync(join(tmpdir(), 'picloud-e2e-cli-'));
	const project = join(home, 'orders');
	mkdirSync(project);
	const env = { PICLOUD_CONFIG_DIR: join(home, 'config'), PICLOUD_URL: base };
	const picloud = (...args) => cli(args, { env, cwd: project });
	try {
		cli(['login', '--username', USER, '--password-stdin'], { env, input: `${PASSWORD}\n` });
		writeFileSync(
			join(project, 'picloud.toml'),
			[
				'[app]',
				'name = "orders"',
				'domains = ["orders.example.com"]',
				'',
				'[[scripts]]',
				'name = "checkout"',
				'file = "checkout.rhai"',
				'routes = ["/checkout"]'
			].join('\n')
		);
		const good = [
			'let order = ctx.request.body;',
			'kv::collection("orders").set("last", order);',
			'log::info("checked out", order);',
			'#{ statusCode: 201, body: #{ ok: true, total: order.qty * 2 } }'
		].join('\n');
		writeFileSync(join(project, 'checkout.rhai'), good);
		assert.match(picloud('deploy', '-m', 'checkout').stdout, /release 1 of app orders/);
		assert.match(picloud('apps', 'record', 'orders', 'failed').stdout, /keeps failed requests/);

		// The bad deploy, and a customer's request that fails on it.
		writeFileSync(join(project, 'checkout.rhai'), 'throw "checkout is broken";\n' + good);
		assert.match(picloud('deploy', '-m', 'oops').stdout, /release 2 of app orders/);
		const failed = await sendWithHost('POST', '/checkout', 'orders.example.com', { qty: 5 }, {
			authorization: 'Bearer customer-token'
		});
		assert.equal(failed.status, 500, failed.text);
		const failedId = failed.headers['picloud-execution-id'];

		// Restored with the CLI; the next order goes through.
		const rolled = picloud('rollback');
		assert.match(rolled.stdout, /rolled app orders back to release 1: release 3 records it/);
		const ok = await sendWithHost('POST', '/checkout', 'orders.example.com', { qty: 3 });
		assert.equal(ok.status, 201, ok.text);

		// The failed request, replayed from the dashboard against the fix.
		const token = await adminToken();
		const script = (await adminCall(token, 'GET', '/scripts?app=orders')).items[0];
		const context = await browser.newContext();
		const page = await context.newPage();
		const errors = watchConsole(page);
		await page.goto(`${base}/admin/apps/orders/scripts/${script.id}/executions`);
		await page.waitForURL(/\/admin\/login/);
		await page.getByLabel('Username').fill(USER);
		await page.getByLabel('Password').fill(PASSWORD);
		await page.getByRole('button', { name: 'Sign in' }).click();
		await page.waitForURL(/\/executions$/);
		const rows = page.locator('tbody tr', { has: page.getByRole('button', { name: /^Logs/ }) });
		await rows.nth(1).waitFor();
		const failedRow = rows.filter({ hasText: 'checkout is broken' });
		await failedRow.getByRole('button', { name: /^Logs/ }).click();
		await page.getByRole('heading', { name: 'Request' }).waitFor();
		await page.getByText('Not kept: authorization.').waitFor();
		assert.ok(!(await page.content()).includes('customer-token'), 'no credential is shown');
		await page.getByRole('button', { name: 'Replay against the live version' }).click();
		const result = page.getByRole('status').filter({ hasText: 'Replayed (dry run)' });
		await result.waitFor();
		assert.match(await result.innerText(), /with version 3: OK HTTP 201/);
		await result.getByText('{"ok":true,"total":10}').waitFor();
		// The replay joins the list, with its operations and CPU time.
		const replayRow = rows.filter({ hasText: 'dry-run replay' });
		await replayRow.waitFor();
		const cells = await replayRow.locator('td.num').allInnerTexts();
		assert.equal(cells.length, 3, 'duration, CPU, operations');
		for (const cell of cells) assert.notEqual(cell.trim(), '–', `a figure: ${cells}`);
		await shot(page, 'replay');

		// Nothing was changed by the dry run: the last order is still 3.
		const last = await adminCall(token, 'GET', '/apps/orders/kv/orders/last');
		assert.deepEqual(last.value, { qty: 3 });
		// And the CLI shows both, with the replay's link to the original.
		const logs = picloud('logs', 'checkout', '--app', 'orders').stdout;
		assert.ok(logs.includes(`replay of ${failedId}`), logs);
		assert.deepEqual(
			errors.filter((e) => /Content Security Policy|page error/i.test(e)),
			[]
		);
		await context.close();
	} finally {
		rmSync(home, { recursive: true, force: true });
	}
});

test('a viewer sees the app read-only, on a phone-width screen', async () => {
	const token = await adminToken();
	await adminCall(token, 'POST', '/apps', { name: 'readonly' });
	const script = await adminCall(token, 'POST', '/scripts', {
		app: 'readonly',
		name: 'shown',
		source: '"hi"'
	});
	await adminCall(token, 'POST', '/users', {
		username: 'vera',
		password: 'a viewer password',
		role: 'member'
	});
	await adminCall(token, 'POST', '/apps/readonly/members', { user_id: 'vera', role: 'viewer' });
	await adminCall(token, 'PUT', '/apps/readonly/secrets/SHOWN_KEY', { value: SECRET_VALUE });

	const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
	const page = await context.newPage();
	const errors = watchConsole(page);
	await page.goto(`${base}/admin/apps/readonly`);
	await page.waitForURL(/\/admin\/login/);
	await page.getByLabel('Username').fill('vera');
	await page.getByLabel('Password').fill('a viewer password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.waitForURL(/\/admin\/apps\/readonly$/);
	await page.getByRole('link', { name: 'shown' }).waitFor();
	assert.equal(await page.getByRole('button', { name: 'New script' }).count(), 0);
	assert.equal(await page.getByRole('button', { name: /^Delete/ }).count(), 0);
	// Nothing wider than the screen.
	const overflow = await page.evaluate(
		() => document.documentElement.scrollWidth > window.innerWidth
	);
	assert.equal(overflow, false, 'no horizontal scrolling at phone width');
	await shot(page, 'phone-viewer');

	await page.getByRole('link', { name: 'shown' }).click();
	await page.waitForURL(new RegExp(`/scripts/${script.id}$`));
	await page.getByRole('button', { name: 'Run' }).waitFor();
	assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
	assert.equal(
		await page.locator('.cm-content').getAttribute('contenteditable'),
		'false',
		'the editor is read-only'
	);
	await page.getByRole('link', { name: 'Routes' }).click();
	await page.getByRole('heading', { name: /routes/i }).first().waitFor();
	assert.equal(await page.getByRole('button', { name: 'Add route' }).count(), 0);
	await page.getByRole('link', { name: 'Secrets' }).click();
	await page.getByRole('rowheader', { name: 'SHOWN_KEY' }).waitFor();
	assert.equal(await page.getByRole('button', { name: /^(Delete|Replace)/ }).count(), 0);
	assert.equal(await page.getByRole('button', { name: 'Save secret' }).count(), 0);
	assert.ok(!(await page.content()).includes(SECRET_VALUE), 'a viewer sees no value');
	assert.deepEqual(
		errors.filter((e) => /Content Security Policy|page error/i.test(e)),
		[]
	);
	await context.close();
});

test('the admin API answers the shapes the client types declare', async () => {
	const token = await adminToken();
	const call = (method, path, body) => adminCall(token, method, path, body);
	const problems = [];
	const fits = (name, value) => problems.push(...misfits(name, value));

	const login = await (
		await fetch(`${base}/api/v1/admin/auth/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ username: USER, password: PASSWORD })
		})
	).json();
	fits('login', login);
	fits('user', login.user);
	const me = await call('GET', '/auth/me');
	fits('me', me);

	const app = await call('POST', '/apps', { name: 'shapes' });
	fits('app', app);
	fits('domain', await call('POST', '/apps/shapes/domains', { pattern: 'shapes.example.com' }));
	const user = await call('POST', '/users', {
		username: 'shape-user',
		password: 'a member password',
		role: 'member'
	});
	fits('user', user);
	fits('member', await call('POST', '/apps/shapes/members', { user_id: user.id, role: 'editor' }));
	const me2 = await call('GET', '/auth/me');
	for (const grant of me2.roles) fits('grant', grant);

	const script = await call('POST', '/scripts', {
		app: 'shapes',
		name: 'writer',
		source: 'log::info("hi", #{ n: 1 }); kv::collection("things").set("a", 1); "ok"'
	});
	fits('script', script);
	for (const v of (await call('GET', `/scripts/${script.id}/versions`)).items) {
		fits('scriptVersionSummary', v);
	}
	fits('scriptVersion', await call('GET', `/scripts/${script.id}/versions/1`));
	const failing = await call('POST', '/scripts', {
		app: 'shapes',
		name: 'failing',
		source: 'throw "always"'
	});
	const route = await call('POST', `/scripts/${script.id}/routes`, { path: '/w', methods: ['GET'] });
	fits('route', route);
	const check = await call('POST', '/routes/check', { app: 'shapes', path: '/w/' });
	fits('routeCheck', check);
	for (const c of check.conflicts) fits('routeTarget', c);
	assert.ok(check.conflicts.length > 0);

	const kvTrigger = await call('POST', '/apps/shapes/triggers', {
		kind: 'kv',
		collection: 'things',
		events: ['set'],
		script_id: failing.id,
		max_attempts: 1
	});
	fits('trigger', kvTrigger);
	fits('triggerStats', kvTrigger.stats);
	fits(
		'trigger',
		await call('POST', '/apps/shapes/triggers', {
			kind: 'cron',
			schedule: '0 0 1 1 *',
			script_id: script.id
		})
	);

	fits('secret', await call('PUT', '/apps/shapes/secrets/SHAPE_KEY', { value: 'a value' }));
	for (const s of (await call('GET', '/apps/shapes/secrets')).items) fits('secret', s);

	fits('app', await call('PATCH', '/apps/shapes', { record_requests: 'all' }));
	const run = await fetch(`${base}/api/v1/execute/${script.id}`);
	assert.equal(run.status, 200);
	const requestId = run.headers.get('picloud-request-id');
	assert.ok(requestId);

	/** The items of a list once there are some (records and events are
	 *  written in the background, a moment after the run). */
	const someOf = async (path) => {
		for (let i = 0; i < 200; i++) {
			const items = (await call('GET', path)).items;
			if (items.length > 0) return items;
			await new Promise((r) => setTimeout(r, 50));
		}
		assert.fail(`nothing in ${path}`);
	};

	// The write fires the failing trigger once: a dead letter.
	const deadLetters = await someOf('/apps/shapes/dead-letters');
	assert.equal(deadLetters.length, 1);
	fits('deadLetter', deadLetters[0]);

	const executions = await someOf(`/scripts/${script.id}/executions?request_id=${requestId}`);
	assert.equal(executions.length, 1);
	fits('execution', executions[0]);
	fits('logEntry', executions[0].logs[0]);
	assert.ok(executions[0].request, 'the app keeps its requests');
	const replayed = await call('POST', `/executions/${executions[0].id}/replay`, {});
	fits('replay', replayed);
	fits('execution', replayed.execution);
	fits('replayResponse', replayed.response);
	const triggered = await someOf(`/scripts/${failing.id}/executions`);
	fits('execution', triggered[0]);

	const scripts = (await call('GET', '/scripts?app=shapes')).items;
	for (const s of scripts) {
		fits('scriptSummary', s);
		fits('scriptStats', s.stats);
		fits('dayUsage', s.stats.last_day);
		for (const h of s.stats.last_day.hourly) fits('hourCount', h);
		fits('percentiles', s.stats.last_day.duration_ms);
		fits('percentiles', s.stats.last_day.operations);
	}
	const release = await call('POST', '/apps/shapes/releases', { message: 'shapes' });
	fits('release', release);
	fits('releaseSnapshot', release.snapshot);
	for (const s of release.snapshot.scripts) fits('releasedScript', s);
	for (const r of (await call('GET', '/apps/shapes/releases')).items) fits('release', r);
	const usage = await call('GET', `/scripts/${script.id}/usage?window=day`);
	fits('usageSeries', usage);
	for (const p of usage.points) {
		fits('usagePoint', p);
		fits('percentiles', p.duration_ms);
		fits('percentiles', p.operations);
	}
	for (const c of (await call('GET', '/apps/shapes/kv')).items) fits('kvCollection', c);
	const kvPage = await call('GET', '/apps/shapes/kv/things');
	fits('kvPage', kvPage);
	for (const e of kvPage.items) fits('kvEntry', e);
	fits('kvItem', await call('GET', '/apps/shapes/kv/things/a'));
	for (const t of (await call('GET', '/apps/shapes/triggers')).items) fits('trigger', t);

	const created = await call('POST', '/tokens', { name: 'shapes' });
	fits('createdToken', created);
	for (const t of (await call('GET', '/tokens')).items) fits('apiToken', t);
	for (const u of (await call('GET', '/users')).items) fits('user', u);

	assert.deepEqual(problems, []);
});

test('a secret used in a call to an allowed loopback server: the call in the record, the value redacted', async () => {
	// The world the script calls: a local server, allowed by configuration.
	const { createServer } = await import('node:http');
	const received = [];
	const upstream = createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			received.push({ method: req.method, url: req.url, body });
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end('{"ok":true}');
		});
	});
	await new Promise((done) => upstream.listen(0, '127.0.0.1', done));
	const port = upstream.address().port;
	const own = await startPicloud({ PICLOUD_HTTP_ALLOW: '127.0.0.1' });
	const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
	try {
		const page = await context.newPage();
		const errors = watchConsole(page);
		await page.goto(`${own.base}/admin/login`);
		await page.getByLabel('Username').fill(USER);
		await page.getByLabel('Password').fill(PASSWORD);
		await page.getByRole('button', { name: 'Sign in' }).click();
		await page.getByRole('link', { name: 'default' }).waitFor();

		// The secret, set in the dashboard.
		const value = 'e2e-api-key-51c0ffee';
		await page.goto(`${own.base}/admin/apps/default/secrets`);
		await page.getByLabel('Name', { exact: true }).fill('E2E_API_KEY');
		await page.getByLabel('Value', { exact: true }).fill(value);
		await page.getByRole('button', { name: 'Save secret' }).click();
		await page.getByRole('rowheader', { name: 'E2E_API_KEY' }).waitFor();

		// A script that uses it and calls the server; run once.
		const token = await login(own.base);
		const script = await call(own.base, token, 'POST', '/scripts', {
			name: 'hook',
			source: [
				'let k = secrets::get("E2E_API_KEY");',
				'log::info("using " + k);',
				`http::post("http://127.0.0.1:${port}/hook", #{ ok: true }).status`
			].join('\n')
		});
		const run = await fetch(`${own.base}/api/v1/execute/${script.id}`);
		assert.equal(run.status, 200, await run.text());
		assert.equal(received.length, 1);
		assert.deepEqual([received[0].method, received[0].url, received[0].body], ['POST', '/hook', '{"ok":true}']);

		// Its record in the dashboard: the call, and the log line redacted.
		await page.goto(`${own.base}/admin/apps/default/scripts/${script.id}/executions`);
		await page.getByRole('button', { name: /^Logs/ }).first().click();
		await page.getByText('using [secret E2E_API_KEY]').waitFor();
		const calls = page.getByRole('table', { name: 'Outbound calls' });
		const row = calls.getByRole('row').nth(1);
		await row.waitFor();
		const text = await row.innerText();
		for (const part of ['POST', `127.0.0.1:${port}`, '200', 'answered']) {
			assert.ok(text.includes(part), `${part} in ${text}`);
		}
		assert.ok(!(await page.content()).includes(value), 'the value is on no page');
		assert.deepEqual(errors, []);
	} finally {
		await context.close();
		own.stop();
		upstream.close();
	}
});
