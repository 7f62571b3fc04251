import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import {
	errorResponse,
	grant,
	jsonResponse,
	mockServer,
	signedInAs,
	stubFetch
} from '$lib/testing';
import RoutesPanel from './RoutesPanel.svelte';

const script = (id: string, name: string) => ({
	id,
	app_id: 'a',
	name,
	source: '',
	version: 1,
	description: '',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-01-01T00:00:00Z',
	stats: { invocations: 0, errors: 0, last_status: null, last_run_at: null, last_day: { invocations: 0, errors: 0, duration_ms: { p50: null, p95: null, p99: null }, operations: { p50: null, p95: null, p99: null } } }
});

const routes = [
	{ id: 'r1', app_id: 'a', script_id: 's1', path: '/users/:id', methods: ['GET'], created_at: '2025-01-01T00:00:00Z' },
	{ id: 'r2', app_id: 'a', script_id: 's2', path: '/hook', methods: null, created_at: '2025-01-01T00:00:00Z' }
];

function serve(scripts = [script('s1', 'users'), script('s2', 'hook')]) {
	return mockServer(({ method, url, body }) => {
		if (url === '/api/v1/admin/routes?app=shop') return jsonResponse(200, { items: routes });
		if (url === '/api/v1/admin/scripts?app=shop') return jsonResponse(200, { items: scripts });
		if (method === 'DELETE') return jsonResponse(204);
		if (url.endsWith('/routes/check')) {
			return jsonResponse(200, { ok: true, conflicts: [], error: null });
		}
		if (method === 'POST' && url === '/api/v1/admin/scripts/s2/routes') {
			return jsonResponse(201, {
				id: 'r3',
				app_id: 'a',
				script_id: 's2',
				methods: null,
				created_at: '2025-01-02T00:00:00Z',
				...(body as object)
			});
		}
		throw new Error(`unexpected ${method} ${url}`);
	});
}

describe('RoutesPanel', () => {
	it('lists the routes with script names, read-only for a viewer', async () => {
		signedInAs('member', [grant('viewer')]);
		serve();
		render(RoutesPanel, { app: 'shop' });
		const table = await screen.findByRole('table', { name: 'Routes' });
		expect(within(table).getByRole('link', { name: 'users' })).toBeInTheDocument();
		expect(within(table).getByRole('link', { name: 'hook' })).toBeInTheDocument();
		expect(screen.queryByRole('button', { name: /Remove/ })).toBeNull();
		expect(screen.queryByRole('form')).toBeNull();
		expect(screen.queryByLabelText('Path')).toBeNull();
	});

	it('lets an editor add and remove routes', async () => {
		signedInAs('member', [grant('editor')]);
		serve();
		render(RoutesPanel, { app: 'shop' });
		await screen.findByRole('table', { name: 'Routes' });
		expect(screen.getByRole('button', { name: 'Add route' })).toBeInTheDocument();
		expect(screen.getAllByRole('button', { name: /^Remove route/ })).toHaveLength(2);

		await fireEvent.change(screen.getByLabelText('Script'), { target: { value: 's2' } });
		await fireEvent.input(screen.getByLabelText('Path'), { target: { value: '/orders' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Add route' }));

		const row = await screen.findByRole('row', { name: /\/orders/ });
		expect(within(row).getByRole('link', { name: 'hook' })).toBeInTheDocument();
		expect(within(row).getByText('any')).toBeInTheDocument();
		expect(screen.getByText('Added the route /orders.')).toBeInTheDocument();
	});

	it('removes a route only after confirming', async () => {
		signedInAs('member', [grant('owner')]);
		const calls = serve();
		const confirm = vi.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
		render(RoutesPanel, { app: 'shop' });
		const button = await screen.findByRole('button', { name: 'Remove route /hook' });

		await fireEvent.click(button);
		expect(confirm).toHaveBeenCalledWith('Remove the route /hook?');
		expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);

		await fireEvent.click(button);
		await vi.waitFor(() =>
			expect(screen.queryByRole('button', { name: 'Remove route /hook' })).toBeNull()
		);
		expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual([
			'/api/v1/admin/routes/r2'
		]);
		expect(screen.getByRole('button', { name: 'Remove route GET /users/:id' })).toBeInTheDocument();
	});

	it('says to create a script first when the app has none', async () => {
		signedInAs('member', [grant('editor')]);
		serve([]);
		render(RoutesPanel, { app: 'shop' });
		expect(await screen.findByRole('link', { name: 'create one' })).toHaveAttribute('href', '/admin/apps/shop');
		expect(screen.queryByRole('button', { name: 'Add route' })).toBeNull();
	});

	it('shows a failed load in words', async () => {
		signedInAs('member', [grant('viewer')]);
		stubFetch(() => errorResponse(404, 'not_found', 'no app named shop'));
		render(RoutesPanel, { app: 'shop' });
		expect(await screen.findByRole('alert')).toHaveTextContent('no app named shop');
	});
});
