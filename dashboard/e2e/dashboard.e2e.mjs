// End-to-end: the dashboard in Debian's chromium (playwright-core, headless)
// against a real picloud on a free port with a fresh data directory.
//
//   PICLOUD_BIN   the server binary (default ../target/debug/picloud)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//
// Run with `npm run e2e` after `cargo build -p picloud`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const BIN = resolve(process.env.PICLOUD_BIN ?? '../target/debug/picloud');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const USER = 'admin';
const PASSWORD = 'e2e test password';

let server;
let base;
let dataDir;
let browser;

function freePort() {
	return new Promise((done, fail) => {
		const s = createServer();
		s.once('error', fail);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => done(port));
		});
	});
}

before(async () => {
	assert.ok(existsSync(BIN), `no server binary at ${BIN}: run cargo build -p picloud`);
	const port = await freePort();
	dataDir = mkdtempSync(join(tmpdir(), 'picloud-e2e-'));
	base = `http://127.0.0.1:${port}`;
	server = spawn(BIN, [], {
		env: {
			PATH: process.env.PATH,
			PICLOUD_DATA_DIR: dataDir,
			PICLOUD_BIND: `127.0.0.1:${port}`,
			PICLOUD_ADMIN_USER: USER,
			PICLOUD_ADMIN_PASSWORD: PASSWORD,
			PICLOUD_LOG: 'warn'
		},
		stdio: ['ignore', 'ignore', 'inherit']
	});
	const started = Date.now();
	for (;;) {
		try {
			if ((await fetch(`${base}/healthz`)).ok) break;
		} catch {
			// not up yet
		}
		assert.ok(Date.now() - started < 30_000, 'picloud did not become healthy');
		await new Promise((r) => setTimeout(r, 50));
	}
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage']
	});
});

after(async () => {
	await browser?.close();
	server?.kill('SIGTERM');
	if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('sign in, create an app and a script (after fixing its error), sign out', async () => {
	const page = await browser.newPage();
	const violations = [];
	page.on('console', (m) => {
		if (m.type() === 'error') violations.push(m.text());
	});

	// Not signed in: the app sends us to sign-in, then back.
	await page.goto(`${base}/admin/`);
	await page.waitForURL(/\/admin\/login/);
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
	await page.getByRole('link', { name: 'shop' }).click();
	await page.waitForURL(/\/admin\/apps\/shop$/);

	// A script with a deliberate error: the server's message, with its
	// position, where it happened; then fixed and saved.
	await page.getByRole('button', { name: 'New script' }).click();
	await page.getByLabel('Name').fill('hello');
	await page.getByLabel('Source').fill('let x = ;');
	await page.getByRole('button', { name: 'Save' }).click();
	const error = page.getByRole('alert').filter({ hasText: /Compile error at line 1/ });
	await error.waitFor();
	await page.getByLabel('Source').fill('"Hello, world!"');
	await page.getByRole('button', { name: 'Save' }).click();
	await page.getByText('hello', { exact: true }).waitFor();

	// It is really there, and runs.
	const scripts = await page.evaluate(async () => {
		const r = await fetch('/api/v1/admin/scripts?app=shop', { credentials: 'same-origin' });
		return r.json();
	});
	assert.equal(scripts.items.length, 1);
	const run = await fetch(`${base}/api/v1/execute/${scripts.items[0].id}`);
	assert.equal(await run.text(), 'Hello, world!');

	// Sign out: back to sign-in, and the session is gone.
	await page.getByRole('button', { name: 'Sign out' }).click();
	await page.waitForURL(/\/admin\/login/);
	const me = await page.evaluate(async () => (await fetch('/api/v1/admin/auth/me')).status);
	assert.equal(me, 401);

	// No script was blocked by the Content-Security-Policy.
	assert.deepEqual(
		violations.filter((v) => /Content Security Policy/i.test(v)),
		[]
	);
	await page.close();
});
