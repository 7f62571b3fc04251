import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { errorResponse, jsonResponse, mockApi, mockConfirm } from '$lib/testing';
import TokenManager from './TokenManager.svelte';

const laptop = {
	id: 't1',
	name: 'laptop',
	created_at: '2025-01-01T00:00:00Z',
	last_used_at: '2025-01-05T00:00:00Z',
	expires_at: null
};
const SECRET = 'pct_s3cr3t-value';
const ci = {
	id: 't2',
	name: 'ci',
	created_at: '2025-02-01T00:00:00Z',
	last_used_at: null,
	expires_at: '2099-03-03T00:00:00Z',
	token: SECRET
};

async function createCi(days?: string) {
	await fireEvent.input(screen.getByLabelText('Name'), { target: { value: ' ci ' } });
	if (days !== undefined) {
		await fireEvent.input(screen.getByLabelText(/Expires in days/), { target: { value: days } });
	}
	await fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
}

describe('TokenManager', () => {
	it('shows a new token once, then forgets it on Done', async () => {
		const calls = mockApi({
			'GET /tokens': () => jsonResponse(200, { items: [laptop] }),
			'POST /tokens': () => jsonResponse(201, ci)
		});
		render(TokenManager);
		await screen.findByRole('table', { name: 'Your API tokens' });
		expect(screen.queryByLabelText('Token')).toBeNull();

		await createCi('30');

		const field = await screen.findByLabelText('Token');
		expect(field).toHaveValue(SECRET);
		expect(field).toHaveAttribute('readonly');
		expect(field).toHaveFocus();
		expect(field).toHaveAccessibleDescription(/will not be shown again/);
		expect(calls.at(-1)).toEqual({
			method: 'POST',
			path: '/tokens',
			body: { name: 'ci', expires_in_days: 30 }
		});
		// Listed, without the secret anywhere but in the one field.
		const table = screen.getByRole('table', { name: 'Your API tokens' });
		expect(within(table).getByRole('rowheader', { name: 'ci' })).toBeInTheDocument();
		expect(table.textContent).not.toContain(SECRET);
		expect(screen.getByLabelText('Name')).toHaveValue('');

		await fireEvent.click(screen.getByRole('button', { name: 'Done' }));

		expect(screen.queryByLabelText('Token')).toBeNull();
		expect(document.body.innerHTML).not.toContain(SECRET);
		expect(screen.getByLabelText('Name')).toHaveFocus();
	});

	it('sends no expiry when the days field is left empty', async () => {
		const calls = mockApi({
			'GET /tokens': () => jsonResponse(200, { items: [] }),
			'POST /tokens': () => jsonResponse(201, { ...ci, expires_at: null })
		});
		render(TokenManager);
		await screen.findByText('You have no API tokens.');

		await createCi();

		await screen.findByLabelText('Token');
		expect(calls.at(-1)?.body).toEqual({ name: 'ci' });
	});

	it('says why a token was refused', async () => {
		const calls = mockApi({
			'GET /tokens': () => jsonResponse(200, { items: [] }),
			'POST /tokens': () => errorResponse(400, 'bad_request', 'a token name is 1 to 64 characters')
		});
		render(TokenManager);
		await screen.findByText('You have no API tokens.');
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: '   ' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Create token' }));

		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not create the token: a token name is 1 to 64 characters'
		);
		expect(calls.at(-1)?.body).toEqual({ name: '' });
		expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.queryByLabelText('Token')).toBeNull();
	});

	it('lets the browser refuse a number of days out of range', async () => {
		const calls = mockApi({ 'GET /tokens': () => jsonResponse(200, { items: [] }) });
		render(TokenManager);
		await screen.findByText('You have no API tokens.');
		const days = screen.getByLabelText(/Expires in days/);
		expect(days).toHaveAttribute('min', '1');
		expect(days).toHaveAttribute('max', '3650');
		await createCi('5000');
		expect(days).toBeInvalid();
		expect(calls.some((c) => c.method === 'POST')).toBe(false);
	});

	it('revokes a token after confirmation, and not without', async () => {
		const calls = mockApi({
			'GET /tokens': () => jsonResponse(200, { items: [laptop] }),
			'DELETE /tokens/t1': () => jsonResponse(204)
		});
		const confirm = mockConfirm(false);
		render(TokenManager);
		const revoke = await screen.findByRole('button', { name: 'Revoke token laptop' });

		await fireEvent.click(revoke);
		expect(confirm).toHaveBeenCalledWith(expect.stringContaining('"laptop"'));
		expect(calls.some((c) => c.method === 'DELETE')).toBe(false);

		confirm.mockReturnValue(true);
		await fireEvent.click(revoke);
		expect(await screen.findByText('You have no API tokens.')).toBeInTheDocument();
		expect(calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/tokens/t1' });
	});

	it('says why a revocation failed', async () => {
		mockApi({
			'GET /tokens': () => jsonResponse(200, { items: [laptop] }),
			'DELETE /tokens/t1': () => errorResponse(404, 'not_found', 'token not found')
		});
		mockConfirm(true);
		render(TokenManager);
		await fireEvent.click(await screen.findByRole('button', { name: 'Revoke token laptop' }));
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not revoke laptop: token not found'
		);
	});
});
