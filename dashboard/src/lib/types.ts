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

/** Which of an app's requests are kept with their records, for replay. */
export type RecordRequests = 'off' | 'failed' | 'all';

/** `repo::App`. */
export interface App {
	id: Uuid;
	name: string;
	description: string;
	created_at: Timestamp;
	record_requests: RecordRequests;
	/** Headers left out of kept requests besides the built-in ones (lower case). */
	redact_headers: string[];
}

/** `PATCH /apps/{app}` body: what changes. */
export interface AppChange {
	description?: string;
	record_requests?: RecordRequests;
	redact_headers?: string[];
}

/** `POST /apps` body. */
export interface NewApp {
	name: string;
	description?: string;
}

/** `POST /apps/{app}/domains` → 201. `pattern` is `api.example.com` or
 *  `{tenant}.example.com`. */
export interface Domain {
	id: Uuid;
	app_id: Uuid;
	pattern: string;
	created_at: Timestamp;
}

/** `members::Member`: a user's role in one app. */
export interface Member {
	app_id: Uuid;
	user_id: Uuid;
	username: string;
	role: AppRole;
	created_at: Timestamp;
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

/** What the scripts list adds to each script: its counters, kept by the
 *  execution-record writer (not bounded by the records' retention). */
export interface ScriptStats {
	/** Executions ever recorded (every kind: http, function, trigger, scheduled). */
	invocations: number;
	/** Of those, how many did not end `ok`. */
	errors: number;
	last_status: ExecStatus | null;
	last_run_at: Timestamp | null;
	/** The last 24 hours. */
	last_day: DayUsage;
}

/** p50, p95 and p99 of a measure; null when nothing was measured. */
export interface Percentiles {
	p50: number | null;
	p95: number | null;
	p99: number | null;
}

/** What a script's executions of the last day add up to. */
export interface DayUsage {
	invocations: number;
	errors: number;
	duration_ms: Percentiles;
	operations: Percentiles;
	/** Per clock hour, the last 24 (the current one last); empty when the
	 *  script did not run in the last day. */
	hourly: HourCount[];
}

/** The executions that started in one hour. */
export interface HourCount {
	invocations: number;
	errors: number;
}

/** One point of `GET /scripts/{id}/usage`: the executions that started in
 *  [at, at + step). */
export interface UsagePoint {
	at: Timestamp;
	invocations: number;
	errors: number;
	duration_ms: Percentiles;
	operations: Percentiles;
}

/** `GET /scripts/{id}/usage`: every step of the window, oldest first. */
export interface UsageSeries {
	window: 'hour' | 'day';
	step_seconds: number;
	points: UsagePoint[];
}

/** An item of `GET /scripts`: the script and its stats. */
export interface ScriptSummary extends Script {
	stats: ScriptStats;
}

/** `POST /scripts` body. `app` is an app id or name; absent means `default`. */
export interface NewScript {
	name: string;
	source: string;
	app?: string;
	description?: string;
	sandbox?: SandboxOverrides;
	/** Kept with version 1 in the script's history (up to 1 KiB). */
	message?: string;
}

/** `PUT /scripts/{id}` body: at least one of the fields. */
export interface ScriptChange {
	source?: string;
	description?: string;
	sandbox?: SandboxOverrides;
	/** Kept with the new version in the script's history (up to 1 KiB). */
	message?: string;
}

/** `GET /scripts/{id}/versions`: a saved version, without its source. */
export interface ScriptVersionSummary {
	version: number;
	description: string;
	sandbox: SandboxOverrides;
	/** Why it was saved; '' when no message was given. */
	message: string;
	/** Who saved it; null for versions from before history was kept. */
	created_by: string | null;
	created_at: Timestamp;
	/** The source's size in bytes. */
	source_bytes: number;
	/** The version that runs now. */
	live: boolean;
}

/** `GET /scripts/{id}/versions/{n}`: one saved version with its source. */
export interface ScriptVersion {
	script_id: Uuid;
	version: number;
	source: string;
	description: string;
	sandbox: SandboxOverrides;
	message: string;
	created_by: string | null;
	created_at: Timestamp;
	live: boolean;
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
	/** The outbound HTTP calls it made, in order; absent when none. */
	outbound?: OutboundCall[];
	/** The version of the script that ran (null in older records). */
	script_version: number | null;
	/** Rhai operations spent, its calls' included (null in older records). */
	operations: number | null;
	/** CPU time of the thread that ran it, in ms (null in older records). */
	cpu_ms: number | null;
	/** The request, when the app keeps requests for replay. */
	request?: RecordedRequest;
	/** For a replay: the execution it replayed. */
	replay_of?: Uuid;
	/** A dry run: its KV writes were discarded, its outbound calls not sent. */
	dry_run?: boolean;
}

/** `shared::RecordedRequest`: `ctx.request` as kept, credentials left out. */
export interface RecordedRequest {
	method: string;
	path: string;
	headers: Record<string, string>;
	query: Record<string, string>;
	params: Record<string, string>;
	rest: string;
	host: string;
	host_params: Record<string, string>;
	body: { kind: 'empty' } | { kind: 'json' | 'text' | 'bytes'; value: unknown };
	ip: string;
	/** The headers taken out (lower case). */
	redacted_headers?: string[];
	/** The size of a body over the bound, which was not kept (no replay then). */
	body_dropped?: number;
}

/** `POST /executions/{id}/replay` body. */
export interface ReplayOptions {
	/** A version of the script's history; absent: the live one. */
	version?: number;
	/** Default true: nothing is changed. */
	dry_run?: boolean;
}

/** `replay::Replay`: the replay's record, and the response for a request. */
export interface Replay {
	execution: Execution;
	response?: ReplayResponse;
}

/** `replay::ReplayResponse`. */
export interface ReplayResponse {
	status: number;
	headers: Record<string, string>;
	body?: string;
	body_base64?: string;
}

/** One outbound HTTP call of an execution (never bodies or headers). */
export interface OutboundCall {
	method: string;
	/** The URL's host, with the port when it is not the scheme's default. */
	host: string;
	/** The answer's status; null when no answer came. */
	status: number | null;
	outcome: 'ok' | 'refused' | 'failed' | 'timeout';
	duration_ms: number;
}

/** `repo::Route`. `methods` null = any method. */
export interface Route {
	id: Uuid;
	app_id: Uuid;
	script_id: Uuid;
	path: string;
	methods: string[] | null;
	created_at: Timestamp;
}

/** `POST /scripts/{id}/routes` body. */
export interface NewRoute {
	path: string;
	methods?: string[];
}

/** A route a new one would clash with (`routing::RouteTarget`). */
export interface RouteTarget {
	id: Uuid;
	script_id: Uuid;
	path: string;
	methods: string[] | null;
}

/** `POST /routes/check` → 200. */
export interface RouteCheck {
	ok: boolean;
	conflicts: RouteTarget[];
	/** Why the path itself is refused (syntax, reserved), if it is. */
	error: string | null;
}

/** `GET /apps/{app}/kv` item. */
export interface KvCollection {
	name: string;
	keys: number;
}

/** An item of a KV page. */
export interface KvEntry {
	key: string;
	value: unknown;
}

/** `GET /apps/{app}/kv/{collection}` → a page; `cursor` null on the last. */
export interface KvPage {
	items: KvEntry[];
	cursor: string | null;
}

/** `GET|PUT /apps/{app}/kv/{collection}/{key}`. */
export interface KvItem {
	key: string;
	value: unknown;
	updated_at: Timestamp;
}

/** `secrets::SecretInfo`: a secret's name, when and by whom it was last
 *  set. The API never answers a value. */
export interface Secret {
	/** 1–64 of `A-Z`, `0-9` and `_`, not starting with a digit. */
	name: string;
	updated_at: Timestamp;
	/** The username of who set it last. */
	updated_by: string;
}

/** `events::TriggerStats`. */
export interface TriggerStats {
	delivered: number;
	retried: number;
	dead_lettered: number;
}

export type KvEventName = 'set' | 'delete';

/** `events::Trigger`: kv triggers carry collection/events/max_attempts/
 *  dead_letter_script_id, cron triggers schedule/next_run_at. */
export interface Trigger {
	id: Uuid;
	app_id: Uuid;
	kind: 'kv' | 'cron';
	script_id: Uuid;
	collection?: string;
	events?: KvEventName[];
	max_attempts?: number;
	dead_letter_script_id?: Uuid;
	schedule?: string;
	next_run_at?: Timestamp;
	created_at: Timestamp;
	stats: TriggerStats;
}

/** `POST /apps/{app}/triggers` body. */
export type NewTrigger =
	| {
			kind: 'kv';
			collection: string;
			events: KvEventName[];
			script_id: Uuid;
			max_attempts?: number;
			dead_letter_script_id?: Uuid;
	  }
	| { kind: 'cron'; schedule: string; script_id: Uuid };

/** `events::DeadLetter`: an event whose handler failed `attempts` times. */
export interface DeadLetter {
	id: Uuid;
	app_id: Uuid;
	trigger_id: Uuid;
	event: unknown;
	error: string;
	attempts: number;
	created_at: Timestamp;
}

/** `repo::ApiToken` (the secret is never listed). */
export interface ApiToken {
	id: Uuid;
	name: string;
	created_at: Timestamp;
	last_used_at: Timestamp | null;
	expires_at: Timestamp | null;
}

/** `POST /tokens` → 201: the token and, this once, its secret. */
export interface CreatedToken extends ApiToken {
	token: string;
}

/** `POST /users` body (instance admins only). */
export interface NewUser {
	username: string;
	password: string;
	role: UserRole;
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

/** A script as a release holds it. */
export interface ReleasedScript {
	id: Uuid;
	name: string;
	version: number;
}

/** What an app is made of at one moment (`releases.rs`). */
export interface ReleaseSnapshot {
	scripts: ReleasedScript[];
	routes: { id: Uuid; script_id: Uuid; path: string; methods: string[] | null }[];
	domains: { id: Uuid; pattern: string }[];
	triggers: {
		id: Uuid;
		kind: string;
		script_id: Uuid;
		collection: string | null;
		on_set: boolean;
		on_delete: boolean;
		max_attempts: number;
		dead_letter_script_id: Uuid | null;
		schedule: string | null;
	}[];
}

/** `GET /apps/{app}/releases`: a numbered snapshot of the app. */
export interface Release {
	id: Uuid;
	app_id: Uuid;
	number: number;
	kind: 'manual' | 'deploy' | 'rollback';
	message: string;
	created_by: string;
	created_at: Timestamp;
	/** The release a rollback restored. */
	rollback_of: Uuid | null;
	/** What changed since the release before, in words. */
	changes: string[];
	snapshot: ReleaseSnapshot;
}
