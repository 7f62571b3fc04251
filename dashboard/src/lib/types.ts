// The JSON the PiCloud admin API (/api/v1/admin) sends and takes, named as
// the dashboard names it.
//
// Each type the server defines is a schema of its OpenAPI document
// (api/openapi.json, generated into api/schema.d.ts by `npm run gen:api`;
// api/schema.test.ts fails when the two differ, and a server test when the
// document differs from what the server serves). Where the server is more
// precise than its document, the type says so with `Narrow`, which compiles
// only while each narrowed field is still one of the schema's and fits its
// type:
// - a field the server always sends (null when empty) that the document
//   leaves out of `required` (utoipa does so for every `Option`);
// - a string the document does not list the values of.
// e2e/shapes.mjs (checked against a real server by the end-to-end test) and
// shapes.test.ts keep which fields are always there in step with the server.
//
// What is written by hand here is the dashboard's own (`ItemList`, the
// client-side error codes, `ErrorBody`'s room for newer codes).
//
// Ids are UUID strings; times are RFC 3339 strings in UTC.

import type { components } from './api/schema';

type Schemas = components['schemas'];

/** `T` as one object type: the same fields, read more easily. */
type Flat<T> = { [K in keyof T]: T[K] };

/** `S` with the fields of `N` in place of its own. */
type Override<S, N> = Flat<Omit<S, keyof N> & N>;

/** Schema `S` with the fields of `N`, each narrower than (or as) the
 *  schema's: `N` naming a field `S` lacks, or giving one a type that does
 *  not fit the schema's, does not compile. */
type Narrow<S, N extends { [K in keyof N]: K extends keyof S ? S[K] : never }> = Override<S, N>;

/** Compiles only for `true`: a check of a hand-written type against the
 *  document. */
type Check<T extends true> = T;
/** Whether every `A` is a `B`. */
type Fits<A, B> = [A] extends [B] ? true : false;

export type Uuid = string;
/** An RFC 3339 timestamp, e.g. "2025-01-31T12:00:00Z". */
export type Timestamp = string;

// ----- users and sessions -----

/** Instance role. */
export type UserRole = Schemas['UserRole'];

/** A role in one app: each has every right of the ones before it. */
export type AppRole = Schemas['AppRole'];

export type User = Schemas['User'];

/** A role the user holds in one app (`app` is the app's name). */
export type Grant = Schemas['Grant'];

/** `POST /auth/login` → 200. The dashboard does not keep `token`: the
 *  HttpOnly session cookie set by the same answer authenticates. */
export type LoginResponse = Schemas['LoginAnswer'];

/** `GET /auth/me` → 200. An instance admin has every right in every app,
 *  besides the roles listed. */
export type Me = Schemas['MeAnswer'];

/** `POST /auth/login` body. */
export type LoginBody = Schemas['LoginBody'];

/** `POST /users` body (instance admins only). */
export type NewUser = Schemas['CreateUserBody'];

/** An API token (the secret is never listed). */
export type ApiToken = Narrow<
	Schemas['ApiToken'],
	{ last_used_at: Timestamp | null; expires_at: Timestamp | null }
>;

/** `POST /tokens` body: `expires_in_days` absent, the token never expires. */
export type NewToken = Schemas['CreateTokenBody'];

/** `POST /tokens` → 201: the token and, this once, its secret. */
export type CreatedToken = Narrow<
	Schemas['CreatedToken'],
	{ last_used_at: Timestamp | null; expires_at: Timestamp | null }
>;

// ----- apps -----

/** Which of an app's requests are kept with their records, for replay. */
export type RecordRequests = Schemas['RecordRequests'];

export type App = Schemas['App'];

/** `PATCH /apps/{app}` body: what changes. */
export type AppChange = Schemas['AppUpdate'];

/** `POST /apps` body. */
export type NewApp = Schemas['CreateAppBody'];

/** `POST /apps/{app}/domains` body. */
export type DomainClaim = Schemas['ClaimBody'];

/** `POST /apps/{app}/domains` → 201. `pattern` is `api.example.com` or
 *  `{tenant}.example.com`. */
export type Domain = Schemas['Domain'];

/** A user's role in one app. */
export type Member = Schemas['Member'];

/** `POST /apps/{app}/members` body: `user_id` is a user id or username. */
export type MemberChange = Schemas['MemberBody'];

/** A secret's name, when and by whom it was last set. The API never
 *  answers a value. */
export type Secret = Schemas['SecretInfo'];

/** `PUT /apps/{app}/secrets/{name}` body. */
export type SecretValue = Schemas['SecretValue'];

// ----- scripts -----

/** A script's own limits, each up to the server's ceiling. Unknown keys are
 *  refused. */
export type SandboxOverrides = Schemas['SandboxOverrides'];

export type Script = Schemas['Script'];

/** `POST /scripts` body. `app` is an app id or name; absent means `default`. */
export type NewScript = Schemas['CreateScriptBody'];

/** `PUT /scripts/{id}` body: at least one of the fields. */
export type ScriptChange = Schemas['UpdateScriptBody'];

/** p50, p95 and p99 of a measure; null when nothing was measured. */
export type Percentiles = Narrow<
	Schemas['Percentiles'],
	{ p50: number | null; p95: number | null; p99: number | null }
>;

/** The executions that started in one hour. */
export type HourCount = Schemas['HourCount'];

/** What a script's executions of the last day add up to. */
export type DayUsage = Narrow<
	Schemas['DayUsage'],
	{ duration_ms: Percentiles; operations: Percentiles }
>;

/** What the scripts list adds to each script: its counters, kept by the
 *  execution-record writer (not bounded by the records' retention). */
export type ScriptStats = Narrow<
	Schemas['ScriptStats'],
	{ last_status: ExecStatus | null; last_run_at: Timestamp | null; last_day: DayUsage }
>;

/** An item of `GET /scripts`: the script and its stats. */
export type ScriptSummary = Narrow<Schemas['ScriptSummary'], { stats: ScriptStats }>;

/** One point of `GET /scripts/{id}/usage`: the executions that started in
 *  [at, at + step). */
export type UsagePoint = Narrow<
	Schemas['UsagePoint'],
	{ duration_ms: Percentiles; operations: Percentiles }
>;

/** `GET /scripts/{id}/usage`: every step of the window, oldest first. */
export type UsageSeries = Narrow<Schemas['UsageSeries'], { points: UsagePoint[] }>;

/** `GET /scripts/{id}/versions`: a saved version, without its source.
 *  `created_by` is null for versions from before history was kept. */
export type ScriptVersionSummary = Narrow<
	Schemas['ScriptVersionSummary'],
	{ created_by: string | null }
>;

/** `GET /scripts/{id}/versions/{n}`: one saved version with its source. */
export type ScriptVersion = Narrow<Schemas['ScriptVersion'], { created_by: string | null }>;

// ----- executions -----

export type ExecStatus = Schemas['ExecStatus'];
/** What ran a script. */
export type InvocationType = Schemas['InvocationType'];
export type LogLevel = Schemas['LogLevel'];

/** One `log::*` call. */
export type LogEntry = Narrow<Schemas['LogEntry'], { data: unknown }>;

/** One outbound HTTP call of an execution (never bodies or headers). */
export type OutboundCall = Narrow<Schemas['OutboundCall'], { status: number | null }>;

/** An execution record. `event` is there for trigger executions only;
 *  `outbound` only when it made calls; `request` only when the app keeps
 *  requests for replay; `replay_of` and `dry_run` only for replays. */
export type Execution = Narrow<
	Schemas['ExecutionRecord'],
	{
		/** The HTTP status answered, for http executions. */
		status_code: number | null;
		/** The error with its position, e.g. "boom (line 3, column 5)". */
		error: string | null;
		logs: LogEntry[];
		outbound?: OutboundCall[];
		/** The version of the script that ran (null in older records). */
		script_version: number | null;
		/** Rhai operations spent, its calls' included (null in older records). */
		operations: number | null;
		/** CPU time of the thread that ran it, in ms (null in older records). */
		cpu_ms: number | null;
		/** For a replay: the execution it replayed. */
		replay_of?: Uuid;
		request?: RecordedRequest;
	}
>;

/** `ctx.request` as kept, credentials left out: `redacted_headers`, the
 *  headers taken out (lower case), and `body_dropped`, the size of a body
 *  over the bound, which was not kept (no replay then), are sent only when
 *  there are some. */
export type RecordedRequest = Narrow<Schemas['RecordedRequest'], { body_dropped?: number }>;

/** `POST /executions/{id}/replay` body: `version` absent runs the live one;
 *  `dry_run` is true unless said. */
export type ReplayOptions = Schemas['ReplayOptions'];

/** The HTTP response a replayed request got: `body` as text, or
 *  `body_base64` when it is not UTF-8. */
export type ReplayResponse = Narrow<
	Schemas['ReplayResponse'],
	{ body?: string; body_base64?: string }
>;

/** A replay's record, and the response for a request. */
export type Replay = Narrow<
	Schemas['Replay'],
	{ response?: ReplayResponse; execution: Execution }
>;

// ----- routes -----

/** `methods` null = any method. */
export type Route = Narrow<Schemas['Route'], { methods: string[] | null }>;

/** `POST /scripts/{id}/routes` body. */
export type NewRoute = Schemas['CreateRouteBody'];

/** `POST /routes/check` body: a route that might be added to an app. */
export type RouteProposal = Schemas['CheckRouteBody'];

/** A route a new one would clash with. */
export type RouteTarget = Narrow<Schemas['RouteTarget'], { methods: string[] | null }>;

/** `POST /routes/check` → 200. `error`: why the path itself is refused
 *  (syntax, reserved), if it is. */
export type RouteCheck = Narrow<
	Schemas['RouteCheck'],
	{ conflicts: RouteTarget[]; error: string | null }
>;

// ----- KV -----

/** `GET /apps/{app}/kv` item. */
export type KvCollection = Schemas['KvCollection'];

/** An item of a KV page. */
export type KvEntry = Schemas['KvEntry'];

/** `GET /apps/{app}/kv/{collection}` → a page; `cursor` null on the last. */
export type KvPage = Narrow<Schemas['KvPage'], { cursor: string | null }>;

/** `GET|PUT /apps/{app}/kv/{collection}/{key}`. */
export type KvItem = Schemas['KvItem'];

// ----- triggers -----

export type TriggerStats = Schemas['TriggerStats'];

/** What a KV trigger fires on. */
export type KvEventName = Schemas['KvEvent'];

/** kv triggers carry collection/events/max_attempts/dead_letter_script_id,
 *  cron triggers schedule/next_run_at; the others are absent (never null). */
export type Trigger = Narrow<
	Schemas['Trigger'],
	{
		collection?: string;
		events?: KvEventName[];
		max_attempts?: number;
		dead_letter_script_id?: Uuid;
		schedule?: string;
		next_run_at?: Timestamp;
	}
>;

/** `POST /apps/{app}/triggers` body. */
export type NewTrigger = Schemas['NewTrigger'];

/** An event whose handler failed `attempts` times. */
export type DeadLetter = Schemas['DeadLetter'];

// ----- releases -----

/** A script as a release holds it. */
export type ReleasedScript = Schemas['ReleasedScript'];

/** A route as a release holds it: `methods` null = any method. */
export type ReleasedRoute = Narrow<Schemas['ReleasedRoute'], { methods: string[] | null }>;

/** A trigger as a release holds it: null where its kind has no such field. */
export type ReleasedTrigger = Narrow<
	Schemas['ReleasedTrigger'],
	{ collection: string | null; dead_letter_script_id: Uuid | null; schedule: string | null }
>;

/** What an app is made of at one moment. */
export type ReleaseSnapshot = Narrow<
	Schemas['Snapshot'],
	{ routes: ReleasedRoute[]; triggers: ReleasedTrigger[] }
>;

/** `POST /apps/{app}/releases` body. */
export type NewRelease = Schemas['NewReleaseBody'];

/** `GET /apps/{app}/releases`: a numbered snapshot of the app.
 *  `rollback_of`: the release a rollback restored. */
export type Release = Narrow<
	Schemas['Release'],
	{
		rollback_of: Uuid | null;
		snapshot: ReleaseSnapshot;
	}
>;

// ----- lists and errors -----

/** Lists answer `{"items": [...]}` (the document's `Items_*`). */
export interface ItemList<T> {
	items: T[];
}

/** The error codes of the contract, plus the two the client makes up for
 *  answers that never reached the API:
 *  - `http_error`: the answer was not a JSON error (a proxy's HTML page, …);
 *  - `network_error`: no answer at all (server down, network gone). */
export type ErrorCode = Schemas['Error']['error']['code'] | 'http_error' | 'network_error';

/** The body of every error answer:
 *  `{"error": {"code", "message", ...extra}}` (`line`, `column`, `conflicts`…).
 *  Wider than the document's `Error`: a newer server's code is still read. */
export interface ErrorBody {
	error: {
		code: string;
		message: string;
		[extra: string]: unknown;
	};
}
type _ErrorBodyFits = Check<Fits<Schemas['Error'], ErrorBody>>;
