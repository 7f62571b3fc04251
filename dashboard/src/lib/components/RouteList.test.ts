import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { mockConfirm } from '$lib/testing';
import type { Route } from '$lib/types';
import RouteList from './RouteList.svelte';

const scripts = [
	{ id: 's1', name: 'users' },
	{ id: 's2', name: 'hook' }
];

function route(over: Partial<Route>): Route {
	return {
		id: 'r',
		app_id: 'a',
		script_id: 's1',
		path: '/x',
		methods: null,
		created_at: '2025-01-01T00:00:00Z',
		...over
	};
}

const routes = [
	route({ id: 'r2', path: '/users/:id', methods: ['GET', 'PUT'], script_id: 's1' }),
	route({ id: 'r1', path: '/hook', methods: null, script_id: 's2' }),
	route({ id: 'r3', path: '/orphan', script_id: 'gone' })
];

describe('RouteList', () => {
	it('shows path, methods (or any) and the script, linked, sorted by path', () => {
		render(RouteList, { app: 'shop', routes, scripts });
		const table = screen.getByRole('table', { name: 'Routes' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Path', 'Methods', 'Script']);
		const rows = within(table).getAllByRole('row').slice(1);
		expect(rows.map((r) => within(r).getByRole('rowheader').textContent)).toEqual([
			'/hook',
			'/orphan',
			'/users/:id'
		]);
		expect(within(rows[0]).getByText('any')).toBeInTheDocument();
		expect(within(rows[0]).getByRole('link', { name: 'hook' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s2'
		);
		expect(within(rows[2]).getByText('GET, PUT')).toBeInTheDocument();
		expect(within(rows[2]).getByRole('link', { name: 'users' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s1'
		);
		// A script not in the list is shown by its id.
		expect(within(rows[1]).getByRole('link', { name: 'gone' })).toBeInTheDocument();
	});

	it('offers no Remove buttons without edit rights', () => {
		render(RouteList, { app: 'shop', routes, scripts, canEdit: false, onRemove: () => {} });
		expect(screen.queryByRole('button')).toBeNull();
	});

	it('offers a named Remove button per route with edit rights, which asks first', async () => {
		const confirm = mockConfirm(false);
		const onRemove = vi.fn();
		render(RouteList, { app: 'shop', routes, scripts, canEdit: true, onRemove });
		expect(screen.getAllByRole('button', { name: /^Remove/ })).toHaveLength(3);
		expect(screen.getByRole('button', { name: 'Remove route /hook' })).toBeInTheDocument();
		const button = screen.getByRole('button', { name: 'Remove route GET, PUT /users/:id' });
		await fireEvent.click(button);
		expect(confirm).toHaveBeenCalledWith('Remove the route GET, PUT /users/:id?');
		expect(onRemove).not.toHaveBeenCalled();
		confirm.mockReturnValue(true);
		await fireEvent.click(button);
		expect(onRemove).toHaveBeenCalledWith(routes[0]);
	});

	it('says when there are none', () => {
		render(RouteList, { app: 'shop', routes: [], scripts });
		expect(screen.getByText('No routes yet.')).toBeInTheDocument();
	});
});
