import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { errorResponse, jsonResponse, mockServer } from '$lib/testing';
import RouteForm from './RouteForm.svelte';

const scripts = [
	{ id: 's1', name: 'users' },
	{ id: 's2', name: 'hook' }
];

type Body = { app?: string; path: string; methods?: string[] };

const checks = <T extends { url: string }>(calls: T[]) => calls.filter((c) => c.url.endsWith('/routes/check'));

const available = () => jsonResponse(200, { ok: true, conflicts: [], error: null });

const liveRegion = () => document.querySelector('[aria-live="polite"]') as HTMLElement;

async function typePath(value: string) {
	await fireEvent.input(screen.getByLabelText('Path'), { target: { value } });
}

beforeEach(() => {
	vi.useFakeTimers();
});

afterEach(() => {
	vi.useRealTimers();
});

describe('RouteForm', () => {
	it('has labelled fields and the seven methods in a fieldset', () => {
		mockServer(available);
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });
		expect(screen.getByLabelText('Script').tagName).toBe('SELECT');
		expect(screen.getByLabelText('Path').tagName).toBe('INPUT');
		const group = screen.getByRole('group', { name: 'Methods' });
		expect(
			within(group)
				.getAllByRole('checkbox')
				.map((c) => c.closest('label')!.textContent!.trim())
		).toEqual(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
		expect(screen.getByRole('button', { name: 'Add route' })).toBeInTheDocument();
	});

	it('checks the path once typing pauses for 250 ms, and says it is available', async () => {
		const calls = mockServer(available);
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });

		await typePath('/u');
		await vi.advanceTimersByTimeAsync(100);
		await typePath('/users');
		await vi.advanceTimersByTimeAsync(249);
		expect(checks(calls)).toHaveLength(0);
		await vi.advanceTimersByTimeAsync(1);
		expect(checks(calls)).toHaveLength(1);
		expect(calls[0].url).toBe('/api/v1/admin/routes/check');
		expect(calls[0].body).toEqual({ app: 'shop', path: '/users' });
		await vi.advanceTimersByTimeAsync(0);
		expect(liveRegion()).toHaveTextContent('Available');
		expect(screen.getByLabelText('Path')).not.toHaveAttribute('aria-invalid');
		expect(screen.getByLabelText('Path').getAttribute('aria-describedby')).toContain(liveRegion().id);
	});

	it('checks again with the methods when they change', async () => {
		const calls = mockServer(available);
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });
		await typePath('/users');
		await vi.advanceTimersByTimeAsync(250);
		await fireEvent.click(screen.getByLabelText('POST'));
		await fireEvent.click(screen.getByLabelText('GET'));
		await vi.advanceTimersByTimeAsync(250);
		expect(checks(calls).map((c) => c.body)).toEqual([
			{ app: 'shop', path: '/users' },
			{ app: 'shop', path: '/users', methods: ['GET', 'POST'] }
		]);
	});

	it('names the conflicting routes and their scripts', async () => {
		mockServer(() =>
			jsonResponse(200, {
				ok: false,
				conflicts: [
					{ id: 'r1', script_id: 's2', path: '/users/:name', methods: ['GET'] },
					{ id: 'r2', script_id: 's1', path: '/users/:x', methods: null }
				],
				error: null
			})
		);
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });
		await typePath('/users/:id');
		await vi.advanceTimersByTimeAsync(250);
		await vi.advanceTimersByTimeAsync(0);

		const region = liveRegion();
		expect(region).toHaveTextContent('Conflicts with 2 routes of the same shape and an overlapping method');
		const items = within(region).getAllByRole('listitem');
		expect(items[0]).toHaveTextContent('GET /users/:name, script hook');
		expect(items[1]).toHaveTextContent('any method /users/:x, script users');
		expect(within(items[0]).getByRole('link', { name: 'hook' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s2'
		);
		expect(region).not.toHaveTextContent('Available');
		expect(screen.getByLabelText('Path')).toHaveAttribute('aria-invalid', 'true');
	});

	it("shows the server's reason for a refused path", async () => {
		mockServer(() =>
			jsonResponse(200, { ok: false, conflicts: [], error: '/api/ is reserved for PiCloud' })
		);
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });
		await typePath('/api/x');
		await vi.advanceTimersByTimeAsync(250);
		await vi.advanceTimersByTimeAsync(0);
		expect(liveRegion()).toHaveTextContent('/api/ is reserved for PiCloud');
		expect(liveRegion()).not.toHaveTextContent('Available');
		expect(screen.getByLabelText('Path')).toHaveAttribute('aria-invalid', 'true');
	});

	it('drops the answer to an older check', async () => {
		// The check of "/a" answers after the check of "/ab".
		mockServer((req) => {
			if ((req.body as Body).path === '/a') {
				return new Promise((resolve) =>
					setTimeout(
						() => resolve(jsonResponse(200, { ok: false, conflicts: [], error: 'old answer' })),
						1000
					)
				);
			}
			return available();
		});
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });
		await typePath('/a');
		await vi.advanceTimersByTimeAsync(250);
		await typePath('/ab');
		await vi.advanceTimersByTimeAsync(250);
		await vi.advanceTimersByTimeAsync(0);
		expect(liveRegion()).toHaveTextContent('Available');
		await vi.advanceTimersByTimeAsync(2000);
		expect(liveRegion()).toHaveTextContent('Available');
		expect(liveRegion()).not.toHaveTextContent('old answer');
	});

	it('does not check an empty path', async () => {
		const calls = mockServer(available);
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });
		await typePath('   ');
		await vi.advanceTimersByTimeAsync(1000);
		expect(checks(calls)).toHaveLength(0);
	});

	it('adds the route to the chosen script, with the methods, and clears the form', async () => {
		const route = {
			id: 'r9',
			app_id: 'a',
			script_id: 's2',
			path: '/hook',
			methods: ['POST'],
			created_at: '2025-01-01T00:00:00Z'
		};
		const calls = mockServer(({ url }) =>
			url.endsWith('/routes/check') ? available() : jsonResponse(201, route)
		);
		const onCreated = vi.fn();
		render(RouteForm, { app: 'shop', scripts, onCreated });

		await fireEvent.change(screen.getByLabelText('Script'), { target: { value: 's2' } });
		await typePath(' /hook ');
		await fireEvent.click(screen.getByLabelText('POST'));
		await fireEvent.click(screen.getByRole('button', { name: 'Add route' }));
		await vi.advanceTimersByTimeAsync(0);

		const create = calls.find((c) => !c.url.endsWith('/routes/check'))!;
		expect(create.url).toBe('/api/v1/admin/scripts/s2/routes');
		expect(create.body).toEqual({ path: '/hook', methods: ['POST'] });
		expect(onCreated).toHaveBeenCalledWith(route);
		expect(screen.getByLabelText('Path')).toHaveValue('');
		expect(screen.getByLabelText('POST')).not.toBeChecked();
	});

	it('leaves methods out for any method', async () => {
		const calls = mockServer(({ url }) =>
			url.endsWith('/routes/check')
				? available()
				: jsonResponse(201, {
						id: 'r',
						app_id: 'a',
						script_id: 's1',
						path: '/x',
						methods: null,
						created_at: ''
					})
		);
		render(RouteForm, { app: 'shop', scripts: [scripts[0]], onCreated: () => {} });
		// With one script, it is chosen already.
		expect(screen.getByLabelText('Script')).toHaveValue('s1');
		await typePath('/x');
		await fireEvent.click(screen.getByRole('button', { name: 'Add route' }));
		await vi.advanceTimersByTimeAsync(0);
		const create = calls.find((c) => !c.url.endsWith('/routes/check'))!;
		expect(create.body).toEqual({ path: '/x' });
	});

	it("shows a 409 route_conflict in the server's words, with the conflicting routes", async () => {
		const onCreated = vi.fn();
		mockServer(({ url }) =>
			url.endsWith('/routes/check')
				? available()
				: errorResponse(
						409,
						'route_conflict',
						'a route of the same shape answers an overlapping method: GET /users/:name',
						{ conflicts: [{ id: 'r1', script_id: 's2', path: '/users/:name', methods: ['GET'] }] }
					)
		);
		render(RouteForm, { app: 'shop', scripts, onCreated });
		await fireEvent.change(screen.getByLabelText('Script'), { target: { value: 's1' } });
		await typePath('/users/:id');
		await fireEvent.click(screen.getByRole('button', { name: 'Add route' }));
		await vi.advanceTimersByTimeAsync(0);

		expect(screen.getByRole('alert')).toHaveTextContent(
			'a route of the same shape answers an overlapping method: GET /users/:name'
		);
		expect(liveRegion()).toHaveTextContent('GET /users/:name, script hook');
		// The pending check of the same path does not hide it.
		await vi.advanceTimersByTimeAsync(1000);
		expect(liveRegion()).toHaveTextContent('GET /users/:name, script hook');
		expect(onCreated).not.toHaveBeenCalled();
		expect(screen.getByLabelText('Path')).toHaveValue('/users/:id');
	});

	it('shows a 400 reserved_path in words', async () => {
		mockServer(({ url }) =>
			url.endsWith('/routes/check')
				? available()
				: errorResponse(400, 'reserved_path', 'paths under /admin/ are reserved')
		);
		render(RouteForm, { app: 'shop', scripts: [scripts[0]], onCreated: () => {} });
		await typePath('/admin/x');
		await fireEvent.click(screen.getByRole('button', { name: 'Add route' }));
		await vi.advanceTimersByTimeAsync(0);
		expect(screen.getByRole('alert')).toHaveTextContent('paths under /admin/ are reserved');
	});

	it('asks for a script before sending anything', async () => {
		const calls = mockServer(available);
		render(RouteForm, { app: 'shop', scripts, onCreated: () => {} });
		await typePath('/x');
		await fireEvent.click(screen.getByRole('button', { name: 'Add route' }));
		expect(screen.getByRole('alert')).toHaveTextContent('Choose the script the route runs.');
		await vi.advanceTimersByTimeAsync(0);
		expect(calls.filter((c) => !c.url.endsWith('/routes/check'))).toHaveLength(0);
	});
});
