import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { errorResponse, jsonResponse, stubFetch } from '$lib/testing';
import type { Execution } from '$lib/types';
import ExecutionsPanel from './ExecutionsPanel.svelte';

const SCRIPT_ID = '33333333-3333-4333-8333-333333333333';
const script = {
	id: SCRIPT_ID,
	app_id: 'a',
	name: 'hello',
	source: '"hi"',
	version: 1,
	description: '',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-01-01T00:00:00Z'
};

function execution(id: string, minute: number, over: Partial<Execution> = {}): Execution {
	return {
		id,
		app_id: 'a',
		script_id: SCRIPT_ID,
		request_id: `r-${id}`,
		invocation_type: 'http',
		status: 'ok',
		status_code: 200,
		started_at: `2025-02-03T04:${String(minute).padStart(2, '0')}:00Z`,
		duration_ms: 5,
		error: null,
		logs: [],
		script_version: 1,
		operations: 100,
		cpu_ms: 1,
		...over
	};
}

/** A fetch that answers the script and, for executions, whatever `executions`
 *  returns for the query at the time; records the executions URLs asked. */
function serve(executions: (query: URLSearchParams) => Execution[] | Response) {
	const asked: URLSearchParams[] = [];
	stubFetch((input) => {
		const url = new URL(input, 'http://localhost');
		if (url.pathname === `/api/v1/admin/scripts/${SCRIPT_ID}`) return jsonResponse(200, script);
		if (url.pathname === `/api/v1/admin/scripts/${SCRIPT_ID}/executions`) {
			asked.push(url.searchParams);
			const answer = executions(url.searchParams);
			return answer instanceof Response ? answer : jsonResponse(200, { items: answer });
		}
		throw new Error(`unexpected fetch ${url}`);
	});
	return asked;
}

/** Lets answered fetches and the updates they cause happen. */
const settle = () => vi.advanceTimersByTimeAsync(0);

/** The executions shown, by request id, top to bottom. */
function shownIds(): string[] {
	return [...document.querySelectorAll('tbody tr:not(.details)')].map(
		(row) => row.querySelector('th time')?.getAttribute('datetime') ?? '?'
	);
}

let visibility: DocumentVisibilityState = 'visible';

beforeEach(() => {
	vi.useFakeTimers();
	visibility = 'visible';
	vi.spyOn(document, 'visibilityState', 'get').mockImplementation(() => visibility);
});

afterEach(() => {
	vi.useRealTimers();
});

function setVisibility(state: DocumentVisibilityState) {
	visibility = state;
	document.dispatchEvent(new Event('visibilitychange'));
}

describe('ExecutionsPanel', () => {
	it("names the script in the heading and lists its executions, newest first", async () => {
		const asked = serve(() => [execution('e2', 2, { status: 'error', error: 'boom' }), execution('e1', 1)]);
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID });
		await settle();

		expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Executions of hello');
		expect(screen.getByRole('link', { name: 'hello' })).toHaveAttribute(
			'href',
			`/admin/apps/shop/scripts/${SCRIPT_ID}`
		);
		expect(shownIds()).toEqual(['2025-02-03T04:02:00Z', '2025-02-03T04:01:00Z']);
		expect(screen.getByText('boom')).toBeInTheDocument();
		expect(asked).toHaveLength(1);
		expect(asked[0].get('limit')).toBe('50');
		expect(asked[0].has('status')).toBe(false);
	});

	it('says when there are no executions', async () => {
		serve(() => []);
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID });
		await settle();
		expect(screen.getByText('No executions yet.')).toBeInTheDocument();
	});

	it('shows a failed load in words', async () => {
		serve(() => errorResponse(403, 'forbidden', 'you may not read this'));
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID });
		await settle();
		expect(screen.getByRole('alert')).toHaveTextContent('you may not read this');
	});

	it('passes the Status filter to the server and lists what it answers', async () => {
		const asked = serve((q) =>
			q.get('status') === 'timeout'
				? [execution('t1', 3, { status: 'timeout' })]
				: [execution('e2', 2), execution('e1', 1)]
		);
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID });
		await settle();
		expect(shownIds()).toHaveLength(2);

		const select = screen.getByLabelText('Status');
		expect([...(select as HTMLSelectElement).options].map((o) => o.value)).toEqual([
			'',
			'ok',
			'error',
			'timeout',
			'limit_exceeded'
		]);
		await fireEvent.change(select, { target: { value: 'timeout' } });
		await settle();

		expect(asked.at(-1)!.get('status')).toBe('timeout');
		expect(shownIds()).toEqual(['2025-02-03T04:03:00Z']);
		expect(within(screen.getByRole('table')).getByText('Timeout')).toBeInTheDocument();
	});

	it('does not poll at all while Follow live is off', async () => {
		const asked = serve(() => [execution('e1', 1)]);
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID, pollMs: 2000 });
		await settle();
		await vi.advanceTimersByTimeAsync(20_000);
		expect(asked).toHaveLength(1);
		expect(screen.getByLabelText('Follow live')).not.toBeChecked();
	});

	it('follows live: merges new executions at the top, keeps the opened one open, pauses while hidden', async () => {
		let items = [execution('e1', 1, { logs: [{ level: 'info', message: 'first log', data: null, at: '2025-02-03T04:01:00Z' }] })];
		const asked = serve(() => items);
		const { unmount } = render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID, pollMs: 2000 });
		await settle();
		await fireEvent.click(screen.getByRole('button', { name: /^Logs of the execution/ }));
		expect(screen.getByText('first log')).toBeInTheDocument();

		await fireEvent.click(screen.getByLabelText('Follow live'));
		await settle();
		expect(asked).toHaveLength(2); // at once on ticking the box

		// Answers may hold only the newest (a small limit): e1 must stay.
		items = [execution('e2', 2)];
		await vi.advanceTimersByTimeAsync(2000);
		expect(asked).toHaveLength(3);
		expect(shownIds()).toEqual(['2025-02-03T04:02:00Z', '2025-02-03T04:01:00Z']);
		expect(screen.getByText('first log')).toBeInTheDocument();
		const toggles = screen.getAllByRole('button', { name: /^Logs of the execution/ });
		expect(toggles.map((b) => b.getAttribute('aria-expanded'))).toEqual(['false', 'true']);

		setVisibility('hidden');
		await vi.advanceTimersByTimeAsync(20_000);
		expect(asked).toHaveLength(3);

		items = [execution('e3', 3), ...items];
		setVisibility('visible');
		await settle();
		expect(asked).toHaveLength(4);
		expect(shownIds()).toEqual(['2025-02-03T04:03:00Z', '2025-02-03T04:02:00Z', '2025-02-03T04:01:00Z']);

		unmount();
		await vi.advanceTimersByTimeAsync(20_000);
		expect(asked).toHaveLength(4);
	});

	it('stops polling when Follow live is unticked', async () => {
		const asked = serve(() => [execution('e1', 1)]);
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID, pollMs: 2000 });
		await settle();
		const box = screen.getByLabelText('Follow live');
		await fireEvent.click(box);
		await vi.advanceTimersByTimeAsync(2000);
		expect(asked).toHaveLength(3);
		await fireEvent.click(box);
		await vi.advanceTimersByTimeAsync(20_000);
		expect(asked).toHaveLength(3);
	});

	it('follows with the filter: polls with the status', async () => {
		const asked = serve(() => []);
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID, pollMs: 2000 });
		await settle();
		await fireEvent.change(screen.getByLabelText('Status'), { target: { value: 'error' } });
		await settle();
		await fireEvent.click(screen.getByLabelText('Follow live'));
		await vi.advanceTimersByTimeAsync(2000);
		expect(asked.length).toBeGreaterThanOrEqual(3);
		for (const q of asked.slice(1)) expect(q.get('status')).toBe('error');
	});

	it('loads more with a larger limit', async () => {
		const all = Array.from({ length: 5 }, (_, i) => execution(`e${i}`, 10 - i));
		const asked = serve((q) => all.slice(0, Number(q.get('limit'))));
		render(ExecutionsPanel, { app: 'shop', scriptId: SCRIPT_ID, pageSize: 3 });
		await settle();
		expect(shownIds()).toHaveLength(3);

		await fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
		await settle();
		expect(asked.at(-1)!.get('limit')).toBe('6');
		expect(shownIds()).toHaveLength(5);
		expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
	});
});
