import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, mockFetchJson, stubFetch } from '$lib/testing';
import DangerZone from './DangerZone.svelte';

const shop = {
	id: '22222222-2222-4222-8222-222222222222',
	name: 'shop',
	description: '',
	created_at: '2025-01-01T00:00:00Z',
	record_requests: 'off' as const,
	redact_headers: []
};

describe('DangerZone', () => {
	it('keeps Delete disabled until the exact app name is typed', async () => {
		const fetch = mockFetchJson(204);
		render(DangerZone, { app: shop, onDeleted: () => {} });

		const input = screen.getByLabelText('Type shop to confirm');
		const button = screen.getByRole('button', { name: 'Delete app shop' });
		expect(button).toBeDisabled();

		await fireEvent.input(input, { target: { value: 'sho' } });
		expect(button).toBeDisabled();
		await fireEvent.input(input, { target: { value: 'Shop' } });
		expect(button).toBeDisabled();
		// Submitting the form by Enter does nothing either.
		await fireEvent.submit(input.closest('form')!);
		expect(fetch).not.toHaveBeenCalled();

		await fireEvent.input(input, { target: { value: 'shop' } });
		expect(button).toBeEnabled();
	});

	it('deletes the app by id, then hands over', async () => {
		const fetch = mockFetchJson(204);
		const onDeleted = vi.fn();
		render(DangerZone, { app: shop, onDeleted });

		await fireEvent.input(screen.getByLabelText('Type shop to confirm'), {
			target: { value: 'shop' }
		});
		await fireEvent.click(screen.getByRole('button', { name: 'Delete app shop' }));

		await vi.waitFor(() => expect(onDeleted).toHaveBeenCalledTimes(1));
		const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
		expect(url).toBe(`/api/v1/admin/apps/${shop.id}`);
		expect(init.method).toBe('DELETE');
	});

	it('says why a deletion failed, and stays', async () => {
		stubFetch(() => errorResponse(403, 'forbidden', 'this needs the owner role'));
		const onDeleted = vi.fn();
		render(DangerZone, { app: shop, onDeleted });
		await fireEvent.input(screen.getByLabelText('Type shop to confirm'), {
			target: { value: 'shop' }
		});
		await fireEvent.click(screen.getByRole('button', { name: 'Delete app shop' }));

		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not delete shop: this needs the owner role'
		);
		expect(onDeleted).not.toHaveBeenCalled();
	});

	it('offers no deletion of the default app, and says why', () => {
		render(DangerZone, {
			app: { ...shop, id: '00000000-0000-4000-8000-000000000000', name: 'default' },
			onDeleted: () => {}
		});
		expect(screen.getByText(/The default app cannot be deleted/)).toBeInTheDocument();
		expect(screen.queryByRole('button')).toBeNull();
		expect(screen.queryByRole('textbox')).toBeNull();
	});
});
