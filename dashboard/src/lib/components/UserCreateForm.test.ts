import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, mockFetchJson, stubFetch } from '$lib/testing';
import UserCreateForm from './UserCreateForm.svelte';

async function fill(username: string, password: string, role?: 'admin' | 'member') {
	await fireEvent.input(screen.getByLabelText('Username'), { target: { value: username } });
	await fireEvent.input(screen.getByLabelText('Password'), { target: { value: password } });
	if (role) await fireEvent.change(screen.getByLabelText('Role'), { target: { value: role } });
	await fireEvent.click(screen.getByRole('button', { name: 'Create user' }));
}

describe('UserCreateForm', () => {
	it('has labelled fields, a new-password field and a member/admin role', () => {
		render(UserCreateForm, { onCreated: () => {} });
		expect(screen.getByLabelText('Username')).toHaveAttribute('autocomplete', 'off');
		const password = screen.getByLabelText('Password');
		expect(password).toHaveAttribute('type', 'password');
		expect(password).toHaveAttribute('autocomplete', 'new-password');
		const role = screen.getByLabelText('Role') as HTMLSelectElement;
		expect(role).toHaveValue('member');
		expect([...role.options].map((o) => o.value)).toEqual(['member', 'admin']);
	});

	it('creates an admin, then empties the form', async () => {
		const user = { id: 'u3', username: 'carol', role: 'admin', created_at: '2025-01-01T00:00:00Z' };
		const fetch = mockFetchJson(201, user);
		const onCreated = vi.fn();
		render(UserCreateForm, { onCreated });

		await fill(' carol ', 'correct horse battery', 'admin');

		await vi.waitFor(() => expect(onCreated).toHaveBeenCalledWith(user));
		const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
		expect(url).toBe('/api/v1/admin/users');
		expect(JSON.parse(init.body as string)).toEqual({
			username: 'carol',
			password: 'correct horse battery',
			role: 'admin'
		});
		expect(screen.getByLabelText('Username')).toHaveValue('');
		expect(screen.getByLabelText('Password')).toHaveValue('');
		expect(screen.getByLabelText('Role')).toHaveValue('member');
	});

	it('marks the Username field for a taken name (409)', async () => {
		stubFetch(() => errorResponse(409, 'conflict', 'the username "bob" is taken'));
		const onCreated = vi.fn();
		render(UserCreateForm, { onCreated });
		await fill('bob', 'correct horse battery');

		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not create the user: the username "bob" is taken'
		);
		expect(screen.getByLabelText('Username')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.getByLabelText('Username')).toHaveAccessibleDescription(/is taken/);
		expect(screen.getByLabelText('Password')).not.toHaveAttribute('aria-invalid');
		expect(onCreated).not.toHaveBeenCalled();
	});

	it('marks the Password field for a password the server refuses', async () => {
		stubFetch(() => errorResponse(400, 'bad_request', 'passwords must be 8 to 1024 bytes long'));
		render(UserCreateForm, { onCreated: () => {} });
		await fill('dave', 'short');

		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not create the user: passwords must be 8 to 1024 bytes long'
		);
		expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.getByLabelText('Username')).not.toHaveAttribute('aria-invalid');
		// The typed username stays, to try again.
		expect(screen.getByLabelText('Username')).toHaveValue('dave');
	});
});
