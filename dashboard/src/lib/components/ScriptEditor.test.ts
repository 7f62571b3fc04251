import { diagnosticCount, forEachDiagnostic } from '@codemirror/lint';
import { EditorView } from '@codemirror/view';
import { render } from '@testing-library/svelte';
import { tick } from 'svelte';
import '$lib/editor/test-dom';
import { describe, expect, it, vi } from 'vitest';
import ScriptEditor from './ScriptEditor.svelte';

/** The CodeMirror view inside the component's shadow root. */
function viewOf(container: HTMLElement): { view: EditorView; root: ShadowRoot } {
	const host = container.querySelector('.editor');
	const root = host?.shadowRoot;
	if (!root) throw new Error('no shadow root');
	const dom = root.querySelector('.cm-editor');
	const view = dom && EditorView.findFromDOM(dom as HTMLElement);
	if (!view) throw new Error('no editor');
	return { view, root };
}

describe('ScriptEditor', () => {
	it('shows the source in CodeMirror, in a shadow root, named Source', () => {
		const { container } = render(ScriptEditor, { value: 'let x = 1;\nx' });
		const { view, root } = viewOf(container);
		expect(view.state.doc.toString()).toBe('let x = 1;\nx');
		const content = root.querySelector('[aria-label="Source"]');
		expect(content).not.toBeNull();
		expect(content).toHaveAttribute('role', 'textbox');
		expect(content).toHaveAttribute('contenteditable', 'true');
		expect(content).not.toHaveAttribute('aria-invalid');
		// Line numbers and Rhai highlighting are on.
		expect(root.querySelector('.cm-lineNumbers')).not.toBeNull();
		expect(root.querySelector('.cm-line span')).not.toBeNull();
		// Nothing in the page's own DOM but the host.
		expect(container.querySelector('.cm-editor')).toBeNull();
	});

	it('reports edits made in the editor, not those from its value', async () => {
		const onChange = vi.fn();
		const { container, rerender } = render(ScriptEditor, { value: 'a', onChange });
		const { view } = viewOf(container);
		view.dispatch({ changes: { from: 1, insert: 'b' } });
		expect(onChange).toHaveBeenCalledExactlyOnceWith('ab');

		await rerender({ value: 'new text', onChange });
		expect(view.state.doc.toString()).toBe('new text');
		expect(onChange).toHaveBeenCalledTimes(1);
	});

	it('is read-only when asked, and can change back', async () => {
		const { container, rerender } = render(ScriptEditor, { value: 'x', readOnly: true });
		const { view, root } = viewOf(container);
		const content = root.querySelector('.cm-content');
		expect(content).toHaveAttribute('contenteditable', 'false');
		expect(view.state.readOnly).toBe(true);
		await rerender({ value: 'x', readOnly: false });
		expect(content).toHaveAttribute('contenteditable', 'true');
		expect(view.state.readOnly).toBe(false);
	});

	it('marks a script error at its line and column, and clears it', async () => {
		const { container, rerender } = render(ScriptEditor, {
			value: 'let x = 1;\nlet y = ;',
			error: { line: 2, column: 9, message: 'Expecting an expression' }
		});
		await tick();
		const { view, root } = viewOf(container);
		expect(diagnosticCount(view.state)).toBe(1);
		const found: [number, number, string, string][] = [];
		forEachDiagnostic(view.state, (d, from, to) => found.push([from, to, d.severity, d.message]));
		expect(found).toEqual([[19, 20, 'error', 'Expecting an expression']]);
		expect(view.state.sliceDoc(19, 20)).toBe(';');
		expect(root.querySelector('.cm-lintRange-error')).toHaveTextContent(';');
		expect(root.querySelector('.cm-lint-marker-error')).not.toBeNull();
		expect(root.querySelector('.cm-content')).toHaveAttribute('aria-invalid', 'true');

		await rerender({ value: 'let x = 1;\nlet y = ;', error: null });
		expect(diagnosticCount(view.state)).toBe(0);
		expect(root.querySelector('.cm-lintRange-error')).toBeNull();
		expect(root.querySelector('.cm-content')).not.toHaveAttribute('aria-invalid');
	});

	it('saves on Ctrl-S in the editor, without the page seeing the key', () => {
		const onSave = vi.fn();
		const outside = vi.fn();
		const { container } = render(ScriptEditor, { value: 'x', onSave });
		window.addEventListener('keydown', outside);
		try {
			const { view } = viewOf(container);
			const event = new KeyboardEvent('keydown', {
				key: 's',
				code: 'KeyS',
				keyCode: 83,
				ctrlKey: true,
				bubbles: true,
				cancelable: true,
				composed: true
			});
			view.contentDOM.dispatchEvent(event);
			expect(onSave).toHaveBeenCalledTimes(1);
			expect(event.defaultPrevented).toBe(true);
			expect(outside).not.toHaveBeenCalled();
		} finally {
			window.removeEventListener('keydown', outside);
		}
	});

	it('types over a selection itself, not leaving it to the browser (CSP)', () => {
		const onChange = vi.fn();
		const { container } = render(ScriptEditor, { value: 'let x = 1;', onChange });
		const { view, root } = viewOf(container);
		const type = (data: string) => {
			const event = new InputEvent('beforeinput', {
				inputType: 'insertText',
				data,
				bubbles: true,
				cancelable: true
			});
			view.contentDOM.dispatchEvent(event);
			return event.defaultPrevented;
		};
		view.dispatch({ selection: { anchor: 0, head: 3 } });
		expect(type('const')).toBe(true);
		expect(view.state.doc.toString()).toBe('const x = 1;');
		expect(onChange).toHaveBeenLastCalledWith('const x = 1;');
		// A bracket typed over a selection wraps it, as when typed natively.
		view.dispatch({ selection: { anchor: 6, head: 7 } });
		expect(type('(')).toBe(true);
		expect(view.state.doc.toString()).toBe('const (x) = 1;');
		// Without a selection, typing stays native.
		view.dispatch({ selection: { anchor: 0 } });
		expect(type('a')).toBe(false);
		expect(view.state.doc.toString()).toBe('const (x) = 1;');
		// A DOM selection the editor has not read yet (select all, then type
		// at once) is what gets replaced. Chrome tells it by the shadow
		// root's getSelection, which jsdom lacks: a stand-in.
		const content = view.contentDOM;
		Object.defineProperty(root, 'getSelection', {
			configurable: true,
			value: () => ({
				anchorNode: content,
				anchorOffset: 0,
				focusNode: content,
				focusOffset: content.childNodes.length
			})
		});
		expect(view.state.selection.main.empty).toBe(true);
		expect(type('"all"')).toBe(true);
		expect(view.state.doc.toString()).toBe('"all"');
	});

	it('destroys the editor with the component', () => {
		const { container, unmount } = render(ScriptEditor, { value: 'x' });
		const { view, root } = viewOf(container);
		const destroy = vi.spyOn(view, 'destroy');
		unmount();
		expect(destroy).toHaveBeenCalled();
		expect(root.querySelector('.cm-editor')).toBeNull();
	});
});
