// Two versions of a script side by side, differences marked: CodeMirror's
// merge view, read-only, with the editor's Rhai highlighting and theme.

import { syntaxHighlighting } from '@codemirror/language';
import { MergeView } from '@codemirror/merge';
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, lineNumbers } from '@codemirror/view';
import { rhai, rhaiHighlight } from './rhai';
import { editorTheme } from './theme';

export interface DiffOptions {
	/** A shadow root, as for the editor (see setup.ts): the page's CSP
	 *  allows CodeMirror's constructable stylesheets there. */
	parent: DocumentFragment | Element;
	root?: Document | ShadowRoot;
	/** The older text (left) and the newer (right). */
	a: string;
	b: string;
	/** The accessible names of the two sides. */
	labelA: string;
	labelB: string;
}

function side(label: string): Extension {
	return [
		lineNumbers(),
		rhai(),
		syntaxHighlighting(rhaiHighlight),
		editorTheme,
		EditorState.readOnly.of(true),
		EditorView.editable.of(false),
		EditorView.contentAttributes.of({ 'aria-label': label })
	];
}

/** Shows the two texts; `destroy` removes the view. */
export function createDiff(o: DiffOptions): MergeView {
	return new MergeView({
		a: { doc: o.a, extensions: side(o.labelA) },
		b: { doc: o.b, extensions: side(o.labelB) },
		parent: o.parent,
		root: o.root,
		gutter: true,
		highlightChanges: true,
		collapseUnchanged: { margin: 3, minSize: 8 }
	});
}
