import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, jsonResponse, mockApi, mockConfirm } from '$lib/testing';
import DomainSettings from './DomainSettings.svelte';

const api = {
	id: 'd1',
	app_id: 'a1',
	pattern: 'api.example.com',
	created_at: '2025-01-02T03:04:05Z'
};
const tenants = {
	id: 'd2',
	app_id: 'a1',
	pattern: '{tenant}.example.com',
	created_at: '2025-01-03T00:00:00Z'
};

describe('DomainSettings', () => {
	it('lists the claims, sorted, with named Release buttons for owners', async () => {
		mockApi({ 'GET /apps/shop/domains': () => jsonResponse(200, { items: [api, tenants] }) });
		render(DomainSettings, { app: 'shop', owner: true });

		const table = await screen.findByRole('table', { name: 'Domains' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Pattern', 'Claimed', 'Actions']);
		const rows = within(table).getAllByRole('rowheader').map((h) => h.textContent);
		// In the locale's order (punctuation first), whatever the server's.
		expect(rows).toEqual(['{tenant}.example.com', 'api.example.com']);
		expect(table.querySelector('time')).toHaveAttribute('datetime', tenants.created_at);
		expect(
			screen.getByRole('button', { name: 'Release domain {tenant}.example.com' })
		).toBeInTheDocument();
		expect(screen.getByRole('button', { name: 'Claim' })).toBeInTheDocument();
	});

	it('shows a non-owner the list only: no Release, no Claim form', async () => {
		const calls = mockApi({ 'GET /apps/shop/domains': () => jsonResponse(200, { items: [api] }) });
		render(DomainSettings, { app: 'shop', owner: false });

		const table = await screen.findByRole('table', { name: 'Domains' });
		expect(within(table).getAllByRole('columnheader')).toHaveLength(2);
		expect(screen.queryAllByRole('button')).toHaveLength(0);
		expect(screen.queryByLabelText('Pattern')).toBeNull();
		expect(calls).toHaveLength(1);
	});

	it('claims a pattern and adds it to the list', async () => {
		const calls = mockApi({
			'GET /apps/shop/domains': () => jsonResponse(200, { items: [] }),
			'POST /apps/shop/domains': () => jsonResponse(201, api)
		});
		render(DomainSettings, { app: 'shop', owner: true });
		expect(await screen.findByText('This app claims no domains.')).toBeInTheDocument();

		const input = screen.getByLabelText('Pattern');
		expect(input).toHaveAccessibleDescription(/api\.example\.com/);
		await fireEvent.input(input, { target: { value: ' api.example.com ' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Claim' }));

		const table = await screen.findByRole('table', { name: 'Domains' });
		expect(within(table).getByRole('rowheader')).toHaveTextContent('api.example.com');
		expect(calls[1]).toEqual({
			method: 'POST',
			path: '/apps/shop/domains',
			body: { pattern: 'api.example.com' }
		});
		expect(input).toHaveValue('');
		expect(screen.queryByRole('alert')).toBeNull();
	});

	it('says in words that a pattern is taken (409), on the field', async () => {
		mockApi({
			'GET /apps/shop/domains': () => jsonResponse(200, { items: [] }),
			'POST /apps/shop/domains': () =>
				errorResponse(409, 'conflict', 'the domain "api.example.com" is already claimed')
		});
		render(DomainSettings, { app: 'shop', owner: true });
		await screen.findByText('This app claims no domains.');

		await fireEvent.input(screen.getByLabelText('Pattern'), {
			target: { value: 'api.example.com' }
		});
		await fireEvent.click(screen.getByRole('button', { name: 'Claim' }));

		const alert = await screen.findByRole('alert');
		expect(alert).toHaveTextContent(
			'api.example.com is already claimed by another app: a pattern belongs to one app at a time.'
		);
		const input = screen.getByLabelText('Pattern');
		expect(input).toHaveAttribute('aria-invalid', 'true');
		expect(input).toHaveAccessibleDescription(/already claimed by another app/);
		// What was typed stays, to be corrected.
		expect(input).toHaveValue('api.example.com');
	});

	it("shows a malformed pattern's 400 with the server's words", async () => {
		mockApi({
			'GET /apps/shop/domains': () => jsonResponse(200, { items: [] }),
			'POST /apps/shop/domains': () =>
				errorResponse(400, 'bad_request', 'a domain pattern has at least two labels')
		});
		render(DomainSettings, { app: 'shop', owner: true });
		await screen.findByText('This app claims no domains.');
		await fireEvent.input(screen.getByLabelText('Pattern'), { target: { value: 'localhost' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Claim' }));
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not claim localhost: a domain pattern has at least two labels'
		);
	});

	it('releases a domain after confirmation, and not without', async () => {
		const calls = mockApi({
			'GET /apps/shop/domains': () => jsonResponse(200, { items: [api, tenants] }),
			'DELETE /apps/shop/domains/d1': () => jsonResponse(204)
		});
		const confirm = mockConfirm(false);
		render(DomainSettings, { app: 'shop', owner: true });
		const release = await screen.findByRole('button', { name: 'Release domain api.example.com' });

		await fireEvent.click(release);
		expect(confirm).toHaveBeenCalledWith(expect.stringContaining('api.example.com'));
		expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);

		confirm.mockReturnValue(true);
		await fireEvent.click(release);
		await vi.waitFor(() =>
			expect(screen.queryByRole('rowheader', { name: 'api.example.com' })).toBeNull()
		);
		expect(screen.getByRole('rowheader', { name: '{tenant}.example.com' })).toBeInTheDocument();
		expect(calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/apps/shop/domains/d1' });
	});

	it('says why a release failed and keeps the row', async () => {
		mockApi({
			'GET /apps/shop/domains': () => jsonResponse(200, { items: [api] }),
			'DELETE /apps/shop/domains/d1': () =>
				errorResponse(403, 'forbidden', 'this needs the owner role')
		});
		mockConfirm(true);
		render(DomainSettings, { app: 'shop', owner: true });
		await fireEvent.click(
			await screen.findByRole('button', { name: 'Release domain api.example.com' })
		);
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not release api.example.com: this needs the owner role'
		);
		expect(screen.getByRole('rowheader', { name: 'api.example.com' })).toBeInTheDocument();
	});

	it('shows a failed load in words', async () => {
		mockApi({
			'GET /apps/shop/domains': () => errorResponse(404, 'not_found', 'app not found')
		});
		render(DomainSettings, { app: 'shop', owner: true });
		expect(await screen.findByRole('alert')).toHaveTextContent('app not found');
	});
});
