import { describe, expect, it, vi } from 'vitest';
import { jsonResponse, mockFetchJson, stubFetch } from '$lib/testing';
import { formatMs, headerValue, parseHeaders, prettyBody, waitForExecution } from './runner';

const record = (request_id: string, script_id = 's1') => ({
	id: `e-${request_id}`,
	app_id: 'a',
	script_id,
	request_id,
	invocation_type: 'http',
	status: 'ok',
	status_code: 200,
	started_at: '2025-01-01T00:00:00Z',
	duration_ms: 3,
	error: null,
	logs: [],
	script_version: 1,
	operations: 100,
	cpu_ms: 1
});

describe('parseHeaders', () => {
	it('reads one Name: value a line, skipping blank lines and keeping colons in values', () => {
		expect(parseHeaders('Content-Type: application/json\n\n  X-Time : 12:30:00 \r\nX-Empty:')).toEqual([
			['Content-Type', 'application/json'],
			['X-Time', '12:30:00'],
			['X-Empty', '']
		]);
		expect(parseHeaders('')).toEqual([]);
	});

	it('names the first line that is not a header', () => {
		expect(() => parseHeaders('A: 1\njust words')).toThrow(/line 2 .*just words/);
		expect(() => parseHeaders(': no name')).toThrow(/line 1/);
		expect(() => parseHeaders('Bad Name: x')).toThrow(/line 1/);
	});
});

describe('prettyBody', () => {
	it('indents JSON by content type or, without one, by its look', () => {
		expect(prettyBody('{"a":[1,2]}', 'application/json')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
		expect(prettyBody('{"a":1}', 'application/problem+json; charset=utf-8')).toBe('{\n  "a": 1\n}');
		expect(prettyBody('[1]', null)).toBe('[\n  1\n]');
	});

	it('leaves text, broken JSON and empty bodies as they are', () => {
		expect(prettyBody('{"a":1}', 'text/plain')).toBe('{"a":1}');
		expect(prettyBody('{nope', 'application/json')).toBe('{nope');
		expect(prettyBody('', 'application/json')).toBe('');
		expect(prettyBody('hello', null)).toBe('hello');
	});
});

describe('headerValue', () => {
	it('finds a header by any case', () => {
		expect(headerValue([['content-type', 'text/plain']], 'Content-Type')).toBe('text/plain');
		expect(headerValue([], 'x')).toBeNull();
	});
});

describe('formatMs', () => {
	it('keeps fractions where they matter', () => {
		expect(formatMs(0.416803)).toBe('0.42 ms');
		expect(formatMs(7)).toBe('7.0 ms');
		expect(formatMs(15.4)).toBe('15 ms');
		expect(formatMs(Number.NaN)).toBe('? ms');
	});
});

describe('waitForExecution', () => {
	it('asks for the request id until the record appears', async () => {
		const fetch = vi
			.fn()
			.mockResolvedValueOnce(jsonResponse(200, { items: [] }))
			.mockResolvedValueOnce(jsonResponse(200, { items: [record('r1')] }));
		vi.stubGlobal('fetch', fetch);
		const found = await waitForExecution('s1', 'r1', { interval: 5, timeout: 1000 });
		expect(found?.id).toBe('e-r1');
		expect(fetch).toHaveBeenCalledTimes(2);
		expect(String(fetch.mock.calls[0][0])).toBe(
			'/api/v1/admin/scripts/s1/executions?limit=20&request_id=r1'
		);
	});

	it("ignores other requests' records (a server without the filter)", async () => {
		const fetch = mockFetchJson(200, { items: [record('other')] });
		expect(await waitForExecution('s1', 'r1', { interval: 5, timeout: 40 })).toBeNull();
		expect(fetch.mock.calls.length).toBeGreaterThan(1);
	});

	it('gives up after the timeout, and at once when cancelled', async () => {
		const fetch = mockFetchJson(200, { items: [] });
		const started = Date.now();
		expect(await waitForExecution('s1', 'r1', { interval: 10, timeout: 60 })).toBeNull();
		expect(Date.now() - started).toBeLessThan(500);
		const calls = fetch.mock.calls.length;
		expect(calls).toBeGreaterThanOrEqual(3);

		expect(await waitForExecution('s1', 'r1', { cancelled: () => true })).toBeNull();
		expect(fetch.mock.calls.length).toBe(calls);
	});

	it('rejects when the list fails', async () => {
		stubFetch(
			() =>
				new Response(JSON.stringify({ error: { code: 'forbidden', message: 'no' } }), {
					status: 403
				})
		);
		await expect(waitForExecution('s1', 'r1', { interval: 5, timeout: 50 })).rejects.toThrow('no');
	});
});
