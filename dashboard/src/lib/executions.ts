// Helpers of the Executions & logs page: merging polled answers, words for
// statuses, JSON for people.

import type { ExecStatus, Execution, InvocationType } from './types';

/** The statuses, in the order the filter offers them, with their words. */
export const EXEC_STATUSES: { value: ExecStatus; label: string }[] = [
	{ value: 'ok', label: 'OK' },
	{ value: 'error', label: 'Error' },
	{ value: 'timeout', label: 'Timeout' },
	{ value: 'limit_exceeded', label: 'Limit exceeded' }
];

export function statusLabel(status: ExecStatus | string): string {
	return EXEC_STATUSES.find((s) => s.value === status)?.label ?? status;
}

const INVOCATION_LABELS: Record<InvocationType, string> = {
	http: 'HTTP',
	function: 'Function call',
	scheduled: 'Scheduled',
	trigger: 'Trigger'
};

export function invocationLabel(type: InvocationType | string): string {
	return INVOCATION_LABELS[type as InvocationType] ?? type;
}

function startedMs(e: Execution): number {
	const t = Date.parse(e.started_at);
	return Number.isNaN(t) ? 0 : t;
}

/**
 * Merges a fresh answer (newest first) into the list shown: one item per id
 * (the fresh one wins), newest first. Items not in the answer stay, so
 * older pages loaded before are kept. Execution records are written in
 * the background and may arrive out of order, hence the sort; ties keep
 * the answer's order, then the list's.
 */
export function mergeExecutions(shown: Execution[], fresh: Execution[]): Execution[] {
	const freshIds = new Set(fresh.map((e) => e.id));
	const merged = [...fresh, ...shown.filter((e) => !freshIds.has(e.id))];
	// Array.prototype.sort is stable.
	return merged.sort((a, b) => startedMs(b) - startedMs(a));
}

/** A value as indented JSON; what cannot be serialised, in words. */
export function toJson(value: unknown): string {
	try {
		const text = JSON.stringify(value, null, 2);
		return text === undefined ? String(value) : text;
	} catch {
		return String(value);
	}
}

/** A log line's time: the local clock time with milliseconds. */
export function formatLogTime(iso: string): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	const pad = (n: number, w = 2) => String(n).padStart(w, '0');
	return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** An operation count with thousands separators; a dash when unknown. */
export function formatOperations(n: number | null | undefined): string {
	if (n === null || n === undefined) return '–';
	return Math.round(n).toLocaleString('en-US');
}

/** A time in ms (a duration, a CPU time), to a precision that suits its
 *  size; a dash when unknown. */
export function formatDuration(ms: number | null | undefined): string {
	if (ms === null || ms === undefined) return '–';
	if (ms >= 100) return `${Math.round(ms)} ms`;
	if (ms >= 1) return `${Math.round(ms * 10) / 10} ms`;
	return `${Math.round(ms * 1000) / 1000} ms`;
}

/** Whether an execution can be replayed: a request its app kept (with its
 *  body), or a trigger's or cron run's event (docs/releases.md). */
export function replayable(e: Execution): boolean {
	if (e.invocation_type === 'http') {
		return e.request !== undefined && e.request.body_dropped === undefined;
	}
	return (
		(e.invocation_type === 'trigger' || e.invocation_type === 'scheduled') && e.event !== undefined
	);
}
