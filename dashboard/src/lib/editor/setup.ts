// The script editor: CodeMirror 6 with Rhai, set up once per editor and
// driven by ScriptEditor.svelte through a small handle.

import { closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, lintKeymap, setDiagnostics } from '@codemirror/lint';
import { highlightSelectionMatches, search, searchKeymap } from '@codemirror/search';
import { Annotation, Compartment, EditorState, type Extension } from '@codemirror/state';
import {
	EditorView,
	drawSelection,
	dropCursor,
	highlightActiveLine,
	highlightActiveLineGutter,
	highlightSpecialChars,
	keymap,
	lineNumbers,
	rectangularSelection
} from '@codemirror/view';
import { errorDiagnostics, type SourceError } from './diagnostics';
import { rhai, rhaiHighlight } from './rhai';
import { editorTheme } from './theme';

export interface EditorOptions {
	/** Where the editor goes: a shadow root keeps CodeMirror's styles in
	 *  constructable stylesheets, which the page's CSP allows, where in a
	 *  document it would add <style> elements, which the CSP refuses. */
	parent: Element | DocumentFragment;
	root?: Document | ShadowRoot;
	doc: string;
	readOnly?: boolean;
	/** The accessible name of the editable area. */
	label?: string;
	/** Every change made in the editor (not those made by `setValue`). */
	onChange?: (value: string) => void;
	/** Ctrl-S / Cmd-S in the editor. */
	onSave?: () => void;
}

/** What ScriptEditor needs to drive an editor. */
export interface EditorHandle {
	readonly view: EditorView;
	/** Replaces the text when it differs, without calling onChange. */
	setValue(value: string): void;
	setReadOnly(readOnly: boolean): void;
	/** Shows (or, with null, clears) a script error's marker. */
	setError(error: SourceError | null): void;
	destroy(): void;
}

/** Marks changes that came from outside the editor. */
const external = Annotation.define<boolean>();

/** The document range an input event replaces, from its target range or
 *  else the DOM selection; null when neither is inside the editor. */
function replacedRange(event: InputEvent, view: EditorView): { from: number; to: number } | null {
	const content = view.contentDOM;
	const target = typeof event.getTargetRanges === 'function' ? event.getTargetRanges() : [];
	let ends: [Node, number, Node, number] | null = null;
	if (target.length === 1) {
		const r = target[0];
		ends = [r.startContainer, r.startOffset, r.endContainer, r.endOffset];
	} else {
		const root = view.root as (Document | ShadowRoot) & { getSelection?: () => Selection | null };
		const sel = typeof root.getSelection === 'function' ? root.getSelection() : document.getSelection();
		if (sel?.anchorNode && sel.focusNode) {
			ends = [sel.anchorNode, sel.anchorOffset, sel.focusNode, sel.focusOffset];
		}
	}
	if (!ends || !content.contains(ends[0]) || !content.contains(ends[2])) return null;
	const a = view.posAtDOM(ends[0], ends[1]);
	const b = view.posAtDOM(ends[2], ends[3]);
	return { from: Math.min(a, b), to: Math.max(a, b) };
}

/** Typing over a selection, done by CodeMirror rather than the browser.
 *  Chrome, replacing a selection that starts in highlighted text, keeps
 *  that text's look on what it inserts with a style attribute: the page's
 *  CSP blocks it (harmlessly, CodeMirror redraws the line) but reports a
 *  violation each time. Applying the change here avoids the native edit.
 *  Compositions (IMEs) are left to the browser: they cannot be cancelled. */
export const typeOverSelection: Extension = EditorView.domEventHandlers({
	beforeinput(event, view) {
		if (event.inputType !== 'insertText' || event.isComposing || view.composing) return false;
		const text = event.data;
		const { state } = view;
		if (!text || state.readOnly) return false;
		// What the browser would replace. The editor's own selection may
		// not have caught up with the DOM's yet (a script selecting all and
		// typing at once), and Chrome gives no target ranges in a shadow root.
		const { from, to } = replacedRange(event, view) ?? state.selection.main;
		if (from === to) return false;
		event.preventDefault();
		const { main, ranges } = state.selection;
		const many = ranges.length > 1 && main.from === from && main.to === to;
		const insert = () =>
			many
				? state.update(state.replaceSelection(text), { userEvent: 'input.type', scrollIntoView: true })
				: state.update({
						changes: { from, to, insert: text },
						selection: { anchor: from + text.length },
						userEvent: 'input.type',
						scrollIntoView: true
					});
		// Input handlers first, as for native typing (closeBrackets wraps
		// a selection in the bracket typed).
		const handled =
			!many && state.facet(EditorView.inputHandler).some((h) => h(view, from, to, text, insert));
		if (!handled) view.dispatch(insert());
		return true;
	}
});

function readOnlyExtension(readOnly: boolean): Extension {
	return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
}

function contentAttributes(label: string, invalid: boolean): Extension {
	return EditorView.contentAttributes.of({
		'aria-label': label,
		...(invalid ? { 'aria-invalid': 'true' } : {})
	});
}

export function createEditor(opts: EditorOptions): EditorHandle {
	const label = opts.label ?? 'Source';
	const readOnly = new Compartment();
	const attributes = new Compartment();

	const extensions: Extension[] = [
		lineNumbers(),
		highlightActiveLineGutter(),
		highlightSpecialChars(),
		history(),
		drawSelection(),
		dropCursor(),
		EditorState.allowMultipleSelections.of(true),
		EditorState.tabSize.of(4),
		indentUnit.of('    '),
		indentOnInput(),
		rhai(),
		syntaxHighlighting(rhaiHighlight),
		bracketMatching(),
		closeBrackets(),
		rectangularSelection(),
		highlightActiveLine(),
		highlightSelectionMatches(),
		typeOverSelection,
		search({ top: true }),
		lintGutter(),
		keymap.of([
			{
				key: 'Mod-s',
				preventDefault: true,
				stopPropagation: true,
				run: () => {
					opts.onSave?.();
					return true;
				}
			},
			...closeBracketsKeymap,
			...defaultKeymap,
			...searchKeymap,
			...historyKeymap,
			...lintKeymap,
			indentWithTab
		]),
		EditorView.updateListener.of((update) => {
			if (!update.docChanged || !opts.onChange) return;
			if (update.transactions.some((tr) => tr.annotation(external))) return;
			opts.onChange(update.state.doc.toString());
		}),
		readOnly.of(readOnlyExtension(opts.readOnly ?? false)),
		attributes.of(contentAttributes(label, false)),
		editorTheme
	];

	const view = new EditorView({
		state: EditorState.create({ doc: opts.doc, extensions }),
		parent: opts.parent,
		root: opts.root
	});

	return {
		view,
		setValue(value) {
			const current = view.state.doc.toString();
			if (current === value) return;
			view.dispatch({
				changes: { from: 0, to: current.length, insert: value },
				annotations: external.of(true)
			});
		},
		setReadOnly(ro) {
			view.dispatch({ effects: readOnly.reconfigure(readOnlyExtension(ro)) });
		},
		setError(error) {
			view.dispatch(setDiagnostics(view.state, errorDiagnostics(view.state.doc, error)));
			view.dispatch({ effects: attributes.reconfigure(contentAttributes(label, error !== null)) });
		},
		destroy() {
			view.destroy();
		}
	};
}
