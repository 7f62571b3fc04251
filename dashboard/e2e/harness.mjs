// What the end-to-end tests share: a real picloud on a free port with a
// fresh data directory, Debian's chromium (playwright-core, headless), and
// admin API calls.
//
//   PICLOUD_BIN   the server binary (default ../target/debug/picloud)
//   CHROMIUM      the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const BIN = resolve(process.env.PICLOUD_BIN ?? '../target/debug/picloud');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const USER = 'admin';
export const PASSWORD = 'e2e test password';

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

/** Starts picloud with `env` added to its settings; resolves once it is
 *  healthy to `{ port, base, stop() }`. */
export async function startPicloud(env = {}) {
	assert.ok(existsSync(BIN), `no server binary at ${BIN}: run cargo build -p picloud`);
	const port = await freePort();
	const dataDir = mkdtempSync(join(tmpdir(), 'picloud-e2e-'));
	const base = `http://127.0.0.1:${port}`;
	const server = spawn(BIN, [], {
		env: {
			PATH: process.env.PATH,
			PICLOUD_DATA_DIR: dataDir,
			PICLOUD_BIND: `127.0.0.1:${port}`,
			PICLOUD_ADMIN_USER: USER,
			PICLOUD_ADMIN_PASSWORD: PASSWORD,
			PICLOUD_LOG: 'warn',
			...env
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
	return {
		port,
		base,
		stop() {
			server.kill('SIGTERM');
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
}

/** Headless chromium with the flags this machine needs, and `args`. */
export function launchChromium(args = []) {
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', ...args]
	});
}

/** Collects what the browser reports as errors (CSP violations among them). */
export function watchConsole(page) {
	const errors = [];
	page.on('console', (m) => {
		if (m.type() === 'error') errors.push(m.text());
	});
	page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
	return errors;
}

/** Signs in through the API; resolves to the session token. */
export async function login(base, username = USER, password = PASSWORD) {
	const r = await fetch(`${base}/api/v1/admin/auth/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ username, password })
	});
	assert.equal(r.status, 200);
	return (await r.json()).token;
}

/** An admin API call with a bearer token; fails the test unless it is a
 *  2xx. Resolves to the parsed answer. */
export async function adminCall(base, token, method, path, body) {
	const r = await fetch(`${base}/api/v1/admin${path}`, {
		method,
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
	const text = await r.text();
	assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
	return text ? JSON.parse(text) : undefined;
}

/** Runs the picloud CLI (the same binary) with `args`, `input` on stdin and
 *  `env` added; resolves to `{ status, stdout, stderr }`. Fails the test
 *  on a non-zero exit unless `allowFailure`. */
export function cli(args, { env = {}, input = '', cwd, allowFailure = false } = {}) {
	const r = spawnSync(BIN, args, {
		env: { PATH: process.env.PATH, ...env },
		input,
		cwd,
		encoding: 'utf8',
		timeout: 60_000
	});
	if (!allowFailure) {
		assert.equal(r.status, 0, `picloud ${args.join(' ')}: ${r.stderr}${r.stdout}`);
	}
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
