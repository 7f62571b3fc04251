import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, mockFetchJson, stubFetch } from '$lib/testing';
import LoginForm from './LoginForm.svelte';

async function fillAndSubmit(username: string, password: string) {
	await fireEvent.input(screen.getByLabelText('Username'), { target: { value: username } });
	await fireEvent.input(screen.getByLabelText('Password'), { target: { value: password } });
	await fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('LoginForm', () => {
	it('renders labelled fields and a Sign in button', () => {
		render(LoginForm, { onSuccess: () => {} });
		const username = screen.getByLabelText('Username');
		const password = screen.getByLabelText('Password');
		expect(username).toBeInstanceOf(HTMLInputElement);
		expect(username).toHaveAttribute('autocomplete', 'username');
		expect(password).toHaveAttribute('type', 'password');
		expect(password).toHaveAttribute('autocomplete', 'current-password');
		expect(screen.getByRole('button', { name: 'Sign in' })).toBeEnabled();
		expect(screen.queryByRole('alert')).toBeNull();
	});

	it("shows the server's error message and does not sign in", async () => {
		const fetch = stubFetch(() =>
			errorResponse(401, 'invalid_credentials', 'wrong username or password')
		);
		const onSuccess = vi.fn();
		render(LoginForm, { onSuccess });

		await fillAndSubmit('alice', 'wrong');

		const alert = await screen.findByRole('alert');
		expect(alert).toHaveTextContent('wrong username or password');
		expect(screen.getByLabelText('Username')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.getByLabelText('Username')).toHaveAccessibleDescription(
			'wrong username or password'
		);
		expect(onSuccess).not.toHaveBeenCalled();
		expect(fetch).toHaveBeenCalledTimes(1);
		const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
		expect(url).toBe('/api/v1/admin/auth/login');
		expect(JSON.parse(init.body as string)).toEqual({ username: 'alice', password: 'wrong' });
	});

	it('says when to try again after too many attempts', async () => {
		stubFetch(() =>
			errorResponse(429, 'too_many_attempts', 'too many failed logins.', {}, { 'Retry-After': '8' })
		);
		render(LoginForm, { onSuccess: () => {} });
		await fillAndSubmit('alice', 'wrong');
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'too many failed logins. Try again in 8 s.'
		);
	});

	it('hands the answer over on success', async () => {
		const body = {
			token: 'pcs_x',
			expires_at: '2025-01-02T00:00:00Z',
			user: { id: 'u', username: 'alice', role: 'admin', created_at: '2025-01-01T00:00:00Z' }
		};
		mockFetchJson(200, body);
		const onSuccess = vi.fn();
		render(LoginForm, { onSuccess });
		await fillAndSubmit('alice', 'right');
		await vi.waitFor(() => expect(onSuccess).toHaveBeenCalledWith(body));
		expect(screen.queryByRole('alert')).toBeNull();
		expect(screen.getByLabelText('Password')).toHaveValue('');
	});
});
