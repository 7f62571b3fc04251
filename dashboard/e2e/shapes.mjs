// The fields of each object the admin API answers, as the dashboard's
// types (src/lib/types.ts) declare them: `required` fields are always
// there (possibly null), `optional` ones only sometimes.
//
// Two checks keep the three in step:
// - src/lib/shapes.test.ts makes svelte-check prove that each shape has
//   exactly the keys of its TypeScript type, optional where it is;
// - e2e/dashboard.e2e.mjs asks a real picloud for each object and
//   compares the keys it answers with the shape.
// So a field the server adds, drops or renames fails one of them.

const R = 'required';
const O = 'optional';

export const shapes = /** @type {const} */ ({
	user: { id: R, username: R, role: R, created_at: R },
	grant: { app_id: R, app: R, role: R },
	me: { user: R, roles: R },
	login: { token: R, expires_at: R, user: R },
	app: {
		id: R,
		name: R,
		description: R,
		created_at: R,
		record_requests: R,
		redact_headers: R
	},
	domain: { id: R, app_id: R, pattern: R, created_at: R },
	member: { app_id: R, user_id: R, username: R, role: R, created_at: R },
	script: {
		id: R,
		app_id: R,
		name: R,
		source: R,
		version: R,
		description: R,
		sandbox: R,
		created_at: R,
		updated_at: R
	},
	scriptSummary: {
		id: R,
		app_id: R,
		name: R,
		source: R,
		version: R,
		description: R,
		sandbox: R,
		created_at: R,
		updated_at: R,
		stats: R
	},
	scriptStats: { invocations: R, errors: R, last_status: R, last_run_at: R, last_day: R },
	dayUsage: { invocations: R, errors: R, duration_ms: R, operations: R, hourly: R },
	hourCount: { invocations: R, errors: R },
	percentiles: { p50: R, p95: R, p99: R },
	usageSeries: { window: R, step_seconds: R, points: R },
	usagePoint: { at: R, invocations: R, errors: R, duration_ms: R, operations: R },
	execution: {
		id: R,
		app_id: R,
		script_id: R,
		request_id: R,
		invocation_type: R,
		status: R,
		status_code: R,
		started_at: R,
		duration_ms: R,
		error: R,
		logs: R,
		event: O,
		outbound: O,
		script_version: R,
		operations: R,
		cpu_ms: R,
		request: O,
		replay_of: O,
		dry_run: O
	},
	replay: { execution: R, response: O },
	replayResponse: { status: R, headers: R, body: O, body_base64: O },
	scriptVersionSummary: {
		version: R,
		description: R,
		sandbox: R,
		message: R,
		created_by: R,
		created_at: R,
		source_bytes: R,
		live: R
	},
	scriptVersion: {
		script_id: R,
		version: R,
		source: R,
		description: R,
		sandbox: R,
		message: R,
		created_by: R,
		created_at: R,
		live: R
	},
	release: {
		id: R,
		app_id: R,
		number: R,
		kind: R,
		message: R,
		created_by: R,
		created_at: R,
		rollback_of: R,
		changes: R,
		snapshot: R
	},
	releaseSnapshot: { scripts: R, routes: R, domains: R, triggers: R },
	releasedScript: { id: R, name: R, version: R },
	logEntry: { level: R, message: R, data: R, at: R },
	route: { id: R, app_id: R, script_id: R, path: R, methods: R, created_at: R },
	routeCheck: { ok: R, conflicts: R, error: R },
	routeTarget: { id: R, script_id: R, path: R, methods: R },
	kvCollection: { name: R, keys: R },
	kvPage: { items: R, cursor: R },
	kvEntry: { key: R, value: R },
	kvItem: { key: R, value: R, updated_at: R },
	trigger: {
		id: R,
		app_id: R,
		kind: R,
		script_id: R,
		collection: O,
		events: O,
		max_attempts: O,
		dead_letter_script_id: O,
		schedule: O,
		next_run_at: O,
		created_at: R,
		stats: R
	},
	triggerStats: { delivered: R, retried: R, dead_lettered: R },
	secret: { name: R, updated_at: R, updated_by: R },
	deadLetter: { id: R, app_id: R, trigger_id: R, event: R, error: R, attempts: R, created_at: R },
	apiToken: { id: R, name: R, created_at: R, last_used_at: R, expires_at: R },
	createdToken: { id: R, name: R, created_at: R, last_used_at: R, expires_at: R, token: R }
});

/**
 * What is wrong with `value` as a `name` object: missing required fields
 * and fields the shape does not know ([] when it fits).
 * @param {keyof typeof shapes} name
 * @param {unknown} value
 * @returns {string[]}
 */
export function misfits(name, value) {
	/** @type {Record<string, string>} */
	const shape = shapes[name];
	const problems = [];
	if (typeof value !== 'object' || value === null) return [`${name}: not an object`];
	for (const [key, need] of Object.entries(shape)) {
		if (need === R && !(key in value)) problems.push(`${name}: no ${key}`);
	}
	for (const key of Object.keys(value)) {
		if (!(key in shape)) problems.push(`${name}: unexpected ${key}`);
	}
	return problems;
}
