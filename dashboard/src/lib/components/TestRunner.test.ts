import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { jsonResponse, mockFetchOffline, stubFetch, type FetchCall } from '$lib/testing';
import TestRunner from './TestRunner.svelte';

/** fetch that answers by URL: the data plane, then the executions list
 *  (an empty list first: the record is written a little later). */
function mockServer(opts: { requestId?: string | null; records?: unknown[][] } = {}) {
	const calls: FetchCall[] = [];
	const lists = [...(opts.records ?? [[], [execution]])];
	stubFetch((url, init) => {
		calls.push({ url, init });
		if (url.startsWith('/api/v1/execute/')) {
			const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Thing': 'yes' };
			if (opts.requestId !== null) headers['picloud-request-id'] = opts.requestId ?? 'req-1';
			return new Response('{"ok":true,"n":[1,2]}', { status: 201, headers });
		}
		if (url.startsWith('/api/v1/admin/scripts/s1/executions')) {
			return jsonResponse(200, { items: lists.shift() ?? [] });
		}
		throw new Error(`unexpected fetch ${url}`);
	});
	return calls;
}

const execution = {
	id: 'e1',
	app_id: 'a',
	script_id: 's1',
	request_id: 'req-1',
	invocation_type: 'http',
	status: 'error',
	status_code: 500,
	started_at: '2025-01-01T00:00:00Z',
	duration_ms: 7,
	script_version: 2,
	operations: 4321,
	cpu_ms: 6.5,
	error: 'boom (line 3, column 5)',
	logs: [
		{ level: 'info', message: 'starting', data: null, at: '2025-01-01T00:00:00Z' },
		{ level: 'warn', message: 'odd order', data: { id: 42 }, at: '2025-01-01T00:00:00Z' }
	]
};

async function fillAndRun() {
	await fireEvent.change(screen.getByLabelText('Method'), { target: { value: 'POST' } });
	await fireEvent.input(screen.getByLabelText('Path'), { target: { value: '/orders/7?x=1' } });
	await fireEvent.input(screen.getByLabelText('Headers'), {
		target: { value: 'Content-Type: application/json\nX-Test: a:b' }
	});
	await fireEvent.input(screen.getByLabelText('Body'), { target: { value: '{"qty":2}' } });
	await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
}

describe('TestRunner', () => {
	it('sends the request, shows the answer, then the logs of that execution', async () => {
		const calls = mockServer();
		render(TestRunner, { scriptId: 's1', pollInterval: 10 });
		await fillAndRun();

		const response = await screen.findByRole('region', { name: 'Response' });
		expect(within(response).getByRole('status')).toHaveTextContent(/Status 201 in [\d.]+ ms/);
		expect(within(response).getByText('x-thing')).toBeInTheDocument();
		expect(response.querySelector('pre')?.textContent).toBe('{\n  "ok": true,\n  "n": [\n    1,\n    2\n  ]\n}');

		const run = calls[0];
		expect(run.url).toBe('/api/v1/execute/s1/orders/7?x=1');
		expect(run.init.method).toBe('POST');
		expect(run.init.body).toBe('{"qty":2}');
		const headers = new Headers(run.init.headers);
		expect(headers.get('content-type')).toBe('application/json');
		expect(headers.get('x-test')).toBe('a:b');

		const logs = screen.getByRole('region', { name: 'Execution and logs' });
		await within(logs).findByText('starting');
		expect(calls.slice(1).map((c) => c.url)).toEqual([
			'/api/v1/admin/scripts/s1/executions?limit=20&request_id=req-1',
			'/api/v1/admin/scripts/s1/executions?limit=20&request_id=req-1'
		]);
		expect(within(logs).getByText('error')).toBeInTheDocument();
		expect(within(logs).getByText('7.0 ms')).toBeInTheDocument();
		expect(within(logs).getByText('6.5 ms')).toBeInTheDocument();
		expect(within(logs).getByText('4,321')).toBeInTheDocument();
		expect(within(logs).getByText('boom (line 3, column 5)')).toBeInTheDocument();
		const entries = within(within(logs).getByRole('list', { name: 'Logs' })).getAllByRole('listitem');
		expect(entries.map((li) => li.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
			'info starting',
			'warn odd order { "id": 42 }'
		]);
	});

	it('says so when the answer has no request id', async () => {
		const calls = mockServer({ requestId: null });
		render(TestRunner, { scriptId: 's1', pollInterval: 10, executionsHref: '/admin/x' });
		await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
		const said = await screen.findByText(/header, so the logs of this run cannot\s+be found/);
		expect(said).toHaveTextContent('The server sent no picloud-request-id header');
		expect(screen.getByRole('link', { name: 'the executions' })).toHaveAttribute('href', '/admin/x');
		expect(calls).toHaveLength(1);
		// A GET: no body sent.
		expect(calls[0].init.method).toBe('GET');
		expect(calls[0].init.body).toBeUndefined();
		expect(calls[0].url).toBe('/api/v1/execute/s1');
	});

	it('says so when the record never appears', async () => {
		mockServer({ records: [] });
		render(TestRunner, { scriptId: 's1', pollInterval: 10, pollTimeout: 60 });
		await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
		expect(await screen.findByText(/did not appear within/)).toBeInTheDocument();
	});

	it('refuses a headers line that is not Name: value, without sending', async () => {
		const calls = mockServer();
		render(TestRunner, { scriptId: 's1' });
		await fireEvent.input(screen.getByLabelText('Headers'), { target: { value: 'nonsense' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
		expect(await screen.findByRole('alert')).toHaveTextContent('Headers line 1');
		expect(calls).toHaveLength(0);
	});

	it('says when the server cannot be reached', async () => {
		mockFetchOffline();
		render(TestRunner, { scriptId: 's1' });
		await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
		expect(await screen.findByRole('alert')).toHaveTextContent('Could not reach the server');
		expect(screen.queryByRole('region', { name: 'Response' })).toBeNull();
	});

	it('warns that a run uses the saved version when there are unsaved changes', () => {
		render(TestRunner, { scriptId: 's1', stale: true });
		expect(screen.getByText(/runs the saved version/)).toBeInTheDocument();
	});
});
