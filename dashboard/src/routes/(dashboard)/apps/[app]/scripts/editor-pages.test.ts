import '$lib/editor/test-dom';
import { EditorView } from '@codemirror/view';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorResponse, grant, jsonResponse, mockFetchJson, signedInAs, stubFetch } from '$lib/testing';
import ScriptPage from './[id]/+page.svelte';
import NewPage from './new/+page.svelte';

const nav = vi.hoisted(() => ({ goto: vi.fn(async () => {}), beforeNavigate: vi.fn() }));
vi.mock('$app/navigation', () => nav);
vi.mock('$app/state', () => ({ page: { params: { app: 'shop', id: 's1' } } }));
// The activity charts draw on a canvas, which jsdom lacks.
vi.mock('$lib/chart', () => ({ drawChart: () => ({ update() {}, destroy() {} }) }));

const script = {
	id: 's1',
	app_id: 'a',
	name: 'hello',
	source: 'let x = 1;',
	version: 1,
	description: '',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-01-01T00:00:00Z'
};

const NONE = { p50: null, p95: null, p99: null };
const quietHour = {
	window: 'hour',
	step_seconds: 60,
	points: [{ at: '2025-01-01T00:00:00Z', invocations: 0, errors: 0, duration_ms: NONE, operations: NONE }]
};

/** The script page's reads: the script, and its (quiet) activity. */
function serveScript() {
	stubFetch((url) => (url.includes('/usage') ? jsonResponse(200, quietHour) : jsonResponse(200, script)));
}

function editorIn(container: HTMLElement): EditorView {
	const dom = container.querySelector('.editor')?.shadowRoot?.querySelector('.cm-editor');
	const view = dom && EditorView.findFromDOM(dom as HTMLElement);
	if (!view) throw new Error('no editor');
	return view;
}

afterEach(() => {
	nav.goto.mockClear();
});

describe('the new script page', () => {
	it('creates the script, then replaces itself with its page', async () => {
		signedInAs('member', [grant('editor')]);
		mockFetchJson(201, script);
		const { container } = render(NewPage);
		await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'hello' } });
		const view = editorIn(container);
		view.dispatch({ changes: { from: 0, insert: 'let x = 1;' } });
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		await vi.waitFor(() =>
			expect(nav.goto).toHaveBeenCalledWith('/admin/apps/shop/scripts/s1', { replaceState: true })
		);
		// Nothing left unsaved: leaving is not held up.
		const guard = nav.beforeNavigate.mock.calls.at(-1)?.[0] as (n: unknown) => void;
		const cancel = vi.fn();
		guard({ type: 'goto', cancel });
		expect(cancel).not.toHaveBeenCalled();
	});

	it('tells a viewer they cannot create scripts', () => {
		signedInAs('member', [grant('viewer')]);
		render(NewPage);
		expect(screen.getByText(/not create them/)).toBeInTheDocument();
		expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
	});
});

describe('the script page', () => {
	it('loads the script into the editor beside the test runner', async () => {
		signedInAs('member', [grant('editor')]);
		serveScript();
		const { container } = render(ScriptPage);
		expect(await screen.findByRole('heading', { level: 1, name: 'hello' })).toBeInTheDocument();
		expect(editorIn(container).state.doc.toString()).toBe('let x = 1;');
		expect(screen.getByText('Version 1')).toBeInTheDocument();
		expect(screen.getByRole('button', { name: 'Save' })).toBeInTheDocument();
		expect(screen.getByRole('button', { name: 'Run' })).toBeInTheDocument();
		expect(screen.getByRole('link', { name: 'Executions' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s1/executions'
		);
		expect(screen.getByRole('link', { name: 'History' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s1/history'
		);
	});

	it('asks before leaving with unsaved changes', async () => {
		signedInAs('member', [grant('editor')]);
		serveScript();
		const { container } = render(ScriptPage);
		await screen.findByRole('heading', { level: 1, name: 'hello' });
		editorIn(container).dispatch({ changes: { from: 0, insert: '// ' } });
		await screen.findByText('Unsaved changes');
		const guard = nav.beforeNavigate.mock.calls.at(-1)?.[0] as (n: unknown) => void;
		const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
		const cancel = vi.fn();
		guard({ type: 'link', cancel });
		expect(confirm).toHaveBeenCalled();
		expect(cancel).toHaveBeenCalled();
	});

	it('is read-only for a viewer, who can still run it', async () => {
		signedInAs('member', [grant('viewer')]);
		serveScript();
		const { container } = render(ScriptPage);
		await screen.findByRole('heading', { level: 1, name: 'hello' });
		expect(editorIn(container).state.readOnly).toBe(true);
		expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
		expect(screen.getByRole('button', { name: 'Run' })).toBeInTheDocument();
	});

	it('says why a script cannot be loaded', async () => {
		signedInAs('member', [grant('editor')]);
		stubFetch(() => errorResponse(404, 'not_found', 'no such script'));
		render(ScriptPage);
		expect(await screen.findByRole('alert')).toHaveTextContent('no such script');
	});
});
