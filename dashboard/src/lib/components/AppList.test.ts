import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import AppList from './AppList.svelte';

const apps = [
	{ id: 'd', name: 'default', description: '', created_at: '2025-01-01T00:00:00Z' },
	{ id: 's', name: 'shop', description: 'The shop', created_at: '2025-01-01T00:00:00Z' }
];

describe('AppList', () => {
	it('lists apps with links, descriptions and named delete buttons', async () => {
		const onDelete = vi.fn();
		render(AppList, { apps, onDelete });

		const items = screen.getAllByRole('listitem');
		expect(items).toHaveLength(2);
		expect(within(items[1]).getByRole('link', { name: 'shop' })).toHaveAttribute(
			'href',
			'/admin/apps/shop'
		);
		expect(within(items[1]).getByText('The shop')).toBeInTheDocument();

		// The default app cannot be deleted: no button for it.
		expect(screen.queryByRole('button', { name: 'Delete app default' })).toBeNull();
		await fireEvent.click(screen.getByRole('button', { name: 'Delete app shop' }));
		expect(onDelete).toHaveBeenCalledWith(apps[1]);
	});

	it('says when there are none', () => {
		render(AppList, { apps: [], onDelete: () => {} });
		expect(screen.getByText('No apps yet.')).toBeInTheDocument();
	});
});
