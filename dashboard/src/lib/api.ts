// A small typed client for the PiCloud admin API (/api/v1/admin).
//
// Authentication is the session cookie that `POST /auth/login` sets
// (HttpOnly, SameSite=Strict): every call is made with
// `credentials: 'same-origin'` and the token in the login answer is never
// stored. The browser sends `Origin` on writes, which the server's
// same-origin check for cookie-authenticated changes requires.

import type {
	App,
	ErrorBody,
	ErrorCode,
	Execution,
	ItemList,
	LoginResponse,
	Me,
	NewApp,
	NewScript,
	Script,
	ScriptChange
} from './types';

/** Where the admin API lives, relative to the page's origin. */
export const API_PREFIX = '/api/v1/admin';

/** A failed call: the server's JSON error, or what the client made of an
 *  answer that was not one. */
export class ApiError extends Error {
	/** The HTTP status; 0 when no answer arrived. */
	readonly status: number;
	/** The error code (`invalid_credentials`, `compile_error`, …). */
	readonly code: ErrorCode | (string & {});
	/** Fields beside `code` and `message` (`line`, `column`, `conflicts`, …). */
	readonly details: Record<string, unknown>;
	/** Seconds from a `Retry-After` header (429, 503), if any. */
	readonly retryAfter: number | null;

	constructor(
		status: number,
		code: string,
		message: string,
		details: Record<string, unknown> = {},
		retryAfter: number | null = null
	) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.details = details;
		this.retryAfter = retryAfter;
	}

	/** The 1-based source line of a script error, when the server gave one. */
	get line(): number | undefined {
		return typeof this.details.line === 'number' ? this.details.line : undefined;
	}

	/** The 1-based source column of a script error, when the server gave one. */
	get column(): number | undefined {
		return typeof this.details.column === 'number' ? this.details.column : undefined;
	}
}

/** Words for a person: the message, with the position of a script error. */
export function errorText(err: unknown): string {
	if (err instanceof ApiError) {
		const { line, column } = err;
		if (line !== undefined && column !== undefined) {
			return `${err.message} (line ${line}, column ${column})`;
		}
		if (line !== undefined) return `${err.message} (line ${line})`;
		return err.message;
	}
	if (err instanceof Error) return err.message;
	return String(err);
}

type UnauthorizedHandler = (err: ApiError) => void;
let unauthorizedHandler: UnauthorizedHandler | null = null;

/** Called when any call but login answers 401 (no, an expired or a revoked
 *  session). The call still rejects with the error. Returns a function that
 *  removes the handler. */
export function onUnauthorized(handler: UnauthorizedHandler): () => void {
	unauthorizedHandler = handler;
	return () => {
		if (unauthorizedHandler === handler) unauthorizedHandler = null;
	};
}

type Query = Record<string, string | number | undefined>;

interface RequestOptions {
	body?: unknown;
	query?: Query;
	/** false for login: its 401 is a wrong password, not a lost session. */
	session?: boolean;
}

function isErrorBody(v: unknown): v is ErrorBody {
	if (typeof v !== 'object' || v === null || !('error' in v)) return false;
	const e = (v as { error: unknown }).error;
	return (
		typeof e === 'object' &&
		e !== null &&
		typeof (e as { code?: unknown }).code === 'string' &&
		typeof (e as { message?: unknown }).message === 'string'
	);
}

function retryAfterOf(res: Response): number | null {
	const v = res.headers.get('Retry-After');
	if (v === null) return null;
	const n = Number(v);
	return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Turns a non-2xx answer into an ApiError. */
async function errorFrom(res: Response): Promise<ApiError> {
	const retryAfter = retryAfterOf(res);
	let parsed: unknown = undefined;
	try {
		parsed = JSON.parse(await res.text());
	} catch {
		// not JSON: a proxy's error page, an empty body…
	}
	if (isErrorBody(parsed)) {
		const { code, message, ...details } = parsed.error;
		return new ApiError(res.status, code, message, details, retryAfter);
	}
	const what = res.statusText ? `${res.status} ${res.statusText}` : String(res.status);
	return new ApiError(
		res.status,
		'http_error',
		`The server answered ${what} without an error message.`,
		{},
		retryAfter
	);
}

function url(path: string, query?: Query): string {
	let u = API_PREFIX + path;
	if (query) {
		const params = new URLSearchParams();
		for (const [k, v] of Object.entries(query)) {
			if (v !== undefined) params.set(k, String(v));
		}
		const s = params.toString();
		if (s) u += `?${s}`;
	}
	return u;
}

/** One call. Resolves with the parsed JSON (undefined for 204 or an empty
 *  body); rejects with an ApiError. */
async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
	const headers: Record<string, string> = { Accept: 'application/json' };
	const init: RequestInit = {
		method,
		headers,
		credentials: 'same-origin',
		cache: 'no-store'
	};
	if (opts.body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(opts.body);
	}

	let res: Response;
	try {
		res = await fetch(url(path, opts.query), init);
	} catch (e) {
		const why = e instanceof Error && e.message ? `: ${e.message}` : '';
		throw new ApiError(0, 'network_error', `Could not reach the server${why}.`);
	}

	if (!res.ok) {
		const err = await errorFrom(res);
		if (err.status === 401 && opts.session !== false) unauthorizedHandler?.(err);
		throw err;
	}
	if (res.status === 204) return undefined as T;
	const text = await res.text();
	if (text === '') return undefined as T;
	try {
		return JSON.parse(text) as T;
	} catch {
		throw new ApiError(res.status, 'http_error', 'The server answered with something that is not JSON.');
	}
}

const seg = encodeURIComponent;

// ----- auth -----

/** Signs in: the answer sets the session cookie. A wrong password is an
 *  ApiError `invalid_credentials` (401), repeated failures
 *  `too_many_attempts` (429, with `retryAfter`). */
export function login(username: string, password: string): Promise<LoginResponse> {
	return request('POST', '/auth/login', { body: { username, password }, session: false });
}

/** Ends the session (204); the cookie is cleared. */
export function logout(): Promise<void> {
	return request('POST', '/auth/logout');
}

/** The signed-in user and their app roles. */
export function me(): Promise<Me> {
	return request('GET', '/auth/me');
}

// ----- apps -----

/** The apps the caller has a role in (all of them for an instance admin). */
export async function listApps(): Promise<App[]> {
	return (await request<ItemList<App>>('GET', '/apps')).items;
}

/** One app, by id or name. */
export function getApp(app: string): Promise<App> {
	return request('GET', `/apps/${seg(app)}`);
}

/** Creates an app (instance admins only). */
export function createApp(app: NewApp): Promise<App> {
	return request('POST', '/apps', { body: app });
}

/** Deletes an app, by id or name, and everything it owns. */
export function deleteApp(app: string): Promise<void> {
	return request('DELETE', `/apps/${seg(app)}`);
}

// ----- scripts -----

/** The scripts of an app (id or name; absent means `default`). */
export async function listScripts(app?: string): Promise<Script[]> {
	return (await request<ItemList<Script>>('GET', '/scripts', { query: { app } })).items;
}

/** Creates a script. Source that does not compile is an ApiError
 *  `compile_error` with `line` and `column`, and nothing is stored. */
export function createScript(script: NewScript): Promise<Script> {
	return request('POST', '/scripts', { body: script });
}

export function getScript(id: string): Promise<Script> {
	return request('GET', `/scripts/${seg(id)}`);
}

/** Changes any of source, description, sandbox; the version goes up by one. */
export function updateScript(id: string, change: ScriptChange): Promise<Script> {
	return request('PUT', `/scripts/${seg(id)}`, { body: change });
}

/** Deletes a script with its routes and triggers. */
export function deleteScript(id: string): Promise<void> {
	return request('DELETE', `/scripts/${seg(id)}`);
}

/** A script's executions, newest first (`limit` 1–1000, server default 50). */
export async function listExecutions(scriptId: string, limit?: number): Promise<Execution[]> {
	const list = await request<ItemList<Execution>>('GET', `/scripts/${seg(scriptId)}/executions`, {
		query: { limit }
	});
	return list.items;
}
