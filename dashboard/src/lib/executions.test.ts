import { describe, expect, it } from 'vitest';
import {
	formatDuration,
	formatLogTime,
	formatOperations,
	invocationLabel,
	mergeExecutions,
	replayable,
	statusLabel,
	toJson
} from './executions';
import type { Execution } from './types';

function ex(id: string, started_at: string, over: Partial<Execution> = {}): Execution {
	return {
		id,
		app_id: 'a',
		script_id: 's',
		request_id: 'r',
		invocation_type: 'http',
		status: 'ok',
		status_code: 200,
		started_at,
		duration_ms: 1,
		error: null,
		logs: [],
		script_version: 1,
		operations: 10,
		cpu_ms: 0.1,
		...over
	};
}

describe('mergeExecutions', () => {
	it('puts new ones on top and keeps older ones not in the answer', () => {
		const shown = [ex('b', '2025-01-01T00:00:02Z'), ex('a', '2025-01-01T00:00:01Z')];
		const fresh = [ex('c', '2025-01-01T00:00:03Z'), ex('b', '2025-01-01T00:00:02Z')];
		expect(mergeExecutions(shown, fresh).map((e) => e.id)).toEqual(['c', 'b', 'a']);
	});

	it('keeps one item per id, the fresh one', () => {
		const shown = [ex('a', '2025-01-01T00:00:01Z', { duration_ms: 1 })];
		const fresh = [ex('a', '2025-01-01T00:00:01Z', { duration_ms: 9 })];
		const merged = mergeExecutions(shown, fresh);
		expect(merged).toHaveLength(1);
		expect(merged[0].duration_ms).toBe(9);
	});

	it('sorts a late-recorded older execution into its place', () => {
		const shown = [ex('c', '2025-01-01T00:00:03Z'), ex('a', '2025-01-01T00:00:01Z')];
		const fresh = [ex('b', '2025-01-01T00:00:02Z')];
		expect(mergeExecutions(shown, fresh).map((e) => e.id)).toEqual(['c', 'b', 'a']);
	});
});

describe('words', () => {
	it('names statuses and invocation types', () => {
		expect(statusLabel('limit_exceeded')).toBe('Limit exceeded');
		expect(statusLabel('ok')).toBe('OK');
		expect(statusLabel('new_one')).toBe('new_one');
		expect(invocationLabel('function')).toBe('Function call');
		expect(invocationLabel('scheduled')).toBe('Scheduled');
	});

	it('formats JSON, and what is not JSON', () => {
		expect(toJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
		expect(toJson(null)).toBe('null');
		expect(toJson(undefined)).toBe('undefined');
		const loop: Record<string, unknown> = {};
		loop.self = loop;
		expect(toJson(loop)).toBe('[object Object]');
	});

	it('shows log times with milliseconds', () => {
		expect(formatLogTime('2025-01-01T00:00:01.007Z')).toMatch(/^\d\d:\d\d:01\.007$/);
		expect(formatLogTime('nonsense')).toBe('nonsense');
	});
});

describe('usage', () => {
	it('writes operations with separators and CPU time to a fitting precision', () => {
		expect(formatOperations(0)).toBe('0');
		expect(formatOperations(1234567)).toBe('1,234,567');
		expect(formatOperations(null)).toBe('–');
		expect(formatDuration(0.01234)).toBe('0.012 ms');
		expect(formatDuration(12.34)).toBe('12.3 ms');
		expect(formatDuration(1234.5)).toBe('1235 ms');
		expect(formatDuration(undefined)).toBe('–');
	});
});

describe('replayable', () => {
	const kept = {
		method: 'POST',
		path: '/orders',
		headers: {},
		query: {},
		params: {},
		rest: '',
		host: 'localhost',
		host_params: {},
		body: { kind: 'empty' as const },
		ip: ''
	};
	it('is a kept request with its body, or an event', () => {
		expect(replayable(ex('1', 't'))).toBe(false);
		expect(replayable(ex('1', 't', { request: kept }))).toBe(true);
		expect(replayable(ex('1', 't', { request: { ...kept, body_dropped: 70000 } }))).toBe(false);
		expect(replayable(ex('1', 't', { invocation_type: 'trigger', event: { kind: 'kv' } }))).toBe(
			true
		);
		expect(replayable(ex('1', 't', { invocation_type: 'scheduled', event: {} }))).toBe(true);
		expect(replayable(ex('1', 't', { invocation_type: 'function' }))).toBe(false);
	});
});
