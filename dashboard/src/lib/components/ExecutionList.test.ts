import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, jsonResponse, mockApi } from '$lib/testing';
import type { Execution, RecordedRequest } from '$lib/types';
import ExecutionList from './ExecutionList.svelte';

function execution(over: Partial<Execution> = {}): Execution {
	return {
		id: 'e1',
		app_id: 'a',
		script_id: 's',
		request_id: 'r1',
		invocation_type: 'http',
		status: 'ok',
		status_code: 200,
		started_at: '2025-02-03T04:05:06Z',
		duration_ms: 12,
		error: null,
		logs: [],
		script_version: 1,
		operations: 1234,
		cpu_ms: 0.5,
		...over
	};
}

describe('ExecutionList', () => {
	it('says when there are none', () => {
		render(ExecutionList, { executions: [] });
		expect(screen.getByText('No executions yet.')).toBeInTheDocument();
		expect(screen.queryByRole('table')).toBeNull();
	});

	it('shows time, type, status in words, HTTP code, duration, CPU, operations and error', () => {
		render(ExecutionList, {
			executions: [
				execution({
					id: 'e2',
					status: 'limit_exceeded',
					status_code: 500,
					duration_ms: 250,
					cpu_ms: 240.4,
					operations: 10000001,
					error: 'too many operations (line 3, column 5)'
				}),
				execution({ operations: null, cpu_ms: null, script_version: null })
			]
		});
		const table = screen.getByRole('table', { name: 'Executions, newest first' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual([
			'Details',
			'Started',
			'Type',
			'Status',
			'HTTP',
			'Duration',
			'CPU',
			'Operations',
			'Error'
		]);
		const rows = within(table)
			.getAllByRole('row')
			.filter((r) => !r.hidden && r.querySelector('time'));
		expect(rows).toHaveLength(2);
		const first = rows[0];
		expect(within(first).getByText('Limit exceeded')).toBeInTheDocument();
		expect(within(first).getByText('HTTP')).toBeInTheDocument();
		expect(within(first).getByText('500')).toBeInTheDocument();
		expect(within(first).getByText('250 ms')).toBeInTheDocument();
		expect(within(first).getByText('240 ms')).toBeInTheDocument();
		expect(within(first).getByText('10,000,001')).toBeInTheDocument();
		expect(within(first).getByText('too many operations (line 3, column 5)')).toBeInTheDocument();
		expect(first.querySelector('time')).toHaveAttribute('datetime', '2025-02-03T04:05:06Z');
		expect(within(rows[1]).getByText('OK')).toBeInTheDocument();
		// Records from before operations were counted say nothing.
		expect(within(rows[1]).getAllByText('–')).toHaveLength(2);
	});

	it('opens an execution to show its logs, error and data as JSON', async () => {
		render(ExecutionList, {
			executions: [
				execution({
					status: 'error',
					error: 'boom (line 1)',
					logs: [
						{ level: 'info', message: 'starting', data: null, at: '2025-02-03T04:05:06.010Z' },
						{ level: 'warn', message: 'odd input', data: { n: 1 }, at: '2025-02-03T04:05:06.020Z' }
					]
				})
			]
		});
		const button = screen.getByRole('button', { name: /^Logs of the execution started/ });
		expect(button).toHaveAttribute('aria-expanded', 'false');
		expect(screen.queryByText('starting')).toBeNull();

		await fireEvent.click(button);

		expect(button).toHaveAttribute('aria-expanded', 'true');
		const region = document.getElementById(button.getAttribute('aria-controls')!)!;
		expect(region).toBeVisible();
		const items = within(region).getAllByRole('listitem');
		expect(items).toHaveLength(2);
		expect(items[0]).toHaveTextContent('info');
		expect(items[0]).toHaveTextContent('starting');
		expect(items[0].querySelector('pre')).toBeNull();
		expect(items[1]).toHaveTextContent('warn');
		expect(items[1]).toHaveTextContent('odd input');
		expect(JSON.parse(items[1].querySelector('pre')!.textContent!)).toEqual({ n: 1 });
		expect(within(region).getByText('Error')).toBeInTheDocument();
		expect(region.querySelector('pre.error-text')).toHaveTextContent('boom (line 1)');
		expect(within(region).getByText('r1')).toBeInTheDocument();
		expect(region).toHaveTextContent(/version 1,/);

		await fireEvent.click(button);
		expect(button).toHaveAttribute('aria-expanded', 'false');
		expect(screen.queryByText('starting')).toBeNull();
	});

	it('lists the outbound calls of an execution that made some, and no table otherwise', async () => {
		render(ExecutionList, {
			executions: [
				execution({
					id: 'with',
					outbound: [
						{ method: 'POST', host: '127.0.0.1:8123', status: 200, outcome: 'ok', duration_ms: 12.34 },
						{ method: 'GET', host: '10.0.0.1', status: null, outcome: 'refused', duration_ms: 0.1 }
					]
				}),
				execution({ id: 'without', request_id: 'r2' })
			]
		});
		const [first, second] = screen.getAllByRole('button', { name: /^Logs of the execution started/ });
		await fireEvent.click(first);
		const region = document.getElementById(first.getAttribute('aria-controls')!)!;
		const table = within(region).getByRole('table', { name: 'Outbound calls' });
		const rows = within(table).getAllByRole('row').slice(1);
		expect(rows).toHaveLength(2);
		expect(rows[0]).toHaveTextContent('POST');
		expect(rows[0]).toHaveTextContent('127.0.0.1:8123');
		expect(rows[0]).toHaveTextContent('200');
		expect(rows[0]).toHaveTextContent('answered');
		expect(rows[0]).toHaveTextContent('12.3 ms');
		expect(rows[1]).toHaveTextContent('10.0.0.1');
		expect(rows[1]).toHaveTextContent('refused by the SSRF guard');

		await fireEvent.click(second);
		const other = document.getElementById(second.getAttribute('aria-controls')!)!;
		expect(within(other).queryByRole('table')).toBeNull();
	});

	it("shows a trigger execution's event as JSON, and says when there are no logs", async () => {
		render(ExecutionList, {
			executions: [
				execution({
					invocation_type: 'trigger',
					status_code: null,
					event: { collection: 'orders', key: 'k1', op: 'set' }
				})
			]
		});
		await fireEvent.click(screen.getByRole('button', { name: /^Logs of the execution/ }));
		const region = screen.getByRole('heading', { name: 'Event' }).parentElement!;
		expect(JSON.parse(region.querySelector('pre')!.textContent!)).toEqual({
			collection: 'orders',
			key: 'k1',
			op: 'set'
		});
		expect(screen.getByText('No logs.')).toBeInTheDocument();
		expect(screen.getByText('Trigger')).toBeInTheDocument();
	});

	it('keeps an execution open when newer ones arrive at the top', async () => {
		const old = execution({ logs: [{ level: 'info', message: 'hello', data: null, at: '2025-02-03T04:05:06Z' }] });
		const { rerender } = render(ExecutionList, { executions: [old] });
		await fireEvent.click(screen.getByRole('button', { name: /^Logs/ }));
		expect(screen.getByText('hello')).toBeInTheDocument();

		await rerender({ executions: [execution({ id: 'e9', started_at: '2025-02-03T05:00:00Z' }), old] });

		expect(screen.getByText('hello')).toBeInTheDocument();
		const buttons = screen.getAllByRole('button', { name: /execution started/ });
		expect(buttons.map((b) => b.getAttribute('aria-expanded'))).toEqual(['false', 'true']);
	});
});

const KEPT: RecordedRequest = {
	method: 'POST',
	path: '/orders',
	headers: { 'x-trace': 't-1' },
	query: {},
	params: {},
	rest: '',
	host: 'localhost',
	host_params: {},
	body: { kind: 'json', value: { amount: 150 } },
	ip: '127.0.0.1',
	redacted_headers: ['authorization']
};

describe('ExecutionList replay', () => {
	const failed = execution({
		id: 'f1',
		status: 'error',
		status_code: 500,
		error: 'amount too large',
		request: KEPT
	});

	it('shows a kept request and what was left out of it', async () => {
		render(ExecutionList, { executions: [failed] });
		await fireEvent.click(screen.getByRole('button', { name: /Logs/ }));
		expect(screen.getByRole('heading', { name: 'Request' })).toBeInTheDocument();
		expect(screen.getByText(/"path": "\/orders"/)).toBeInTheDocument();
		expect(screen.getByText('Not kept: authorization.')).toBeInTheDocument();
		// No replay for whoever may not.
		expect(screen.queryByRole('button', { name: /Replay/ })).toBeNull();
	});

	it('replays as a dry run by default and shows the answer', async () => {
		const replayed = execution({
			id: 'r9',
			status: 'ok',
			status_code: 201,
			script_version: 2,
			replay_of: 'f1',
			dry_run: true
		});
		const calls = mockApi({
			'POST /executions/f1/replay': () =>
				jsonResponse(200, {
					execution: replayed,
					response: { status: 201, headers: {}, body: '{"ok":true}' }
				})
		});
		const onReplayed = vi.fn();
		render(ExecutionList, { executions: [failed], canReplay: true, onReplayed });
		await fireEvent.click(screen.getByRole('button', { name: /Logs/ }));
		expect(screen.getByRole('checkbox', { name: 'Dry run' })).toBeChecked();
		await fireEvent.click(screen.getByRole('button', { name: 'Replay against the live version' }));
		const status = await screen.findByRole('status');
		expect(status).toHaveTextContent('Replayed (dry run) with version 2');
		expect(status).toHaveTextContent('HTTP 201');
		expect(within(status).getByText('{"ok":true}')).toBeInTheDocument();
		expect(calls[0].body).toEqual({ dry_run: true });
		expect(onReplayed).toHaveBeenCalledWith(expect.objectContaining({ execution: replayed }));
	});

	it('replays for real when unticked, and says why it could not', async () => {
		const calls = mockApi({
			'POST /executions/f1/replay': () =>
				errorResponse(409, 'conflict', "this execution's request was not kept")
		});
		render(ExecutionList, { executions: [failed], canReplay: true });
		await fireEvent.click(screen.getByRole('button', { name: /Logs/ }));
		await fireEvent.click(screen.getByRole('checkbox', { name: 'Dry run' }));
		expect(screen.getByText(/its outbound calls are sent/)).toBeInTheDocument();
		await fireEvent.click(screen.getByRole('button', { name: 'Replay against the live version' }));
		expect(await screen.findByText(/was not kept/)).toBeInTheDocument();
		expect(calls[0].body).toEqual({ dry_run: false });
	});

	it('marks replays and offers none where nothing was kept', async () => {
		render(ExecutionList, {
			executions: [
				execution({ id: 'r2', replay_of: 'f1', dry_run: true }),
				execution({ id: 'big', request: { ...KEPT, body_dropped: 90000 } })
			],
			canReplay: true
		});
		expect(screen.getByText('dry-run replay')).toBeInTheDocument();
		for (const button of screen.getAllByRole('button', { name: /Logs/ })) {
			await fireEvent.click(button);
		}
		expect(screen.getByText(/A dry-run replay of execution/)).toBeInTheDocument();
		expect(screen.getByText(/90000 bytes\) was over the bound/)).toBeInTheDocument();
		expect(screen.queryByRole('button', { name: /Replay against/ })).toBeNull();
	});
});
