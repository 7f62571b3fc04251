import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, jsonResponse, mockApi, mockConfirm, signedInAs } from '$lib/testing';
import UserManager from './UserManager.svelte';

const T = '2025-01-01T00:00:00Z';
const alice = { id: 'u1', username: 'alice', role: 'admin' as const, created_at: T };
const bob = { id: 'u2', username: 'bob', role: 'member' as const, created_at: T };
const carol = { id: 'u3', username: 'carol', role: 'member' as const, created_at: T };

describe('UserManager', () => {
	it('tells a non-admin that only instance admins manage users, and asks the server nothing', async () => {
		signedInAs(bob);
		const calls = mockApi({});
		render(UserManager);
		expect(screen.getByText('Only instance admins manage users.')).toBeInTheDocument();
		expect(screen.queryByRole('table')).toBeNull();
		expect(screen.queryByLabelText('Username')).toBeNull();
		await new Promise((r) => setTimeout(r, 0));
		expect(calls).toHaveLength(0);
	});

	it('waits for the session before deciding', () => {
		const calls = mockApi({});
		render(UserManager);
		expect(screen.getByText('Loading…')).toBeInTheDocument();
		expect(screen.queryByText('Only instance admins manage users.')).toBeNull();
		expect(calls).toHaveLength(0);
	});

	it('lists users for an admin, with Delete for everyone but themselves', async () => {
		signedInAs(alice);
		mockApi({ 'GET /users': () => jsonResponse(200, { items: [bob, alice] }) });
		render(UserManager);

		const table = await screen.findByRole('table', { name: 'Users' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Username', 'Role', 'Created', 'Actions']);
		const names = within(table)
			.getAllByRole('rowheader')
			.map((h) => h.textContent?.replace(/\s+/g, ' ').trim());
		expect(names).toEqual(['alice (you)', 'bob']);
		expect(within(table).getByRole('row', { name: /bob/ })).toHaveTextContent('member');
		expect(screen.getByRole('button', { name: 'Delete user bob' })).toBeInTheDocument();
		expect(screen.queryByRole('button', { name: 'Delete user alice' })).toBeNull();
		expect(within(table).getAllByRole('button')).toHaveLength(1);
	});

	it('deletes a user after confirmation, and not without', async () => {
		signedInAs(alice);
		const calls = mockApi({
			'GET /users': () => jsonResponse(200, { items: [alice, bob] }),
			'DELETE /users/u2': () => jsonResponse(204)
		});
		const confirm = mockConfirm(false);
		render(UserManager);
		const del = await screen.findByRole('button', { name: 'Delete user bob' });

		await fireEvent.click(del);
		expect(confirm).toHaveBeenCalledWith(expect.stringContaining('"bob"'));
		expect(calls.some((c) => c.method === 'DELETE')).toBe(false);

		confirm.mockReturnValue(true);
		await fireEvent.click(del);
		await vi.waitFor(() => expect(screen.queryByRole('rowheader', { name: 'bob' })).toBeNull());
		expect(calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/users/u2' });
		expect(screen.getByRole('status')).toHaveTextContent('User bob deleted.');
	});

	it("says why a deletion was refused (the last admin's 409)", async () => {
		signedInAs(alice);
		const other = { ...bob, role: 'admin' as const };
		mockApi({
			'GET /users': () => jsonResponse(200, { items: [alice, other] }),
			'DELETE /users/u2': () =>
				errorResponse(
					409,
					'conflict',
					'the last instance admin cannot be deleted; create another admin first'
				)
		});
		mockConfirm(true);
		render(UserManager);
		await fireEvent.click(await screen.findByRole('button', { name: 'Delete user bob' }));
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Could not delete bob: the last instance admin cannot be deleted; create another admin first'
		);
		expect(screen.getByRole('rowheader', { name: 'bob' })).toBeInTheDocument();
	});

	it('creates a user and lists them', async () => {
		signedInAs(alice);
		const calls = mockApi({
			'GET /users': () => jsonResponse(200, { items: [alice] }),
			'POST /users': () => jsonResponse(201, carol)
		});
		render(UserManager);
		await screen.findByRole('table', { name: 'Users' });

		await fireEvent.input(screen.getByLabelText('Username'), { target: { value: 'carol' } });
		await fireEvent.input(screen.getByLabelText('Password'), {
			target: { value: 'correct horse' }
		});
		await fireEvent.click(screen.getByRole('button', { name: 'Create user' }));

		expect(await screen.findByRole('rowheader', { name: 'carol' })).toBeInTheDocument();
		expect(calls.at(-1)).toEqual({
			method: 'POST',
			path: '/users',
			body: { username: 'carol', password: 'correct horse', role: 'member' }
		});
		expect(screen.getByRole('status')).toHaveTextContent('User carol created.');
	});
});
