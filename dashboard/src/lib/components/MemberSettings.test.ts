import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { session } from '$lib/session.svelte';
import { errorResponse, grant, jsonResponse, mockApi, mockConfirm, signedInAs } from '$lib/testing';
import type { Me } from '$lib/types';
import MemberSettings from './MemberSettings.svelte';

const T = '2025-01-01T00:00:00Z';
const alice = { app_id: 'a1', user_id: 'u1', username: 'alice', role: 'owner', created_at: T };
const bob = { app_id: 'a1', user_id: 'u2', username: 'bob', role: 'viewer', created_at: T };

const shop = { id: 'a1', name: 'shop' };

describe('MemberSettings', () => {
	it('gives an owner a labelled role select and a named Remove per member, and the add form', async () => {
		signedInAs('member', [grant('owner', shop)]);
		const calls = mockApi({
			'GET /apps/shop/members': () => jsonResponse(200, { items: [bob, alice] })
		});
		render(MemberSettings, { app: 'shop', owner: true });

		const table = await screen.findByRole('table', { name: 'Members' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Username', 'Role', 'Since', 'Actions']);
		const names = within(table)
			.getAllByRole('rowheader')
			.map((h) => h.textContent?.replace(/\s+/g, ' ').trim());
		expect(names).toEqual(['alice (you)', 'bob']);
		expect(screen.getByLabelText('Role of bob')).toHaveValue('viewer');
		expect(screen.getByLabelText('Role of alice')).toHaveValue('owner');
		expect(screen.getByRole('button', { name: 'Remove member bob' })).toBeInTheDocument();
		expect(screen.getByLabelText('User')).toHaveAccessibleDescription(/username or user id/);
		expect(screen.getByLabelText('Role')).toHaveValue('viewer');
		expect(screen.getByRole('button', { name: 'Add member' })).toBeInTheDocument();
		// A member (not an instance admin) cannot list users: no call that would 403.
		expect(calls.map((c) => c.path)).toEqual(['/apps/shop/members']);
	});

	it('shows anyone else read-only roles, and no controls', async () => {
		signedInAs('member', [grant('editor', shop)]);
		mockApi({ 'GET /apps/shop/members': () => jsonResponse(200, { items: [alice, bob] }) });
		render(MemberSettings, { app: 'shop', owner: false });

		const table = await screen.findByRole('table', { name: 'Members' });
		const bobRow = within(table).getByRole('row', { name: /bob/ });
		expect(within(bobRow).getByText('viewer')).toBeInTheDocument();
		expect(within(table).getAllByRole('columnheader')).toHaveLength(3);
		expect(screen.queryAllByRole('combobox')).toHaveLength(0);
		expect(screen.queryAllByRole('button')).toHaveLength(0);
		expect(screen.queryByLabelText('User')).toBeNull();
	});

	it('adds a member by username with the chosen role', async () => {
		signedInAs('member', [grant('owner', shop)]);
		const carol = { app_id: 'a1', user_id: 'u3', username: 'carol', role: 'editor', created_at: T };
		const calls = mockApi({
			'GET /apps/shop/members': () => jsonResponse(200, { items: [alice] }),
			'POST /apps/shop/members': () => jsonResponse(201, carol)
		});
		render(MemberSettings, { app: 'shop', owner: true });
		await screen.findByRole('table', { name: 'Members' });

		await fireEvent.input(screen.getByLabelText('User'), { target: { value: ' carol ' } });
		await fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'editor' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Add member' }));

		expect(await screen.findByLabelText('Role of carol')).toHaveValue('editor');
		expect(calls.at(-1)).toEqual({
			method: 'POST',
			path: '/apps/shop/members',
			body: { user_id: 'carol', role: 'editor' }
		});
		expect(screen.getByLabelText('User')).toHaveValue('');
		expect(screen.getByRole('status')).toHaveTextContent('carol is now an editor of shop.');
		expect(screen.queryByRole('alert')).toBeNull();
	});

	it('says in words that a user does not exist', async () => {
		signedInAs('member', [grant('owner', shop)]);
		mockApi({
			'GET /apps/shop/members': () => jsonResponse(200, { items: [alice] }),
			'POST /apps/shop/members': () => errorResponse(404, 'not_found', 'user not found')
		});
		render(MemberSettings, { app: 'shop', owner: true });
		await screen.findByRole('table', { name: 'Members' });

		await fireEvent.input(screen.getByLabelText('User'), { target: { value: 'zed' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Add member' }));

		expect(await screen.findByRole('alert')).toHaveTextContent('Could not add zed: user not found');
		expect(screen.getByLabelText('User')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.getByLabelText('User')).toHaveValue('zed');
	});

	it("changes a member's role from its select", async () => {
		signedInAs('member', [grant('owner', shop)]);
		const calls = mockApi({
			'GET /apps/shop/members': () => jsonResponse(200, { items: [alice, bob] }),
			'POST /apps/shop/members': () => jsonResponse(200, { ...bob, role: 'editor' })
		});
		render(MemberSettings, { app: 'shop', owner: true });
		const select = await screen.findByLabelText('Role of bob');

		await fireEvent.change(select, { target: { value: 'editor' } });

		await vi.waitFor(() =>
			expect(screen.getByRole('status')).toHaveTextContent('bob is now an editor of shop.')
		);
		expect(calls.at(-1)).toEqual({
			method: 'POST',
			path: '/apps/shop/members',
			body: { user_id: 'u2', role: 'editor' }
		});
		expect(screen.getByLabelText('Role of bob')).toHaveValue('editor');
		// Not one's own role: the session is not reloaded.
		expect(calls.some((c) => c.path === '/auth/me')).toBe(false);
	});

	it('puts the role back and says why when a change is refused', async () => {
		signedInAs('member', [grant('owner', shop)]);
		mockApi({
			'GET /apps/shop/members': () => jsonResponse(200, { items: [alice, bob] }),
			'POST /apps/shop/members': () =>
				errorResponse(
					409,
					'conflict',
					"this is the app's last owner: make someone else owner first"
				)
		});
		render(MemberSettings, { app: 'shop', owner: true });
		const select = await screen.findByLabelText('Role of alice');

		await fireEvent.change(select, { target: { value: 'viewer' } });

		expect(await screen.findByRole('alert')).toHaveTextContent(
			"Could not change the role of alice: this is the app's last owner: make someone else owner first"
		);
		expect(select).toHaveValue('owner');
	});

	it('reloads the session after changing one’s own role', async () => {
		const me = signedInAs('member', [grant('owner', shop)]);
		const after: Me = { ...me, roles: [grant('editor', shop)] };
		mockApi({
			'GET /apps/shop/members': () =>
				jsonResponse(200, { items: [alice, { ...bob, role: 'owner' }] }),
			'POST /apps/shop/members': () => jsonResponse(200, { ...alice, role: 'editor' }),
			'GET /auth/me': () => jsonResponse(200, after)
		});
		render(MemberSettings, { app: 'shop', owner: true });
		await fireEvent.change(await screen.findByLabelText('Role of alice'), {
			target: { value: 'editor' }
		});
		await vi.waitFor(() => expect(session.me?.roles[0].role).toBe('editor'));
	});

	it('removes a member after confirmation, and not without', async () => {
		signedInAs('member', [grant('owner', shop)]);
		const calls = mockApi({
			'GET /apps/shop/members': () => jsonResponse(200, { items: [alice, bob] }),
			'DELETE /apps/shop/members/u2': () => jsonResponse(204)
		});
		const confirm = mockConfirm(false);
		render(MemberSettings, { app: 'shop', owner: true });
		const remove = await screen.findByRole('button', { name: 'Remove member bob' });

		await fireEvent.click(remove);
		expect(confirm).toHaveBeenCalledWith(expect.stringContaining('Remove bob from shop?'));
		expect(calls.some((c) => c.method === 'DELETE')).toBe(false);

		confirm.mockReturnValue(true);
		await fireEvent.click(remove);
		await vi.waitFor(() => expect(screen.queryByLabelText('Role of bob')).toBeNull());
		expect(calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/apps/shop/members/u2' });
		expect(screen.getByRole('status')).toHaveTextContent('bob is no longer a member of shop.');
	});

	it('offers an instance admin the users as suggestions', async () => {
		signedInAs('admin');
		const calls = mockApi({
			'GET /apps/shop/members': () => jsonResponse(200, { items: [] }),
			'GET /users': () =>
				jsonResponse(200, {
					items: [
						{ id: 'u1', username: 'alice', role: 'admin', created_at: T },
						{ id: 'u3', username: 'carol', role: 'member', created_at: T }
					]
				})
		});
		const { container } = render(MemberSettings, { app: 'shop', owner: true });
		expect(await screen.findByText('This app has no members yet.')).toBeInTheDocument();

		await vi.waitFor(() => expect(container.querySelectorAll('datalist option')).toHaveLength(2));
		const input = screen.getByLabelText('User');
		const list = container.querySelector('datalist');
		expect(input).toHaveAttribute('list', list?.id);
		expect([...list!.querySelectorAll('option')].map((o) => o.value)).toEqual(['alice', 'carol']);
		expect(calls.map((c) => c.path).sort()).toEqual(['/apps/shop/members', '/users']);
	});
});
