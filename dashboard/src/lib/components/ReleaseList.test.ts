import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { errorResponse, jsonResponse, mockApi, mockConfirm } from '$lib/testing';
import type { Release } from '$lib/types';
import ReleaseList from './ReleaseList.svelte';

function release(number: number, over: Partial<Release> = {}): Release {
	return {
		id: `r${number}`,
		app_id: 'a',
		number,
		kind: 'deploy',
		message: '',
		created_by: 'ann',
		created_at: `2025-01-0${number}T10:00:00Z`,
		rollback_of: null,
		changes: [],
		snapshot: {
			scripts: [{ id: 's1', name: 'api', version: number }],
			routes: [],
			domains: [],
			triggers: []
		},
		...over
	};
}

const TWO = release(2, {
	message: 'say hello by name',
	changes: ['script api: version 1 → 2', 'route GET /old → old removed']
});
const ONE = release(1, { kind: 'manual', changes: ['script api added (version 1)'] });

describe('ReleaseList', () => {
	it('lists the releases newest first with how, who, why and what changed', async () => {
		mockApi({ 'GET /apps/shop/releases': () => jsonResponse(200, { items: [TWO, ONE] }) });
		render(ReleaseList, { app: 'shop', editable: false });
		const list = await screen.findByRole('list', { name: 'Releases, newest first' });
		const items = within(list).getAllByRole('listitem').filter((li) => li.parentElement === list);
		expect(items.map((li) => within(li).getByRole('heading').textContent)).toEqual([
			'Release 2',
			'Release 1'
		]);
		expect(items[0]).toHaveTextContent('picloud deploy, by ann; 1 script');
		expect(items[0]).toHaveTextContent('say hello by name');
		expect(within(items[0]).getByText('script api: version 1 → 2')).toBeInTheDocument();
		expect(within(items[0]).getByText('route GET /old → old removed')).toBeInTheDocument();
		expect(items[1]).toHaveTextContent('made by hand');
		expect(items[0].querySelector('time')).toHaveAttribute('datetime', TWO.created_at);
		// A viewer cannot make one, nor roll back.
		expect(screen.queryByRole('form', { name: 'Make a release' })).toBeNull();
		expect(screen.queryByRole('button', { name: /^Roll back/ })).toBeNull();
	});

	it('makes a release with the message, or says nothing changed', async () => {
		const three = release(3, { kind: 'manual', message: 'before the sale', changes: ['x'] });
		let made = 0;
		const calls = mockApi({
			'GET /apps/shop/releases': () => jsonResponse(200, { items: [TWO, ONE] }),
			// 201 the first time; then nothing changed: 200, the same release.
			'POST /apps/shop/releases': () => jsonResponse(made++ === 0 ? 201 : 200, three)
		});
		render(ReleaseList, { app: 'shop', editable: true });
		await screen.findByText('Release 2');
		await fireEvent.input(screen.getByLabelText(/Message/), { target: { value: ' before the sale ' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Make a release' }));
		expect(await screen.findByText('Made release 3.')).toBeInTheDocument();
		expect(calls.at(-1)?.body).toEqual({ message: 'before the sale' });
		expect(screen.getAllByRole('heading').map((h) => h.textContent)).toEqual([
			'Release 3',
			'Release 2',
			'Release 1'
		]);
		expect(screen.getByLabelText(/Message/)).toHaveValue('');

		const before = calls.length;
		// Nothing changed since: the server answers release 3 again.
		await fireEvent.click(screen.getByRole('button', { name: 'Make a release' }));
		expect(
			await screen.findByText('Nothing changed since release 3: no new release.')
		).toBeInTheDocument();
		expect(calls.at(-1)?.body).toEqual({});
		expect(calls.length).toBe(before + 1);
		expect(screen.getAllByRole('heading')).toHaveLength(3);
	});

	it('says when there are none, and what went wrong', async () => {
		mockApi({ 'GET /apps/shop/releases': () => jsonResponse(200, { items: [] }) });
		const { unmount } = render(ReleaseList, { app: 'shop', editable: true });
		expect(await screen.findByText('This app has no releases yet.')).toBeInTheDocument();
		unmount();
		mockApi({
			'GET /apps/shop/releases': () => jsonResponse(200, { items: [] }),
			'POST /apps/shop/releases': () => errorResponse(403, 'forbidden', 'editors make releases')
		});
		render(ReleaseList, { app: 'shop', editable: true });
		await screen.findByText('This app has no releases yet.');
		await fireEvent.click(screen.getByRole('button', { name: 'Make a release' }));
		expect(await screen.findByText(/editors make releases/)).toBeInTheDocument();
	});
});

describe('rolling back', () => {
	it('asks, rolls back to the release chosen, and lists the release that records it', async () => {
		const three = release(3, {
			kind: 'rollback',
			rollback_of: 'r1',
			message: 'rollback to release 1',
			changes: ['script api: version 2 → 3']
		});
		let list = [TWO, ONE];
		const calls = mockApi({
			'GET /apps/shop/releases': () => jsonResponse(200, { items: list }),
			'POST /apps/shop/releases/1/rollback': () => {
				list = [three, TWO, ONE];
				return jsonResponse(201, three);
			}
		});
		const confirm = mockConfirm(false);
		render(ReleaseList, { app: 'shop', editable: true });
		await screen.findByText('Release 2');
		// The newest has nothing to roll back to.
		expect(screen.queryByRole('button', { name: 'Roll back to release 2' })).toBeNull();
		await fireEvent.click(screen.getByRole('button', { name: 'Roll back to release 1' }));
		expect(confirm).toHaveBeenCalledOnce();
		expect(confirm.mock.calls[0][0]).toContain('KV data and secrets stay as they are');
		expect(calls.some((c) => c.method === 'POST')).toBe(false);

		confirm.mockReturnValue(true);
		await fireEvent.click(screen.getByRole('button', { name: 'Roll back to release 1' }));
		expect(
			await screen.findByText('Rolled back to release 1: release 3 records it.')
		).toBeInTheDocument();
		expect(screen.getAllByRole('heading').map((h) => h.textContent)).toEqual([
			'Release 3',
			'Release 2',
			'Release 1'
		]);
		expect(screen.getByText('rollback to release 1')).toBeInTheDocument();
	});
});
