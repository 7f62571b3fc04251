import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { errorResponse, jsonResponse, mockConfirm, mockServer } from '$lib/testing';
import KvBrowser from './KvBrowser.svelte';

const BASE = '/api/v1/admin/apps/shop/kv/orders';
const UPDATED = '2025-03-04T05:06:07Z';

function entries(...keys: string[]) {
	return keys.map((key) => ({ key, value: { name: key } }));
}

/** A server with the keys `store` in one collection, pages of `pageSize`. */
function storeServer(store: Map<string, unknown>, pageSize = 50) {
	return mockServer((req) => {
		const u = new URL(req.url, 'http://x');
		const path = decodeURIComponent(u.pathname);
		if (u.pathname === BASE && req.method === 'GET') {
			const prefix = u.searchParams.get('prefix') ?? '';
			const keys = [...store.keys()].filter((k) => k.startsWith(prefix)).sort();
			const from = Number(u.searchParams.get('cursor') ?? 0);
			const page = keys.slice(from, from + pageSize);
			return jsonResponse(200, {
				items: page.map((key) => ({ key, value: store.get(key) })),
				cursor: from + pageSize < keys.length ? String(from + pageSize) : null
			});
		}
		const key = path.slice(BASE.length + 1);
		if (req.method === 'GET') {
			return store.has(key)
				? jsonResponse(200, { key, value: store.get(key), updated_at: UPDATED })
				: errorResponse(404, 'not_found', 'key not found');
		}
		if (req.method === 'PUT') {
			store.set(key, req.body);
			return jsonResponse(200, { key, value: req.body, updated_at: '2025-06-07T08:09:10Z' });
		}
		if (req.method === 'DELETE') {
			store.delete(key);
			return jsonResponse(204);
		}
		throw new Error(`unexpected ${req.method} ${req.url}`);
	});
}

function keyButton(key: string) {
	return screen.getByRole('button', { name: key });
}

describe('KvBrowser paging', () => {
	it('passes the returned cursor on Next and drops it on First', async () => {
		const calls = mockServer((req) => {
			if (req.url === `${BASE}?limit=50`) {
				return jsonResponse(200, { items: entries('a', 'b'), cursor: 'c/1' });
			}
			if (req.url === `${BASE}?cursor=c%2F1&limit=50`) {
				return jsonResponse(200, { items: entries('c'), cursor: null });
			}
			throw new Error(`unexpected ${req.url}`);
		});
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: false });

		expect(await screen.findByText('Page 1: 2 keys.')).toBeInTheDocument();
		const table = screen.getByRole('table', { name: 'Keys in orders, page 1' });
		const row = within(table).getByRole('row', { name: /^a/ });
		expect(within(row).getByRole('cell')).toHaveTextContent('{"name":"a"}');
		expect(screen.queryByRole('button', { name: 'First page' })).toBeNull();

		await fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
		expect(await screen.findByText('Page 2: 1 key.')).toBeInTheDocument();
		expect(calls[1].url).toBe(`${BASE}?cursor=c%2F1&limit=50`);
		expect(keyButton('c')).toBeInTheDocument();
		expect(screen.queryByRole('button', { name: 'a' })).toBeNull();
		// The last page: no Next; the focus did not get lost with the button.
		expect(screen.queryByRole('button', { name: 'Next page' })).toBeNull();
		expect(screen.getByRole('heading', { name: 'Keys' })).toHaveFocus();

		await fireEvent.click(screen.getByRole('button', { name: 'First page' }));
		expect(await screen.findByText('Page 1: 2 keys.')).toBeInTheDocument();
		expect(calls[2].url).toBe(`${BASE}?limit=50`);
		expect(calls).toHaveLength(3);
	});

	it('applies the prefix on submit, keeps it on Next, and clears it', async () => {
		const store = new Map<string, unknown>();
		for (let i = 0; i < 3; i++) store.set(`user:${i}`, i);
		store.set('order:1', 1);
		const calls = storeServer(store, 2);
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: false });
		await screen.findByText('Page 1: 2 keys.');

		await fireEvent.input(screen.getByLabelText('Prefix'), { target: { value: 'user:' } });
		// Typing alone does not filter.
		expect(calls).toHaveLength(1);
		await fireEvent.click(screen.getByRole('button', { name: 'Filter' }));
		expect(await screen.findByText('Page 1: 2 keys starting with “user:”.')).toBeInTheDocument();
		expect(calls[1].url).toBe(`${BASE}?limit=50&prefix=user%3A`);
		expect(keyButton('user:0')).toBeInTheDocument();

		await fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
		expect(await screen.findByText('Page 2: 1 key starting with “user:”.')).toBeInTheDocument();
		expect(calls[2].url).toBe(`${BASE}?cursor=2&limit=50&prefix=user%3A`);

		await fireEvent.click(screen.getByRole('button', { name: 'Clear filter' }));
		expect(await screen.findByText('Page 1: 2 keys.')).toBeInTheDocument();
		expect(calls[3].url).toBe(`${BASE}?limit=50`);
		expect(screen.getByLabelText('Prefix')).toHaveValue('');
	});

	it('says when a prefix matches nothing', async () => {
		storeServer(new Map([['a', 1]]));
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: false });
		await screen.findByText('Page 1: 1 key.');
		await fireEvent.input(screen.getByLabelText('Prefix'), { target: { value: 'zz' } });
		await fireEvent.submit(screen.getByRole('search', { name: 'Filter keys' }));
		expect(await screen.findByText('No keys start with “zz”.')).toBeInTheDocument();
	});
});

describe('KvBrowser without edit rights', () => {
	it('shows a value read-only, with no edit controls', async () => {
		const store = new Map<string, unknown>([['a/b c', { n: 1, tags: ['x'] }]]);
		const calls = storeServer(store);
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: false });

		await fireEvent.click(await screen.findByRole('button', { name: 'a/b c' }));
		const value = await screen.findByLabelText('Value (JSON)');
		expect(calls[1]).toMatchObject({ method: 'GET', url: `${BASE}/a%2Fb%20c` });
		expect(value).toHaveValue('{\n  "n": 1,\n  "tags": [\n    "x"\n  ]\n}');
		expect(value).toHaveAttribute('readonly');
		expect(screen.getByText(/^Updated/).querySelector('time')).toHaveAttribute('datetime', UPDATED);
		expect(screen.getByRole('button', { name: 'a/b c' })).toHaveAttribute('aria-current', 'true');

		expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
		expect(screen.queryByRole('button', { name: /^Delete/ })).toBeNull();
		expect(screen.queryByRole('button', { name: 'New key' })).toBeNull();

		await fireEvent.click(screen.getByRole('button', { name: 'Close key a/b c' }));
		expect(screen.queryByLabelText('Value (JSON)')).toBeNull();
		expect(screen.getByRole('button', { name: 'a/b c' })).toHaveFocus();
	});
});

describe('KvBrowser with edit rights', () => {
	it('refuses invalid JSON with its position, then saves the parsed value', async () => {
		const store = new Map<string, unknown>([['user:1', { name: 'Ada' }]]);
		const calls = storeServer(store);
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: true });

		await fireEvent.click(await screen.findByRole('button', { name: 'user:1' }));
		const value = await screen.findByLabelText('Value (JSON)');
		expect(value).not.toHaveAttribute('readonly');

		await fireEvent.input(value, { target: { value: '{\n  "name": "Ada",\n}' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		expect(screen.getByRole('alert')).toHaveTextContent(
			'Invalid JSON at line 3, column 1: expected a property name in double quotes'
		);
		expect(value).toHaveAttribute('aria-invalid', 'true');
		expect(calls.filter((c) => c.method === 'PUT')).toHaveLength(0);

		await fireEvent.input(value, { target: { value: '{"name": "Ada", "admin": true}' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		expect(await screen.findByText('Saved.')).toBeInTheDocument();
		const put = calls.find((c) => c.method === 'PUT');
		expect(put).toEqual({
			method: 'PUT',
			url: `${BASE}/user%3A1`,
			body: { name: 'Ada', admin: true }
		});
		expect(value).not.toHaveAttribute('aria-invalid');
		expect(screen.queryByRole('alert')).toBeNull();
		expect(value).toHaveValue('{\n  "name": "Ada",\n  "admin": true\n}');
		expect(screen.getByText(/^Updated/).querySelector('time')).toHaveAttribute(
			'datetime',
			'2025-06-07T08:09:10Z'
		);
		// The list's preview follows.
		const row = screen.getByRole('row', { name: /user:1/ });
		expect(within(row).getByRole('cell')).toHaveTextContent('{"name":"Ada","admin":true}');
	});

	it("shows the server's refusal in words", async () => {
		mockServer((req) => {
			if (req.method === 'GET' && req.url.startsWith(`${BASE}?`)) {
				return jsonResponse(200, { items: entries('big'), cursor: null });
			}
			if (req.method === 'GET') {
				return jsonResponse(200, { key: 'big', value: 1, updated_at: UPDATED });
			}
			return errorResponse(
				413,
				'payload_too_large',
				'a value is at most 1048576 bytes as JSON; got 2000000'
			);
		});
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: true });
		await fireEvent.click(await screen.findByRole('button', { name: 'big' }));
		await screen.findByLabelText('Value (JSON)');
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'a value is at most 1048576 bytes as JSON; got 2000000'
		);
		expect(screen.queryByText('Saved.')).toBeNull();
	});

	it('deletes a key only once confirmed', async () => {
		const store = new Map<string, unknown>([
			['user:1', 1],
			['user:2', 2]
		]);
		const calls = storeServer(store);
		const confirm = mockConfirm(false);
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: true });

		await fireEvent.click(await screen.findByRole('button', { name: 'user:1' }));
		await screen.findByLabelText('Value (JSON)');
		await fireEvent.click(screen.getByRole('button', { name: 'Delete key user:1' }));
		expect(confirm).toHaveBeenCalledWith('Delete the key "user:1" from orders?');
		expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);

		confirm.mockReturnValue(true);
		await fireEvent.click(screen.getByRole('button', { name: 'Delete key user:1' }));
		await waitFor(() => expect(screen.queryByRole('button', { name: 'user:1' })).toBeNull());
		expect(calls.find((c) => c.method === 'DELETE')?.url).toBe(`${BASE}/user%3A1`);
		expect(screen.queryByLabelText('Value (JSON)')).toBeNull();
		expect(keyButton('user:2')).toBeInTheDocument();
		expect(screen.getByRole('heading', { name: 'Keys' })).toHaveFocus();
	});

	it('asks before leaving unsaved changes for another key', async () => {
		storeServer(
			new Map<string, unknown>([
				['a', 1],
				['b', 2]
			])
		);
		const confirm = mockConfirm(false);
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: true });
		await fireEvent.click(await screen.findByRole('button', { name: 'a' }));
		await waitFor(() => expect(screen.getByLabelText('Value (JSON)')).toHaveValue('1'));

		await fireEvent.click(keyButton('b'));
		expect(confirm).not.toHaveBeenCalled();
		await waitFor(() => expect(screen.getByLabelText('Value (JSON)')).toHaveValue('2'));

		await fireEvent.input(screen.getByLabelText('Value (JSON)'), { target: { value: '3' } });
		await fireEvent.click(keyButton('a'));
		expect(confirm).toHaveBeenCalledWith('Discard your changes to the key "b"?');
		expect(keyButton('b')).toHaveAttribute('aria-current', 'true');
		expect(screen.getByLabelText('Value (JSON)')).toHaveValue('3');
	});

	it('adds a new key, and shows it', async () => {
		const store = new Map<string, unknown>([['b', 1]]);
		const calls = storeServer(store);
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: true });
		await screen.findByText('Page 1: 1 key.');

		await fireEvent.click(screen.getByRole('button', { name: 'New key' }));
		const form = screen.getByRole('form', { name: 'New key' });
		expect(within(form).getByLabelText('Key')).toHaveFocus();

		// An empty key and bad JSON are caught before anything is sent.
		await fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
		expect(within(form).getByRole('alert')).toHaveTextContent('Enter a key.');
		await fireEvent.input(within(form).getByLabelText('Key'), { target: { value: 'a b' } });
		await fireEvent.input(within(form).getByLabelText('Value (JSON)'), {
			target: { value: '[1, 2' }
		});
		await fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
		expect(within(form).getByRole('alert')).toHaveTextContent(
			"Invalid JSON at line 1, column 6: expected ',' or ']' after an array item, found the end."
		);
		expect(within(form).getByLabelText('Value (JSON)')).toHaveAttribute('aria-invalid', 'true');
		expect(calls).toHaveLength(1);

		await fireEvent.input(within(form).getByLabelText('Value (JSON)'), {
			target: { value: '[1, 2]' }
		});
		await fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
		await waitFor(() => expect(screen.queryByRole('form', { name: 'New key' })).toBeNull());
		await waitFor(() =>
			expect(screen.getByLabelText('Value (JSON)')).toHaveValue('[\n  1,\n  2\n]')
		);
		expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
			`GET ${BASE}?limit=50`,
			`GET ${BASE}/a%20b`,
			`PUT ${BASE}/a%20b`,
			`GET ${BASE}?limit=50`,
			`GET ${BASE}/a%20b`
		]);
		expect(calls[2].body).toEqual([1, 2]);
		expect(keyButton('a b')).toHaveAttribute('aria-current', 'true');
	});

	it('does not replace an existing key unless confirmed', async () => {
		const store = new Map<string, unknown>([['a', 1]]);
		const calls = storeServer(store);
		const confirm = mockConfirm(false);
		render(KvBrowser, { app: 'shop', collection: 'orders', editable: true });
		await screen.findByText('Page 1: 1 key.');

		await fireEvent.click(screen.getByRole('button', { name: 'New key' }));
		const form = screen.getByRole('form', { name: 'New key' });
		await fireEvent.input(within(form).getByLabelText('Key'), { target: { value: 'a' } });
		await fireEvent.input(within(form).getByLabelText('Value (JSON)'), { target: { value: '2' } });
		await fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
		await waitFor(() =>
			expect(confirm).toHaveBeenCalledWith('The key "a" already exists in orders. Replace its value?')
		);
		expect(calls.filter((c) => c.method === 'PUT')).toHaveLength(0);
		expect(store.get('a')).toBe(1);
		expect(screen.getByRole('form', { name: 'New key' })).toBeInTheDocument();
	});
});
