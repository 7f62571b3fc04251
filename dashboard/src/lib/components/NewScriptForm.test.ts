import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import NewScriptForm from './NewScriptForm.svelte';

function answer(status: number, body: unknown) {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'Content-Type': 'application/json' }
	});
}

async function fillAndSave(name: string, source: string) {
	await fireEvent.input(screen.getByLabelText('Name'), { target: { value: name } });
	await fireEvent.input(screen.getByLabelText('Source'), { target: { value: source } });
	await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
}

describe('NewScriptForm', () => {
	it('shows a compile error with its line and column, on the Source field', async () => {
		vi.stubGlobal(
			'fetch',
			vi.fn(async () =>
				answer(400, {
					error: {
						code: 'compile_error',
						message: "Expecting ')' to close the parameters list",
						line: 2,
						column: 9
					}
				})
			)
		);
		const onCreated = vi.fn();
		render(NewScriptForm, { app: 'shop', onCreated, onCancel: () => {} });

		await fillAndSave('hello', 'let x = 1;\nfn f(a {');

		const alert = await screen.findByRole('alert');
		expect(alert).toHaveTextContent(
			"Compile error at line 2, column 9: Expecting ')' to close the parameters list"
		);
		expect(screen.getByLabelText('Source')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.getByLabelText('Name')).not.toHaveAttribute('aria-invalid');
		expect(onCreated).not.toHaveBeenCalled();
	});

	it('creates the script in the app', async () => {
		const script = {
			id: 's',
			app_id: 'a',
			name: 'hello',
			source: '"hi"',
			version: 1,
			description: '',
			sandbox: {},
			created_at: '2025-01-01T00:00:00Z',
			updated_at: '2025-01-01T00:00:00Z'
		};
		const fetch = vi.fn(async () => answer(201, script));
		vi.stubGlobal('fetch', fetch);
		const onCreated = vi.fn();
		render(NewScriptForm, { app: 'shop', onCreated, onCancel: () => {} });

		await fillAndSave(' hello ', '"hi"');

		await vi.waitFor(() => expect(onCreated).toHaveBeenCalledWith(script));
		const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
		expect(url).toBe('/api/v1/admin/scripts');
		expect(init.method).toBe('POST');
		expect(JSON.parse(init.body as string)).toEqual({ app: 'shop', name: 'hello', source: '"hi"' });
	});

	it('marks the Name field for a taken name', async () => {
		vi.stubGlobal(
			'fetch',
			vi.fn(async () =>
				answer(409, { error: { code: 'conflict', message: 'a script named hello exists' } })
			)
		);
		render(NewScriptForm, { app: 'shop', onCreated: () => {}, onCancel: () => {} });
		await fillAndSave('hello', '"hi"');
		expect(await screen.findByRole('alert')).toHaveTextContent('a script named hello exists');
		expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
	});
});
