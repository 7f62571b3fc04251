import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, mockFetchJson, stubFetch } from '$lib/testing';
import KvCollections from './KvCollections.svelte';

describe('KvCollections', () => {
	it('lists the collections with links and key counts', async () => {
		const fetch = mockFetchJson(200, {
			items: [
				{ name: 'orders', keys: 12 },
				{ name: 'users.v2', keys: 1 }
			]
		});
		render(KvCollections, { app: 'shop', editable: false, onOpen: () => {} });

		const table = await screen.findByRole('table', { name: 'Collections of shop' });
		expect(fetch.mock.calls[0][0]).toBe('/api/v1/admin/apps/shop/kv');
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Name', 'Keys']);
		const row = within(table).getByRole('row', { name: /orders/ });
		expect(within(row).getByRole('link', { name: 'orders' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/kv/orders'
		);
		expect(within(row).getByRole('cell')).toHaveTextContent('12');
		expect(within(table).getByRole('link', { name: 'users.v2' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/kv/users.v2'
		);
		// Viewers cannot open a new collection.
		expect(screen.queryByLabelText('Collection')).toBeNull();
		expect(screen.queryByRole('button', { name: 'Open' })).toBeNull();
	});

	it('says how collections come to be when there are none', async () => {
		mockFetchJson(200, { items: [] });
		render(KvCollections, { app: 'shop', editable: false, onOpen: () => {} });
		expect(
			await screen.findByText("No collections yet: a script's first kv write creates one.")
		).toBeInTheDocument();
		expect(screen.queryByRole('table')).toBeNull();
	});

	it('shows the server error', async () => {
		stubFetch(() => errorResponse(403, 'forbidden', 'you have no role in this app'));
		render(KvCollections, { app: 'shop', editable: false, onOpen: () => {} });
		expect(await screen.findByRole('alert')).toHaveTextContent('you have no role in this app');
	});

	it('lets an editor open a collection by a valid name only', async () => {
		mockFetchJson(200, { items: [] });
		const onOpen = vi.fn();
		render(KvCollections, { app: 'shop', editable: true, onOpen });

		const input = screen.getByLabelText('Collection');
		await fireEvent.input(input, { target: { value: 'bad name!' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Open' }));
		expect(screen.getByRole('alert')).toHaveTextContent('"bad name!" is not a collection name');
		expect(input).toHaveAttribute('aria-invalid', 'true');
		expect(onOpen).not.toHaveBeenCalled();

		await fireEvent.input(input, { target: { value: ' settings ' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Open' }));
		expect(onOpen).toHaveBeenCalledWith('settings');
		expect(input).not.toHaveAttribute('aria-invalid');
	});
});
