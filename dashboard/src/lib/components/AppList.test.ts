import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { grant, mockConfirm, signedInAs } from '$lib/testing';
import type { App } from '$lib/types';
import AppList from './AppList.svelte';

const apps: App[] = [
	{ id: 'd', name: 'default', description: '', created_at: '2025-01-01T00:00:00Z', record_requests: 'off', redact_headers: [] },
	{ id: 's', name: 'shop', description: 'The shop', created_at: '2025-01-01T00:00:00Z', record_requests: 'off', redact_headers: [] },
	{ id: 'b', name: 'blog', description: '', created_at: '2025-01-01T00:00:00Z', record_requests: 'off', redact_headers: [] }
];

describe('AppList', () => {
	it('lists apps with links, descriptions and named delete buttons', async () => {
		signedInAs('admin');
		const confirm = mockConfirm(false);
		const onDelete = vi.fn();
		render(AppList, { apps, onDelete });

		const items = screen.getAllByRole('listitem');
		expect(items).toHaveLength(3);
		expect(within(items[1]).getByRole('link', { name: 'shop' })).toHaveAttribute(
			'href',
			'/admin/apps/shop'
		);
		expect(within(items[1]).getByText('The shop')).toBeInTheDocument();

		// The default app cannot be deleted: no button for it, even for an admin.
		expect(screen.queryByRole('button', { name: 'Delete app default' })).toBeNull();
		// Deleting asks first: nothing happens on "Cancel".
		const button = screen.getByRole('button', { name: 'Delete app shop' });
		await fireEvent.click(button);
		expect(confirm).toHaveBeenCalledWith('Delete the app "shop" and everything it owns?');
		expect(onDelete).not.toHaveBeenCalled();
		confirm.mockReturnValue(true);
		await fireEvent.click(button);
		expect(onDelete).toHaveBeenCalledWith(apps[1]);
	});

	it('offers Delete only for the apps the user owns', () => {
		signedInAs('member', [grant('owner', apps[1]), grant('editor', apps[2])]);
		render(AppList, { apps, onDelete: () => {} });

		expect(screen.getByRole('button', { name: 'Delete app shop' })).toBeInTheDocument();
		expect(screen.queryByRole('button', { name: 'Delete app blog' })).toBeNull();
		expect(screen.getAllByRole('button')).toHaveLength(1);
	});

	it('shows a viewer no delete buttons at all', () => {
		signedInAs('member', [grant('viewer', apps[1]), grant('viewer', apps[2])]);
		render(AppList, { apps, onDelete: () => {} });
		expect(screen.getAllByRole('link')).toHaveLength(3);
		expect(screen.queryAllByRole('button')).toHaveLength(0);
	});

	it('says when there are none', () => {
		render(AppList, { apps: [], onDelete: () => {} });
		expect(screen.getByText('No apps yet.')).toBeInTheDocument();
	});
});
