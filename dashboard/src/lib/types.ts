// The JSON the PiCloud admin API (/api/v1/admin) sends and takes.
// Field names follow the Rust types they are serialised from
// (crates/manager-core/src/{api,repo,authz}.rs, crates/shared/src/*.rs).
// Ids are UUID strings; times are RFC 3339 strings in UTC.

export type Uuid = string;
/** An RFC 3339 timestamp, e.g. "2025-01-31T12:00:00Z". */
export type Timestamp = string;

/** Instance role (`UserRole`). */
export type UserRole = 'admin' | 'member';

/** A role in one app (`AppRole`): each has every right of the ones before it. */
export type AppRole = 'viewer' | 'editor' | 'owner';

/** `repo::User`. */
export interface User {
	id: Uuid;
	username: string;
	role: UserRole;
	created_at: Timestamp;
}

/** `authz::Grant`: a role the user holds in one app. */
export interface Grant {
	app_id: Uuid;
	/** The app's name. */
	app: string;
	role: AppRole;
}

/** `POST /auth/login` → 200. */
export interface LoginResponse {
	/** The session token (`pcs_…`). The dashboard does not keep it: the
	 *  HttpOnly session cookie set by the same answer authenticates. */
	token: string;
	expires_at: Timestamp;
	user: User;
}

/** `GET /auth/me` → 200. An instance admin has every right in every app,
 *  besides the roles listed. */
export interface Me {
	user: User;
	roles: Grant[];
}

/** `repo::App`. */
export interface App {
	id: Uuid;
	name: string;
	description: string;
	created_at: Timestamp;
}

/** `POST /apps` body. */
export interface NewApp {
	name: string;
	description?: string;
}

/** `SandboxOverrides`: a script's own limits, each up to the server's ceiling.
 *  Unknown keys are refused. */
export interface SandboxOverrides {
	max_operations?: number;
	timeout_ms?: number;
	max_call_levels?: number;
	max_expr_depth?: number;
	max_string_size?: number;
	max_array_size?: number;
	max_map_size?: number;
}

/** `shared::Script`. */
export interface Script {
	id: Uuid;
	app_id: Uuid;
	/** 1–64 of `[a-z0-9_-]`, unique within the app. */
	name: string;
	source: string;
	/** Starts at 1; every update adds one. */
	version: number;
	description: string;
	sandbox: SandboxOverrides;
	created_at: Timestamp;
	updated_at: Timestamp;
}

/** `POST /scripts` body. `app` is an app id or name; absent means `default`. */
export interface NewScript {
	name: string;
	source: string;
	app?: string;
	description?: string;
	sandbox?: SandboxOverrides;
}

/** `PUT /scripts/{id}` body: at least one of the fields. */
export interface ScriptChange {
	source?: string;
	description?: string;
	sandbox?: SandboxOverrides;
}

export type ExecStatus = 'ok' | 'error' | 'timeout' | 'limit_exceeded';
export type InvocationType = 'http' | 'function' | 'scheduled' | 'trigger';
export type LogLevel = 'trace' | 'info' | 'warn' | 'error';

/** `shared::LogEntry`: one `log::*` call. */
export interface LogEntry {
	level: LogLevel;
	message: string;
	data: unknown;
	at: Timestamp;
}

/** `shared::ExecutionRecord`. */
export interface Execution {
	id: Uuid;
	app_id: Uuid;
	script_id: Uuid;
	request_id: Uuid;
	invocation_type: InvocationType;
	status: ExecStatus;
	/** The HTTP status answered, for http executions. */
	status_code: number | null;
	started_at: Timestamp;
	duration_ms: number;
	/** The error with its position, e.g. "boom (line 3, column 5)". */
	error: string | null;
	logs: LogEntry[];
	/** `ctx.event`, for trigger executions only. */
	event?: unknown;
}

/** Lists answer `{"items": [...]}`. */
export interface ItemList<T> {
	items: T[];
}

/** The error codes of the contract (`shared::api_error::ErrorCode`), plus
 *  the two the client makes up for answers that never reached the API. */
export type ErrorCode =
	| 'bad_request'
	| 'invalid_id'
	| 'invalid_name'
	| 'compile_error'
	| 'source_too_large'
	| 'sandbox_ceiling'
	| 'reserved_path'
	| 'unauthorized'
	| 'invalid_credentials'
	| 'forbidden'
	| 'not_found'
	| 'method_not_allowed'
	| 'too_many_attempts'
	| 'conflict'
	| 'route_conflict'
	| 'payload_too_large'
	| 'unsupported_media_type'
	| 'script_error'
	| 'limit_exceeded'
	| 'invalid_response'
	| 'internal'
	| 'overloaded'
	| 'timeout'
	/** Client-side: the answer was not a JSON error (a proxy's HTML page, …). */
	| 'http_error'
	/** Client-side: no answer at all (server down, network gone). */
	| 'network_error';

/** The body of every error answer:
 *  `{"error": {"code", "message", ...extra}}` (`line`, `column`, `conflicts`…). */
export interface ErrorBody {
	error: {
		code: string;
		message: string;
		[extra: string]: unknown;
	};
}
