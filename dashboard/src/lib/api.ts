// A small typed client for the PiCloud admin API (/api/v1/admin).
//
// Authentication is the session cookie that `POST /auth/login` sets
// (HttpOnly, SameSite=Strict): every call is made with
// `credentials: 'same-origin'` and the token in the login answer is never
// stored. The browser sends `Origin` on writes, which the server's
// same-origin check for cookie-authenticated changes requires.

import type {
	ApiToken,
	App,
	AppChange,
	AppRole,
	CreatedToken,
	DeadLetter,
	Domain,
	DomainClaim,
	ErrorBody,
	ErrorCode,
	Execution,
	ExecStatus,
	ItemList,
	KvCollection,
	KvItem,
	KvPage,
	LoginBody,
	LoginResponse,
	Me,
	Member,
	MemberChange,
	NewApp,
	NewRelease,
	NewRoute,
	NewScript,
	NewToken,
	NewTrigger,
	NewUser,
	Route,
	RouteCheck,
	RouteProposal,
	Script,
	ScriptChange,
	ScriptSummary,
	Release,
	Replay,
	ReplayOptions,
	ScriptVersion,
	ScriptVersionSummary,
	UsageSeries,
	Secret,
	SecretValue,
	Trigger,
	User
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
	/** A JSON body sent as written (instead of `body`), so number literals
	 *  such as `2.0` or integers past 2^53 reach the server unchanged. */
	jsonText?: string;
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
	if (opts.jsonText !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = opts.jsonText;
	} else if (opts.body !== undefined) {
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
	return request('POST', '/auth/login', {
		body: { username, password } satisfies LoginBody,
		session: false
	});
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

/** The scripts of an app (id or name; absent means `default`), each with
 *  its stats. */
export async function listScripts(app?: string): Promise<ScriptSummary[]> {
	return (await request<ItemList<ScriptSummary>>('GET', '/scripts', { query: { app } })).items;
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

/** An app's releases, newest first. */
export async function listReleases(app: string): Promise<Release[]> {
	const list = await request<ItemList<Release>>('GET', `/apps/${seg(app)}/releases`);
	return list.items;
}

/** Makes a release of the app as it is now; when nothing changed since
 *  the newest release, the server makes none and answers that one. */
export function createRelease(app: string, message: string): Promise<Release> {
	return request('POST', `/apps/${seg(app)}/releases`, {
		body: (message ? { message } : {}) satisfies NewRelease
	});
}

/** Changes an app's description or what it keeps of its requests (editors). */
export function updateApp(app: string, change: AppChange): Promise<App> {
	return request('PATCH', `/apps/${seg(app)}`, { body: change });
}

/** Runs an execution again with its kept request (or event): a dry run
 *  unless `dry_run: false`. Answers the replay's record and response. */
export function replayExecution(id: string, options: ReplayOptions = {}): Promise<Replay> {
	return request('POST', `/executions/${seg(id)}/replay`, { body: options });
}

/** Makes the app match one of its releases again; answers the release
 *  that records it (or the newest, when the app already matched). */
export function rollbackRelease(app: string, release: string): Promise<Release> {
	return request('POST', `/apps/${seg(app)}/releases/${seg(release)}/rollback`);
}

/** What a script's executions used over the last hour or day, point by point. */
export function getScriptUsage(id: string, window: 'hour' | 'day'): Promise<UsageSeries> {
	return request('GET', `/scripts/${seg(id)}/usage`, { query: { window } });
}

/** A script's saved versions, newest first, without their sources. */
export async function listScriptVersions(id: string): Promise<ScriptVersionSummary[]> {
	const list = await request<ItemList<ScriptVersionSummary>>('GET', `/scripts/${seg(id)}/versions`);
	return list.items;
}

/** One saved version of a script, with its source. */
export function getScriptVersion(id: string, version: number): Promise<ScriptVersion> {
	return request('GET', `/scripts/${seg(id)}/versions/${version}`);
}

/** Deletes a script with its routes and triggers. */
export function deleteScript(id: string): Promise<void> {
	return request('DELETE', `/scripts/${seg(id)}`);
}

/** Which executions to list. */
export interface ExecutionFilter {
	/** 1–1000, server default 50. */
	limit?: number;
	status?: ExecStatus;
	/** Only the executions of one request (the `picloud-request-id` header
	 *  of a data-plane answer): the script's own and those it invoked. */
	request_id?: string;
}

/** A script's executions, newest first. */
export async function listExecutions(
	scriptId: string,
	filter: ExecutionFilter = {}
): Promise<Execution[]> {
	const list = await request<ItemList<Execution>>('GET', `/scripts/${seg(scriptId)}/executions`, {
		query: { limit: filter.limit, status: filter.status, request_id: filter.request_id }
	});
	return list.items;
}

// ----- routes -----

/** Binds a path (and methods; absent = any) to a script. A clash is an
 *  ApiError `route_conflict` whose `details.conflicts` lists the routes. */
export function createRoute(scriptId: string, route: NewRoute): Promise<Route> {
	return request('POST', `/scripts/${seg(scriptId)}/routes`, { body: route });
}

/** The routes of an app. */
export async function listRoutes(app?: string): Promise<Route[]> {
	return (await request<ItemList<Route>>('GET', '/routes', { query: { app } })).items;
}

/** Whether a route could be added, without adding it. */
export function checkRoute(check: RouteProposal): Promise<RouteCheck> {
	return request('POST', '/routes/check', { body: check });
}

export function deleteRoute(id: string): Promise<void> {
	return request('DELETE', `/routes/${seg(id)}`);
}

// ----- domains and members -----

export async function listDomains(app: string): Promise<Domain[]> {
	return (await request<ItemList<Domain>>('GET', `/apps/${seg(app)}/domains`)).items;
}

/** Claims a host pattern for an app (owners); taken → `conflict` (409). */
export function claimDomain(app: string, pattern: string): Promise<Domain> {
	return request('POST', `/apps/${seg(app)}/domains`, { body: { pattern } satisfies DomainClaim });
}

export function releaseDomain(app: string, id: string): Promise<void> {
	return request('DELETE', `/apps/${seg(app)}/domains/${seg(id)}`);
}

export async function listMembers(app: string): Promise<Member[]> {
	return (await request<ItemList<Member>>('GET', `/apps/${seg(app)}/members`)).items;
}

/** Adds a member or changes their role; `user` is a user id or username. */
export function setMember(app: string, user: string, role: AppRole): Promise<Member> {
	return request('POST', `/apps/${seg(app)}/members`, {
		body: { user_id: user, role } satisfies MemberChange
	});
}

export function removeMember(app: string, userId: string): Promise<void> {
	return request('DELETE', `/apps/${seg(app)}/members/${seg(userId)}`);
}

// ----- KV -----

/** The collections of an app's store, with their key counts. */
export async function listCollections(app: string): Promise<KvCollection[]> {
	return (await request<ItemList<KvCollection>>('GET', `/apps/${seg(app)}/kv`)).items;
}

/** One page of a collection, keys in byte order; pass the previous page's
 *  `cursor` for the next. */
export function kvPage(
	app: string,
	collection: string,
	opts: { cursor?: string; limit?: number; prefix?: string } = {}
): Promise<KvPage> {
	return request('GET', `/apps/${seg(app)}/kv/${seg(collection)}`, {
		query: { cursor: opts.cursor, limit: opts.limit, prefix: opts.prefix || undefined }
	});
}

export function kvGet(app: string, collection: string, key: string): Promise<KvItem> {
	return request('GET', `/apps/${seg(app)}/kv/${seg(collection)}/${seg(key)}`);
}

/** Stores any JSON value (triggers fire as for a script's write). */
export function kvPut(app: string, collection: string, key: string, value: unknown): Promise<KvItem> {
	return request('PUT', `/apps/${seg(app)}/kv/${seg(collection)}/${seg(key)}`, {
		body: value === undefined ? null : value
	});
}

/** Stores a value given as JSON text, sent exactly as written: what a
 *  person typed (`2.0`, a 20-digit integer) is what the store keeps. */
export function kvPutText(
	app: string,
	collection: string,
	key: string,
	jsonText: string
): Promise<KvItem> {
	return request('PUT', `/apps/${seg(app)}/kv/${seg(collection)}/${seg(key)}`, { jsonText });
}

export function kvDelete(app: string, collection: string, key: string): Promise<void> {
	return request('DELETE', `/apps/${seg(app)}/kv/${seg(collection)}/${seg(key)}`);
}

// ----- secrets -----

/** The names of an app's secrets, by name, with who set each and when:
 *  never their values. */
export async function listSecrets(app: string): Promise<Secret[]> {
	return (await request<ItemList<Secret>>('GET', `/apps/${seg(app)}/secrets`)).items;
}

/** Sets a secret, new or replaced (editors). The answer never holds the
 *  value. A malformed name or a value over 64 KiB is `bad_request` (400);
 *  a server without a secrets key answers `conflict` (409). */
export function setSecret(app: string, name: string, value: string): Promise<Secret> {
	return request('PUT', `/apps/${seg(app)}/secrets/${seg(name)}`, { body: { value } satisfies SecretValue });
}

export function deleteSecret(app: string, name: string): Promise<void> {
	return request('DELETE', `/apps/${seg(app)}/secrets/${seg(name)}`);
}

// ----- triggers and dead letters -----

export async function listTriggers(app: string): Promise<Trigger[]> {
	return (await request<ItemList<Trigger>>('GET', `/apps/${seg(app)}/triggers`)).items;
}

export function createTrigger(app: string, trigger: NewTrigger): Promise<Trigger> {
	return request('POST', `/apps/${seg(app)}/triggers`, { body: trigger });
}

/** Deletes a trigger with its pending events and dead letters. */
export function deleteTrigger(id: string): Promise<void> {
	return request('DELETE', `/triggers/${seg(id)}`);
}

export async function listDeadLetters(app: string): Promise<DeadLetter[]> {
	return (await request<ItemList<DeadLetter>>('GET', `/apps/${seg(app)}/dead-letters`)).items;
}

/** Puts a dead letter's event back in the queue (202); the dead letter goes. */
export function retryDeadLetter(id: string): Promise<void> {
	return request('POST', `/dead-letters/${seg(id)}/retry`);
}

export function deleteDeadLetter(id: string): Promise<void> {
	return request('DELETE', `/dead-letters/${seg(id)}`);
}

// ----- users and API tokens -----

/** Every user (instance admins only). */
export async function listUsers(): Promise<User[]> {
	return (await request<ItemList<User>>('GET', '/users')).items;
}

export function createUser(user: NewUser): Promise<User> {
	return request('POST', '/users', { body: user });
}

export function deleteUser(id: string): Promise<void> {
	return request('DELETE', `/users/${seg(id)}`);
}

/** The caller's own API tokens. */
export async function listTokens(): Promise<ApiToken[]> {
	return (await request<ItemList<ApiToken>>('GET', '/tokens')).items;
}

/** A new API token acting as the caller; its secret is in the answer only. */
export function createToken(name: string, expiresInDays?: number): Promise<CreatedToken> {
	return request('POST', '/tokens', {
		body: { name, expires_in_days: expiresInDays } satisfies NewToken
	});
}

export function revokeToken(id: string): Promise<void> {
	return request('DELETE', `/tokens/${seg(id)}`);
}

// ----- the data plane (the test runner) -----

/** What running a script answered. */
export interface RunResult {
	status: number;
	headers: [string, string][];
	body: string;
	/** Milliseconds from sending to the whole body, as the browser saw it. */
	duration_ms: number;
	/** From the `picloud-request-id` header: finds the execution's record. */
	request_id: string | null;
}

/** Runs a script by id through `/api/v1/execute/{id}/{rest}`, as any
 *  client would (no admin session is needed there). Failures to reach
 *  the server reject with an ApiError `network_error`; any HTTP answer,
 *  errors included, resolves. */
export async function runScript(
	scriptId: string,
	req: { method: string; path: string; headers: [string, string][]; body: string }
): Promise<RunResult> {
	const rest = req.path.replace(/^\/+/, '');
	const target = `/api/v1/execute/${seg(scriptId)}${rest ? `/${rest}` : ''}`;
	const headers = new Headers();
	for (const [k, v] of req.headers) {
		if (k.trim()) headers.append(k.trim(), v);
	}
	// Without the session cookie: the script must not see it (the server
	// strips it too), and its answer is the script's, not the dashboard's.
	const init: RequestInit = {
		method: req.method,
		headers,
		cache: 'no-store',
		credentials: 'omit'
	};
	if (req.method !== 'GET' && req.method !== 'HEAD' && req.body !== '') init.body = req.body;
	const started = performance.now();
	let res: Response;
	let body: string;
	try {
		res = await fetch(target, init);
		body = await res.text();
	} catch (e) {
		const why = e instanceof Error && e.message ? `: ${e.message}` : '';
		throw new ApiError(0, 'network_error', `Could not reach the server${why}.`);
	}
	const duration_ms = performance.now() - started;
	return {
		status: res.status,
		headers: [...res.headers.entries()],
		body,
		duration_ms,
		request_id: res.headers.get('picloud-request-id')
	};
}
