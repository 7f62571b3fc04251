import { diagnosticCount, forEachDiagnostic } from '@codemirror/lint';
import { EditorView } from '@codemirror/view';
import { fireEvent, render, screen } from '@testing-library/svelte';
import '$lib/editor/test-dom';
import { describe, expect, it, vi } from 'vitest';
import {
	errorResponse,
	jsonResponse,
	mockFetchOffline,
	mockFetchSequence,
	type FetchCall
} from '$lib/testing';
import type { Script } from '$lib/types';
import ScriptEditorForm from './ScriptEditorForm.svelte';

/** The JSON request of a recorded call. */
function sent({ url, init }: FetchCall) {
	return { url, method: init.method, body: JSON.parse(String(init.body)) };
}

const script: Script = {
	id: 's1',
	app_id: 'a',
	name: 'hello',
	source: '"hi"',
	version: 3,
	description: 'says hi',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-01-01T00:00:00Z'
};

function editor(container: HTMLElement): EditorView {
	const dom = container.querySelector('.editor')?.shadowRoot?.querySelector('.cm-editor');
	const view = dom && EditorView.findFromDOM(dom as HTMLElement);
	if (!view) throw new Error('no editor');
	return view;
}

/** Types into CodeMirror as a user would (a transaction from the view). */
function typeSource(view: EditorView, text: string) {
	view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, userEvent: 'input' });
}

describe('ScriptEditorForm, new script', () => {
	it('marks a compile error in the source and says it, then creates the script', async () => {
		const created = { ...script, version: 1, source: 'let x = 1;\nx', description: '' };
		const calls = mockFetchSequence(
			errorResponse(400, 'compile_error', 'Expecting an expression', { line: 2, column: 9 }),
			jsonResponse(201, created)
		);
		const onCreated = vi.fn();
		const { container } = render(ScriptEditorForm, { app: 'shop', onCreated });
		const view = editor(container);

		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: ' hello ' } });
		typeSource(view, 'let x = 1;\nlet y = ;');
		expect(await screen.findByText('Unsaved changes')).toBeInTheDocument();
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));

		const alert = await screen.findByRole('alert');
		expect(alert).toHaveTextContent('Compile error at line 2, column 9: Expecting an expression');
		expect(sent(calls[0])).toEqual({
			url: '/api/v1/admin/scripts',
			method: 'POST',
			body: { app: 'shop', name: 'hello', source: 'let x = 1;\nlet y = ;' }
		});
		await vi.waitFor(() => expect(diagnosticCount(view.state)).toBe(1));
		forEachDiagnostic(view.state, (d, from) => {
			expect(d.severity).toBe('error');
			expect(view.state.doc.lineAt(from).number).toBe(2);
			expect(from - view.state.doc.line(2).from).toBe(8);
		});
		expect(onCreated).not.toHaveBeenCalled();

		typeSource(view, 'let x = 1;\nx');
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		await vi.waitFor(() => expect(onCreated).toHaveBeenCalledWith(created));
		expect(sent(calls[1]).body).toEqual({ app: 'shop', name: 'hello', source: 'let x = 1;\nx' });
		expect(diagnosticCount(view.state)).toBe(0);
		expect(screen.queryByRole('alert')).toBeNull();
	});

	it('says what is wrong with a taken name, on the Name field', async () => {
		mockFetchSequence(errorResponse(409, 'conflict', 'a script named hello exists'));
		const { container } = render(ScriptEditorForm, { app: 'shop' });
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'hello' } });
		typeSource(editor(container), '"hi"');
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		expect(await screen.findByRole('alert')).toHaveTextContent('a script named hello exists');
		expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
		expect(diagnosticCount(editor(container).state)).toBe(0);
	});

	it('says when the server cannot be reached', async () => {
		mockFetchOffline();
		render(ScriptEditorForm, { app: 'shop' });
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'x' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		expect(await screen.findByRole('alert')).toHaveTextContent('Could not reach the server');
	});
});

describe('ScriptEditorForm, existing script', () => {
	it('shows the version and a read-only name, deploys a new version on save', async () => {
		const calls = mockFetchSequence(
			jsonResponse(200, { ...script, source: '"hello"', version: 4 })
		);
		const onSaved = vi.fn();
		const { container } = render(ScriptEditorForm, { app: 'shop', script, onSaved });
		const view = editor(container);
		expect(view.state.doc.toString()).toBe('"hi"');
		expect(screen.getByLabelText('Name')).toHaveValue('hello');
		expect(screen.getByLabelText('Name')).toHaveAttribute('readonly');
		expect(screen.getByLabelText(/Description/)).toHaveValue('says hi');
		expect(screen.getByText('Version 3')).toBeInTheDocument();
		expect(screen.queryByText('Unsaved changes')).toBeNull();

		typeSource(view, '"hello"');
		expect(await screen.findByText('Unsaved changes')).toBeInTheDocument();
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));

		expect(await screen.findByText('Version 4')).toBeInTheDocument();
		expect(sent(calls[0])).toEqual({
			url: '/api/v1/admin/scripts/s1',
			method: 'PUT',
			body: { source: '"hello"', description: 'says hi' }
		});
		expect(onSaved).toHaveBeenCalledOnce();
		expect(screen.getByRole('status')).toHaveTextContent('Saved: the new version is live.');
		expect(screen.queryByText('Unsaved changes')).toBeNull();
	});

	it('saves with Ctrl-S from a field, and only when something changed', async () => {
		const calls = mockFetchSequence(
			jsonResponse(200, { ...script, description: 'new', version: 4 })
		);
		render(ScriptEditorForm, { app: 'shop', script });
		const description = screen.getByLabelText(/Description/);

		await fireEvent.keyDown(description, { key: 's', ctrlKey: true });
		expect(calls).toHaveLength(0);
		expect(screen.getByRole('status')).toHaveTextContent('Nothing changed since the last save.');

		await fireEvent.input(description, { target: { value: 'new' } });
		await fireEvent.keyDown(description, { key: 's', ctrlKey: true });
		expect(await screen.findByText('Version 4')).toBeInTheDocument();
		expect(sent(calls[0]).body).toEqual({ source: '"hi"', description: 'new' });
	});

	it('for a viewer: nothing editable and no Save', async () => {
		const calls = mockFetchSequence();
		const { container } = render(ScriptEditorForm, { app: 'shop', script, readOnly: true });
		const view = editor(container);
		expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
		expect(view.state.readOnly).toBe(true);
		expect(view.contentDOM).toHaveAttribute('contenteditable', 'false');
		expect(screen.getByLabelText(/Description/)).toHaveAttribute('readonly');
		expect(screen.getByText('Version 3')).toBeInTheDocument();
		await fireEvent.keyDown(window, { key: 's', ctrlKey: true });
		expect(calls).toHaveLength(0);
	});
});
