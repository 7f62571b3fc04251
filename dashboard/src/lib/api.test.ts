import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from './api';
import { ApiError, errorText, onUnauthorized } from './api';
import { errorResponse, jsonResponse, mockFetchSequence } from './testing';

const user = {
	id: '11111111-1111-4111-8111-111111111111',
	username: 'alice',
	role: 'admin',
	created_at: '2025-01-01T00:00:00Z'
};
const app = {
	id: '22222222-2222-4222-8222-222222222222',
	name: 'shop',
	description: 'the shop',
	created_at: '2025-01-01T00:00:00Z'
};
const script = {
	id: '33333333-3333-4333-8333-333333333333',
	app_id: app.id,
	name: 'hello',
	source: '"hi"',
	version: 1,
	description: '',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-01-01T00:00:00Z'
};

let unsubscribe: (() => void) | null = null;
let unauthorized: ReturnType<typeof vi.fn<(err: ApiError) => void>>;

beforeEach(() => {
	unauthorized = vi.fn<(err: ApiError) => void>();
	unsubscribe = onUnauthorized(unauthorized);
});

afterEach(() => {
	unsubscribe?.();
});

describe('requests', () => {
	it('logs in with a JSON body, same-origin credentials, and keeps no token', async () => {
		const answer = { token: 'pcs_secret', expires_at: '2025-01-02T00:00:00Z', user };
		const calls = mockFetchSequence(jsonResponse(200, answer));
		const setItem = vi.spyOn(Storage.prototype, 'setItem');

		await expect(api.login('alice', 'pw')).resolves.toEqual(answer);

		expect(calls).toHaveLength(1);
		const { url, init } = calls[0];
		expect(url).toBe('/api/v1/admin/auth/login');
		expect(init.method).toBe('POST');
		expect(init.credentials).toBe('same-origin');
		expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
		expect(JSON.parse(init.body as string)).toEqual({ username: 'alice', password: 'pw' });
		expect(setItem).not.toHaveBeenCalled();
		expect(localStorage.length).toBe(0);
		expect(sessionStorage.length).toBe(0);
	});

	it('sends no body and no Content-Type on GET', async () => {
		const calls = mockFetchSequence(jsonResponse(200, { user, roles: [] }));
		await expect(api.me()).resolves.toEqual({ user, roles: [] });
		expect(calls[0].url).toBe('/api/v1/admin/auth/me');
		expect(calls[0].init.method).toBe('GET');
		expect(calls[0].init.body).toBeUndefined();
		expect(calls[0].init.credentials).toBe('same-origin');
		expect((calls[0].init.headers as Record<string, string>)['Content-Type']).toBeUndefined();
	});

	it('unwraps {"items": [...]} lists', async () => {
		mockFetchSequence(jsonResponse(200, { items: [app] }));
		await expect(api.listApps()).resolves.toEqual([app]);
	});

	it('passes the app as a query parameter and encodes path segments', async () => {
		const calls = mockFetchSequence(
			jsonResponse(200, { items: [script] }),
			new Response(null, { status: 204 })
		);
		await expect(api.listScripts('my shop')).resolves.toEqual([script]);
		expect(calls[0].url).toBe('/api/v1/admin/scripts?app=my+shop');

		await expect(api.deleteApp('a/b?c')).resolves.toBeUndefined();
		expect(calls[1].url).toBe('/api/v1/admin/apps/a%2Fb%3Fc');
		expect(calls[1].init.method).toBe('DELETE');
	});

	it('leaves out absent query parameters', async () => {
		const calls = mockFetchSequence(
			jsonResponse(200, { items: [] }),
			jsonResponse(200, { items: [] })
		);
		await api.listScripts();
		expect(calls[0].url).toBe('/api/v1/admin/scripts');
		await api.listExecutions(script.id, { limit: 10 });
		expect(calls[1].url).toBe(`/api/v1/admin/scripts/${script.id}/executions?limit=10`);
	});

	it('creates and updates scripts with JSON bodies', async () => {
		const calls = mockFetchSequence(
			jsonResponse(201, script),
			jsonResponse(200, { ...script, version: 2 })
		);
		await expect(api.createScript({ app: 'shop', name: 'hello', source: '"hi"' })).resolves.toEqual(
			script
		);
		expect(calls[0].init.method).toBe('POST');
		expect(calls[0].url).toBe('/api/v1/admin/scripts');
		expect(JSON.parse(calls[0].init.body as string)).toEqual({
			app: 'shop',
			name: 'hello',
			source: '"hi"'
		});

		const updated = await api.updateScript(script.id, { source: '"bye"' });
		expect(updated.version).toBe(2);
		expect(calls[1].init.method).toBe('PUT');
		expect(calls[1].url).toBe(`/api/v1/admin/scripts/${script.id}`);
		expect(JSON.parse(calls[1].init.body as string)).toEqual({ source: '"bye"' });
	});

	it('resolves 204 answers with undefined', async () => {
		const calls = mockFetchSequence(new Response(null, { status: 204 }));
		await expect(api.logout()).resolves.toBeUndefined();
		expect(calls[0].init.method).toBe('POST');
		expect(calls[0].url).toBe('/api/v1/admin/auth/logout');
	});
});

describe('errors', () => {
	it('parses the JSON error into an ApiError', async () => {
		mockFetchSequence(errorResponse(409, 'conflict', 'an app named shop exists'));
		const err = await api.createApp({ name: 'shop' }).catch((e) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect(err).toMatchObject({ status: 409, code: 'conflict', message: 'an app named shop exists' });
	});

	it('keeps the extra fields of a compile error: line and column', async () => {
		mockFetchSequence(
			errorResponse(400, 'compile_error', 'Expecting a closing parenthesis', { line: 3, column: 7 })
		);
		const err = (await api.createScript({ name: 'x', source: 'f(' }).catch((e) => e)) as ApiError;
		expect(err.code).toBe('compile_error');
		expect(err.line).toBe(3);
		expect(err.column).toBe(7);
		expect(err.details).toEqual({ line: 3, column: 7 });
		expect(errorText(err)).toBe('Expecting a closing parenthesis (line 3, column 7)');
	});

	it('reads Retry-After on too_many_attempts', async () => {
		mockFetchSequence(
			errorResponse(429, 'too_many_attempts', 'too many failed logins', {}, { 'Retry-After': '4' })
		);
		const err = (await api.login('alice', 'x').catch((e) => e)) as ApiError;
		expect(err).toMatchObject({ status: 429, code: 'too_many_attempts', retryAfter: 4 });
	});

	it('turns a non-JSON error page into an http_error', async () => {
		mockFetchSequence(
			new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' })
		);
		const err = (await api.listApps().catch((e) => e)) as ApiError;
		expect(err).toBeInstanceOf(ApiError);
		expect(err.status).toBe(502);
		expect(err.code).toBe('http_error');
		expect(err.message).toContain('502');
	});

	it('turns JSON that is not an error body into an http_error', async () => {
		mockFetchSequence(jsonResponse(500, { oops: true }));
		const err = (await api.listApps().catch((e) => e)) as ApiError;
		expect(err).toMatchObject({ status: 500, code: 'http_error' });
	});

	it('turns a failed fetch into a network_error', async () => {
		mockFetchSequence(new TypeError('Failed to fetch'));
		const err = (await api.me().catch((e) => e)) as ApiError;
		expect(err).toMatchObject({ status: 0, code: 'network_error' });
		expect(err.message).toContain('Failed to fetch');
	});

	it('rejects a 2xx answer that is not JSON', async () => {
		mockFetchSequence(new Response('<html></html>', { status: 200 }));
		const err = (await api.listApps().catch((e) => e)) as ApiError;
		expect(err).toMatchObject({ status: 200, code: 'http_error' });
	});
});

describe('401 handling', () => {
	it('calls the unauthorized handler on 401 and still rejects', async () => {
		mockFetchSequence(errorResponse(401, 'unauthorized', 'sign in first'));
		const err = (await api.listApps().catch((e) => e)) as ApiError;
		expect(err).toMatchObject({ status: 401, code: 'unauthorized', message: 'sign in first' });
		expect(unauthorized).toHaveBeenCalledTimes(1);
		expect(unauthorized).toHaveBeenCalledWith(err);
	});

	it('does not treat a wrong password at login as a lost session', async () => {
		mockFetchSequence(errorResponse(401, 'invalid_credentials', 'wrong username or password'));
		const err = (await api.login('alice', 'nope').catch((e) => e)) as ApiError;
		expect(err.code).toBe('invalid_credentials');
		expect(unauthorized).not.toHaveBeenCalled();
	});

	it('does not call the handler for other errors', async () => {
		mockFetchSequence(errorResponse(403, 'forbidden', 'creating apps needs an instance admin'));
		await expect(api.createApp({ name: 'x' })).rejects.toBeInstanceOf(ApiError);
		expect(unauthorized).not.toHaveBeenCalled();
	});

	it('stops calling a removed handler', async () => {
		unsubscribe?.();
		unsubscribe = null;
		mockFetchSequence(errorResponse(401, 'unauthorized', 'sign in first'));
		await expect(api.me()).rejects.toBeInstanceOf(ApiError);
		expect(unauthorized).not.toHaveBeenCalled();
	});
});

describe('the rest of the admin API', () => {
	it('sends KV text exactly as written', async () => {
		const calls = mockFetchSequence(
			jsonResponse(200, { key: 'k', value: 2.0, updated_at: user.created_at })
		);
		await api.kvPutText('shop', 'prices', 'a/b c', '{"price": 2.0, "big": 12345678901234567890}');
		expect(calls[0].url).toBe('/api/v1/admin/apps/shop/kv/prices/a%2Fb%20c');
		expect(calls[0].init.method).toBe('PUT');
		expect(calls[0].init.body).toBe('{"price": 2.0, "big": 12345678901234567890}');
		expect((calls[0].init.headers as Record<string, string>)['Content-Type']).toBe(
			'application/json'
		);
	});

	it('sets a secret with a {"value"} body, and lists and deletes by name', async () => {
		const secret = { name: 'STRIPE_KEY', updated_at: user.created_at, updated_by: 'alice' };
		const calls = mockFetchSequence(
			jsonResponse(201, secret),
			jsonResponse(200, { items: [secret] }),
			new Response(null, { status: 204 })
		);
		await expect(api.setSecret('my shop', 'STRIPE_KEY', 'sk "1"')).resolves.toEqual(secret);
		expect(calls[0].url).toBe('/api/v1/admin/apps/my%20shop/secrets/STRIPE_KEY');
		expect(calls[0].init.method).toBe('PUT');
		expect(JSON.parse(calls[0].init.body as string)).toEqual({ value: 'sk "1"' });

		await expect(api.listSecrets('shop')).resolves.toEqual([secret]);
		expect(calls[1].url).toBe('/api/v1/admin/apps/shop/secrets');

		await expect(api.deleteSecret('shop', 'A/B')).resolves.toBeUndefined();
		expect(calls[2].url).toBe('/api/v1/admin/apps/shop/secrets/A%2FB');
		expect(calls[2].init.method).toBe('DELETE');
	});

	it('passes execution filters as query parameters, leaving out the unset', async () => {
		const calls = mockFetchSequence(jsonResponse(200, { items: [] }));
		await api.listExecutions(script.id, { status: 'error', request_id: 'r-1' });
		expect(calls[0].url).toBe(
			`/api/v1/admin/scripts/${script.id}/executions?status=error&request_id=r-1`
		);
	});

	it('runs a script through the data plane and reads the request id', async () => {
		const calls = mockFetchSequence(
			new Response('{"ok":true}', {
				status: 201,
				headers: { 'picloud-request-id': 'rid-7', 'Content-Type': 'application/json' }
			})
		);
		const r = await api.runScript(script.id, {
			method: 'POST',
			path: '/orders/1',
			headers: [
				['X-One', '1'],
				['', 'ignored']
			],
			body: '{"n":1}'
		});
		expect(calls[0].url).toBe(`/api/v1/execute/${script.id}/orders/1`);
		expect(calls[0].init.method).toBe('POST');
		// The admin's session cookie is not sent to a script.
		expect(calls[0].init.credentials).toBe('omit');
		expect(calls[0].init.body).toBe('{"n":1}');
		expect(new Headers(calls[0].init.headers).get('x-one')).toBe('1');
		expect(r.status).toBe(201);
		expect(r.body).toBe('{"ok":true}');
		expect(r.request_id).toBe('rid-7');
		expect(r.duration_ms).toBeGreaterThanOrEqual(0);
	});

	it('sends no body with a GET run', async () => {
		const calls = mockFetchSequence(new Response('hi', { status: 200 }));
		await api.runScript(script.id, { method: 'GET', path: '', headers: [], body: 'x' });
		expect(calls[0].url).toBe(`/api/v1/execute/${script.id}`);
		expect(calls[0].init.body).toBeUndefined();
	});
});
