// Test plumbing shared by the dashboard's tests: JSON answers, fetch
// replaced by a fake admin API, window.confirm, and who is signed in.
//
// For tests only: it imports vitest, so nothing the app ships may import it.
// What it stubs is put back after each test (`unstubGlobals` in
// vite.config.ts; `signedInAs` signs out by itself).

import { onTestFinished, vi, type Mock } from 'vitest';
import { API_PREFIX } from './api';
import { session } from './session.svelte';
import type { AppRole, Grant, Me, User, UserRole } from './types';

// ----- answers -----

/** A JSON answer; without a body, an empty one with no Content-Type (a 204). */
export function jsonResponse(
	status: number,
	body?: unknown,
	headers: Record<string, string> = {}
): Response {
	if (body === undefined) return new Response(null, { status, headers });
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'Content-Type': 'application/json', ...headers }
	});
}

/** The admin API's error answer: `{"error": {"code", "message", ...extra}}`. */
export function errorResponse(
	status: number,
	code: string,
	message: string,
	extra: Record<string, unknown> = {},
	headers: Record<string, string> = {}
): Response {
	return jsonResponse(status, { error: { code, message, ...extra } }, headers);
}

// ----- fetch -----

/** fetch as the tests replace it. */
export type FetchMock = Mock<(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>>;

/** Replaces fetch with `answer` (a throw rejects the call); returns the mock. */
export function stubFetch(
	answer: (url: string, init: RequestInit) => Response | Promise<Response>
): FetchMock {
	const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) =>
		answer(String(input), init ?? {})
	);
	vi.stubGlobal('fetch', fetch);
	return fetch;
}

/** A fetch that answers every call with this JSON (a new Response each time). */
export function mockFetchJson(
	status: number,
	body?: unknown,
	headers: Record<string, string> = {}
): FetchMock {
	return stubFetch(() => jsonResponse(status, body, headers));
}

/** A fetch that never reaches the server: every call rejects as a browser's does. */
export function mockFetchOffline(): FetchMock {
	return stubFetch(() => {
		throw new TypeError('Failed to fetch');
	});
}

/** One call to fetch, as made. */
export interface FetchCall {
	url: string;
	init: RequestInit;
}

/** A fetch that answers `responses` in turn (an Error is thrown, as a network
 *  failure is); a call beyond them rejects. Returns the calls, recorded. */
export function mockFetchSequence(...responses: (Response | Error)[]): FetchCall[] {
	const calls: FetchCall[] = [];
	stubFetch((url, init) => {
		calls.push({ url, init });
		const next = responses.shift();
		if (next === undefined) throw new Error('unexpected fetch');
		if (next instanceof Error) throw next;
		return next;
	});
	return calls;
}

/** A request to a fake server: the URL as asked (prefix and query included)
 *  and the JSON body, parsed (undefined without one). */
export interface ApiRequest {
	method: string;
	url: string;
	body: unknown;
}

function jsonBody(init: RequestInit): unknown {
	return typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
}

/** A fetch answered by `handle`, which sees each request (a throw rejects the
 *  call). Returns the requests, recorded. */
export function mockServer(
	handle: (req: ApiRequest) => Response | Promise<Response>
): ApiRequest[] {
	const calls: ApiRequest[] = [];
	stubFetch((url, init) => {
		const req = { method: init.method ?? 'GET', url, body: jsonBody(init) };
		calls.push(req);
		return handle(req);
	});
	return calls;
}

/** A call to the admin API, by its path under /api/v1/admin. */
export interface ApiCall {
	method: string;
	path: string;
	body: unknown;
}

/** Answers by "METHOD /path", the path under /api/v1/admin (query included),
 *  from the parsed JSON body of the request. */
export type RouteTable = Record<string, (body: unknown) => Response | Promise<Response>>;

/** A fetch that answers the admin API from `routes`; any other call (another
 *  route, or a URL outside /api/v1/admin) rejects. Returns the calls, recorded. */
export function mockApi(routes: RouteTable): ApiCall[] {
	const calls: ApiCall[] = [];
	stubFetch((url, init) => {
		const method = init.method ?? 'GET';
		const inApi = url.startsWith(API_PREFIX);
		const path = inApi ? url.slice(API_PREFIX.length) : url;
		const body = jsonBody(init);
		calls.push({ method, path, body });
		const handler = inApi ? routes[`${method} ${path}`] : undefined;
		if (!handler) throw new Error(`unexpected ${method} ${url}`);
		return handler(body);
	});
	return calls;
}

// ----- the browser -----

/** Replaces window.confirm with a mock answering `answer` (change it with
 *  `mockReturnValue`). */
export function mockConfirm(answer: boolean): Mock<(message?: string) => boolean> {
	const confirm = vi.fn((_message?: string) => answer);
	vi.stubGlobal('confirm', confirm);
	return confirm;
}

// ----- the session -----

/** A role in an app: the app shop, with id `a`, unless said. */
export function grant(
	role: AppRole,
	app: { id: string; name: string } = { id: 'a', name: 'shop' }
): Grant {
	return { app_id: app.id, app: app.name, role };
}

/** Signs in until the test ends: sets `session.me` to `user` or, given an
 *  instance role, to alice (id `u1`) with it, holding `grants`. Returns it.
 *  Call it inside a test. */
export function signedInAs(user: UserRole | User, grants: Grant[] = []): Me {
	const me: Me = {
		user:
			typeof user === 'string'
				? { id: 'u1', username: 'alice', role: user, created_at: '2025-01-01T00:00:00Z' }
				: user,
		roles: grants
	};
	session.me = me;
	onTestFinished(() => {
		session.me = null;
	});
	return me;
}
