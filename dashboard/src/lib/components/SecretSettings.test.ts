import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, jsonResponse, mockApi, mockConfirm } from '$lib/testing';
import SecretSettings from './SecretSettings.svelte';

const stripe = {
	name: 'STRIPE_KEY',
	updated_at: '2025-01-02T03:04:05.123Z',
	updated_by: 'alice'
};
const smtp = {
	name: 'SMTP_PASSWORD',
	updated_at: '2025-01-03T00:00:00Z',
	updated_by: 'bob'
};
const VALUE = 'sk_live_do-not-show-me';

/** The value is nowhere on the page: not in its text, not in its markup. */
function expectValueNowhere(value = VALUE) {
	expect(document.body.textContent).not.toContain(value);
	expect(document.body.innerHTML).not.toContain(value);
}

describe('SecretSettings', () => {
	it('lists the names, by name, with when and by whom, and actions for editors', async () => {
		mockApi({ 'GET /apps/shop/secrets': () => jsonResponse(200, { items: [stripe, smtp] }) });
		render(SecretSettings, { app: 'shop', editable: true });

		const table = await screen.findByRole('table', { name: 'Secrets' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Name', 'Updated', 'By', 'Actions']);
		const rows = within(table).getAllByRole('rowheader').map((h) => h.textContent);
		expect(rows).toEqual(['SMTP_PASSWORD', 'STRIPE_KEY']);
		const row = screen.getByRole('row', { name: /^STRIPE_KEY/ });
		expect(within(row).getByText('alice')).toBeInTheDocument();
		expect(row.querySelector('time')).toHaveAttribute('datetime', stripe.updated_at);
		expect(screen.getByRole('button', { name: 'Replace secret STRIPE_KEY' })).toBeInTheDocument();
		expect(screen.getByRole('button', { name: 'Delete secret STRIPE_KEY' })).toBeInTheDocument();
		expect(screen.getByRole('form', { name: 'Set a secret' })).toBeInTheDocument();
		// How scripts read them, and who can.
		expect(screen.getByText('secrets::get("NAME")')).toBeInTheDocument();
		expect(screen.getByText(/Anyone who can edit this app's scripts can use them/)).toBeInTheDocument();
	});

	it('shows a viewer the list only: no form, no Replace, no Delete', async () => {
		const calls = mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [stripe] })
		});
		render(SecretSettings, { app: 'shop', editable: false });

		const table = await screen.findByRole('table', { name: 'Secrets' });
		expect(within(table).getAllByRole('columnheader')).toHaveLength(3);
		expect(within(table).getByText('alice')).toBeInTheDocument();
		expect(screen.queryAllByRole('button')).toHaveLength(0);
		expect(screen.queryByRole('form')).toBeNull();
		expect(screen.queryByLabelText('Value')).toBeNull();
		expect(calls).toHaveLength(1);
	});

	it('says when there are none', async () => {
		mockApi({ 'GET /apps/shop/secrets': () => jsonResponse(200, { items: [] }) });
		render(SecretSettings, { app: 'shop', editable: false });
		expect(await screen.findByText('This app has no secrets.')).toBeInTheDocument();
	});

	it('sets a secret with a PUT of {"value"}, clears the value and never shows it', async () => {
		const calls = mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [smtp] }),
			'PUT /apps/shop/secrets/STRIPE_KEY': () => jsonResponse(201, stripe)
		});
		render(SecretSettings, { app: 'shop', editable: true });
		await screen.findByRole('table', { name: 'Secrets' });

		const name = screen.getByLabelText('Name');
		const value = screen.getByLabelText('Value');
		expect(value).toHaveAttribute('type', 'password');
		expect(value).toHaveAttribute('autocomplete', 'new-password');
		expect(value).toHaveValue('');
		expect(value).toHaveAccessibleDescription(/not shown again/);
		expect(name).toHaveAccessibleDescription(/STRIPE_KEY/);

		// Typed in lower case: names are capitals.
		await fireEvent.input(name, { target: { value: 'stripe_key' } });
		expect(name).toHaveValue('STRIPE_KEY');
		await fireEvent.input(value, { target: { value: VALUE } });
		expectValueNowhere();
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));

		await screen.findByRole('rowheader', { name: 'STRIPE_KEY' });
		expect(calls[1]).toEqual({
			method: 'PUT',
			path: '/apps/shop/secrets/STRIPE_KEY',
			body: { value: VALUE }
		});
		const rows = screen.getAllByRole('rowheader').map((h) => h.textContent);
		expect(rows).toEqual(['SMTP_PASSWORD', 'STRIPE_KEY']);
		expect(value).toHaveValue('');
		expect(name).toHaveValue('');
		expect(screen.getByRole('status')).toHaveTextContent('Saved the secret STRIPE_KEY.');
		expect(screen.queryByRole('alert')).toBeNull();
		expectValueNowhere();
	});

	it('encodes the app in the path', async () => {
		const calls = mockApi({
			'GET /apps/my%20shop/secrets': () => jsonResponse(200, { items: [] }),
			'PUT /apps/my%20shop/secrets/A': () => jsonResponse(201, { ...stripe, name: 'A' })
		});
		render(SecretSettings, { app: 'my shop', editable: true });
		await screen.findByText('This app has no secrets.');
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'A' } });
		await fireEvent.input(screen.getByLabelText('Value'), { target: { value: 'x' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));
		await screen.findByRole('rowheader', { name: 'A' });
		expect(calls[1].path).toBe('/apps/my%20shop/secrets/A');
	});

	it('replaces a secret: Replace fills the name and focuses the empty value', async () => {
		const calls = mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [stripe] }),
			'PUT /apps/shop/secrets/STRIPE_KEY': () =>
				jsonResponse(200, { ...stripe, updated_at: '2025-02-01T00:00:00Z', updated_by: 'carol' })
		});
		render(SecretSettings, { app: 'shop', editable: true });
		await fireEvent.click(
			await screen.findByRole('button', { name: 'Replace secret STRIPE_KEY' })
		);

		const name = screen.getByLabelText('Name');
		const value = screen.getByLabelText('Value');
		expect(name).toHaveValue('STRIPE_KEY');
		expect(value).toHaveValue('');
		await vi.waitFor(() => expect(value).toHaveFocus());
		expect(name).toHaveAccessibleDescription(/STRIPE_KEY is set already: saving replaces its value/);

		await fireEvent.input(value, { target: { value: 'the new value' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));
		const row = await screen.findByRole('row', { name: /carol/ });
		expect(within(row).getByRole('rowheader')).toHaveTextContent('STRIPE_KEY');
		expect(screen.getAllByRole('rowheader')).toHaveLength(1);
		expect(calls[1]).toMatchObject({ method: 'PUT', body: { value: 'the new value' } });
		expect(screen.getByRole('status')).toHaveTextContent('Replaced the value of STRIPE_KEY.');
		expect(value).toHaveValue('');
		expectValueNowhere('the new value');
	});

	it('refuses a malformed name without asking the server', async () => {
		const calls = mockApi({ 'GET /apps/shop/secrets': () => jsonResponse(200, { items: [] }) });
		render(SecretSettings, { app: 'shop', editable: true });
		await screen.findByText('This app has no secrets.');
		const name = screen.getByLabelText('Name');
		await fireEvent.input(name, { target: { value: '1st-key' } });
		await fireEvent.input(screen.getByLabelText('Value'), { target: { value: VALUE } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));

		expect(await screen.findByRole('alert')).toHaveTextContent(/1 to 64 of A-Z, 0-9 and _/);
		expect(name).toHaveAttribute('aria-invalid', 'true');
		expect(name).toHaveAccessibleDescription(/not starting with a digit/);
		expect(calls).toHaveLength(1);
	});

	it("shows a 400 with the server's words, on the field it is about", async () => {
		mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [] }),
			'PUT /apps/shop/secrets/BIG': () =>
				errorResponse(400, 'bad_request', 'a secret value is at most 65536 bytes; this one is 70000')
		});
		render(SecretSettings, { app: 'shop', editable: true });
		await screen.findByText('This app has no secrets.');
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'BIG' } });
		const value = screen.getByLabelText('Value');
		await fireEvent.input(value, { target: { value: VALUE } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));

		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not set BIG: a secret value is at most 65536 bytes; this one is 70000'
		);
		expect(value).toHaveAttribute('aria-invalid', 'true');
		expect(value).toHaveAccessibleDescription(/at most 65536 bytes/);
		expect(screen.queryByRole('table')).toBeNull();
		expectValueNowhere();
	});

	it('says secrets are off (409) and how to turn them on', async () => {
		mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [] }),
			'PUT /apps/shop/secrets/STRIPE_KEY': () =>
				errorResponse(409, 'conflict', 'secrets are off on this server: it has no PICLOUD_SECRETS_KEY')
		});
		render(SecretSettings, { app: 'shop', editable: true });
		await screen.findByText('This app has no secrets.');
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'STRIPE_KEY' } });
		await fireEvent.input(screen.getByLabelText('Value'), { target: { value: VALUE } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));

		const alert = await screen.findByRole('alert');
		expect(alert).toHaveTextContent(/Could not set STRIPE_KEY: secrets are off on this server/);
		expect(alert).toHaveTextContent(/PICLOUD_SECRETS_KEY/);
		expect(screen.getByText('This app has no secrets.')).toBeInTheDocument();
		expectValueNowhere();
	});

	it('never shows the value, even in an error that quotes it', async () => {
		mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [] }),
			'PUT /apps/shop/secrets/STRIPE_KEY': () =>
				errorResponse(500, 'internal', `could not store ${VALUE}`)
		});
		render(SecretSettings, { app: 'shop', editable: true });
		await screen.findByText('This app has no secrets.');
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'STRIPE_KEY' } });
		await fireEvent.input(screen.getByLabelText('Value'), { target: { value: VALUE } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not set STRIPE_KEY: could not store [the value]'
		);
		expectValueNowhere();
	});

	it('asks before setting the empty string', async () => {
		const calls = mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [] }),
			'PUT /apps/shop/secrets/EMPTY': () => jsonResponse(201, { ...stripe, name: 'EMPTY' })
		});
		const confirm = mockConfirm(false);
		render(SecretSettings, { app: 'shop', editable: true });
		await screen.findByText('This app has no secrets.');
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'EMPTY' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));
		expect(confirm).toHaveBeenCalledWith(expect.stringContaining('empty string'));
		expect(calls).toHaveLength(1);

		confirm.mockReturnValue(true);
		await fireEvent.click(screen.getByRole('button', { name: 'Save secret' }));
		await screen.findByRole('rowheader', { name: 'EMPTY' });
		expect(calls[1]).toMatchObject({ method: 'PUT', body: { value: '' } });
	});

	it('deletes a secret after confirmation, and not without', async () => {
		const calls = mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [stripe, smtp] }),
			'DELETE /apps/shop/secrets/STRIPE_KEY': () => jsonResponse(204)
		});
		const confirm = mockConfirm(false);
		render(SecretSettings, { app: 'shop', editable: true });
		const del = await screen.findByRole('button', { name: 'Delete secret STRIPE_KEY' });

		await fireEvent.click(del);
		expect(confirm).toHaveBeenCalledWith(expect.stringContaining('STRIPE_KEY'));
		expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);

		confirm.mockReturnValue(true);
		await fireEvent.click(del);
		await vi.waitFor(() =>
			expect(screen.queryByRole('rowheader', { name: 'STRIPE_KEY' })).toBeNull()
		);
		expect(screen.getByRole('rowheader', { name: 'SMTP_PASSWORD' })).toBeInTheDocument();
		expect(calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/apps/shop/secrets/STRIPE_KEY' });
		expect(screen.getByRole('status')).toHaveTextContent('Deleted the secret STRIPE_KEY.');
		await vi.waitFor(() =>
			expect(screen.getByRole('heading', { name: 'Stored secrets' })).toHaveFocus()
		);
	});

	it('says why a delete failed and keeps the row', async () => {
		mockApi({
			'GET /apps/shop/secrets': () => jsonResponse(200, { items: [stripe] }),
			'DELETE /apps/shop/secrets/STRIPE_KEY': () =>
				errorResponse(403, 'forbidden', 'this needs the editor role')
		});
		mockConfirm(true);
		render(SecretSettings, { app: 'shop', editable: true });
		await fireEvent.click(await screen.findByRole('button', { name: 'Delete secret STRIPE_KEY' }));
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not delete STRIPE_KEY: this needs the editor role'
		);
		expect(screen.getByRole('rowheader', { name: 'STRIPE_KEY' })).toBeInTheDocument();
	});

	it('shows a failed load in words', async () => {
		mockApi({
			'GET /apps/shop/secrets': () => errorResponse(404, 'not_found', 'app not found')
		});
		render(SecretSettings, { app: 'shop', editable: false });
		expect(await screen.findByRole('alert')).toHaveTextContent('app not found');
	});
});
