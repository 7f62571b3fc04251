import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import {
	errorResponse,
	jsonResponse,
	mockConfirm,
	mockServer,
	stubFetch,
	type ApiRequest
} from '$lib/testing';
import TriggerManager from './TriggerManager.svelte';

const script = {
	id: 's-w',
	app_id: 'a',
	name: 'worker',
	source: '',
	version: 1,
	description: '',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-01-01T00:00:00Z',
	stats: { invocations: 0, errors: 0, last_status: null, last_run_at: null, last_day: { invocations: 0, errors: 0, duration_ms: { p50: null, p95: null, p99: null }, operations: { p50: null, p95: null, p99: null } } }
};

const stats = { delivered: 0, retried: 0, dead_lettered: 0 };
const kv = {
	id: 't1',
	app_id: 'a',
	kind: 'kv',
	script_id: 's-w',
	collection: 'orders',
	events: ['set'],
	max_attempts: 3,
	created_at: '2025-01-01T00:00:00Z',
	stats
};
const cron = {
	id: 't2',
	app_id: 'a',
	kind: 'cron',
	script_id: 's-w',
	schedule: '*/5 * * * *',
	next_run_at: '2025-01-01T00:05:00Z',
	created_at: '2025-01-01T00:00:00Z',
	stats
};
const letter = (id: string, key: string) => ({
	id,
	app_id: 'a',
	trigger_id: 't1',
	event: { kind: 'kv', op: 'set', collection: 'orders', key, value: 1, at: '2025-01-01T00:00:00Z' },
	error: 'boom',
	attempts: 3,
	created_at: '2025-01-01T00:00:05Z'
});

/** The app shop's triggers, scripts and dead letters; `extra` answers the rest. */
function triggerServer(extra: (req: ApiRequest) => Response | undefined = () => undefined) {
	return mockServer((req) => {
		const a = '/api/v1/admin';
		if (req.method === 'GET' && req.url === `${a}/apps/shop/triggers`) {
			return jsonResponse(200, { items: [kv, cron] });
		}
		if (req.method === 'GET' && req.url === `${a}/scripts?app=shop`) {
			return jsonResponse(200, { items: [script] });
		}
		if (req.method === 'GET' && req.url === `${a}/apps/shop/dead-letters`) {
			return jsonResponse(200, { items: [letter('d1', 'o-1'), letter('d2', 'o-2')] });
		}
		const r = extra(req);
		if (r) return r;
		throw new Error(`unexpected ${req.method} ${req.url}`);
	});
}

const triggerRows = () => within(screen.getByRole('table', { name: 'Triggers' })).getAllByRole('row').slice(1);
const letterRows = () =>
	within(screen.getByRole('table', { name: 'Dead letters' })).getAllByRole('row').slice(1);

describe('TriggerManager', () => {
	it('shows triggers and dead letters read-only to viewers', async () => {
		triggerServer();
		render(TriggerManager, { app: 'shop', editable: false });
		await screen.findByRole('table', { name: 'Triggers' });
		expect(triggerRows()).toHaveLength(2);
		expect(letterRows()).toHaveLength(2);
		expect(screen.queryByRole('form', { name: 'New trigger' })).toBeNull();
		expect(screen.queryByRole('button')).toBeNull();
	});

	it('shows why nothing could be loaded', async () => {
		stubFetch(() => errorResponse(404, 'not_found', 'no app named shop'));
		render(TriggerManager, { app: 'shop', editable: true });
		expect(await screen.findByRole('alert')).toHaveTextContent('no app named shop');
	});

	it('adds a created trigger to the table', async () => {
		const made = { ...kv, id: 't3', collection: 'users', events: ['delete'] };
		const calls = triggerServer((req) =>
			req.method === 'POST' ? jsonResponse(201, made) : undefined
		);
		render(TriggerManager, { app: 'shop', editable: true });
		const form = await screen.findByRole('form', { name: 'New trigger' });
		await fireEvent.input(within(form).getByLabelText('Collection'), { target: { value: 'users' } });
		await fireEvent.change(within(form).getByLabelText('Handler script'), {
			target: { value: 's-w' }
		});
		await fireEvent.click(within(form).getByRole('button', { name: 'Create trigger' }));
		await waitFor(() => expect(triggerRows()).toHaveLength(3));
		expect(within(triggerRows()[2]).getByRole('rowheader')).toHaveTextContent('users on delete');
		expect(calls.at(-1)?.url).toBe('/api/v1/admin/apps/shop/triggers');
		expect(screen.getByText('Created the trigger KV write on users.')).toBeInTheDocument();
	});

	it('deletes a trigger, once confirmed, with its dead letters', async () => {
		const calls = triggerServer((req) => (req.method === 'DELETE' ? jsonResponse(204) : undefined));
		const confirm = mockConfirm(false);
		render(TriggerManager, { app: 'shop', editable: true });
		await screen.findByRole('table', { name: 'Triggers' });

		await fireEvent.click(screen.getByRole('button', { name: 'Delete trigger KV write on orders' }));
		expect(confirm).toHaveBeenCalledWith(
			'Delete the trigger KV write on orders, with its pending events and dead letters?'
		);
		expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);

		confirm.mockReturnValue(true);
		await fireEvent.click(screen.getByRole('button', { name: 'Delete trigger KV write on orders' }));
		await waitFor(() => expect(triggerRows()).toHaveLength(1));
		expect(calls.at(-1)).toMatchObject({ method: 'DELETE', url: '/api/v1/admin/triggers/t1' });
		expect(within(triggerRows()[0]).getByRole('rowheader')).toHaveTextContent('*/5 * * * *');
		expect(screen.queryByRole('table', { name: 'Dead letters' })).toBeNull();
		expect(screen.getByText('No dead letters.')).toBeInTheDocument();
		expect(screen.getByRole('heading', { name: 'Triggers' })).toHaveFocus();
	});

	it('drops a retried dead letter from the list and says it was queued', async () => {
		const calls = triggerServer((req) =>
			req.method === 'POST' && req.url.endsWith('/retry') ? jsonResponse(202) : undefined
		);
		render(TriggerManager, { app: 'shop', editable: true });
		await screen.findByRole('table', { name: 'Dead letters' });

		await fireEvent.click(screen.getByRole('button', { name: 'Retry set of key o-2 in orders' }));
		await waitFor(() => expect(letterRows()).toHaveLength(1));
		expect(calls.at(-1)?.url).toBe('/api/v1/admin/dead-letters/d2/retry');
		expect(within(letterRows()[0]).getByText('Event')).toHaveTextContent('o-1');
		expect(screen.getByText(/^Queued for delivery again/)).toHaveTextContent(
			'Queued for delivery again: set of key o-2 in orders.'
		);
		expect(screen.getByRole('heading', { name: 'Dead letters' })).toHaveFocus();
	});
});
