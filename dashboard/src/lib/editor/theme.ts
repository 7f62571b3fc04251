// The editor's look: the dashboard's CSS variables (light and dark follow
// app.css), so nothing here knows which scheme is on. CodeMirror mounts it
// as a constructable stylesheet in the editor's shadow root.
//
// Two of CodeMirror's own rules draw with `data:` SVG images (the lint
// underline and gutter marker), which the page's `img-src 'self'` refuses:
// they are redrawn here with CSS alone.

import { EditorView } from '@codemirror/view';

const mono = "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace";
const tint = (color: string, pct: number) => `color-mix(in srgb, ${color} ${pct}%, transparent)`;

export const editorTheme = EditorView.theme({
	'&': {
		height: '100%',
		color: 'var(--fg)',
		backgroundColor: 'var(--bg)',
		fontSize: '0.9rem',
		border: '1px solid var(--line)',
		borderRadius: 'var(--radius, 6px)'
	},
	'&.cm-focused': {
		outline: '3px solid var(--focus)',
		outlineOffset: '2px'
	},
	'.cm-scroller': {
		fontFamily: mono,
		lineHeight: '1.45',
		overflow: 'auto'
	},
	'.cm-content': { caretColor: 'var(--fg)' },
	'.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--fg)' },
	'&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection':
		{ backgroundColor: tint('var(--focus)', 30) },
	'.cm-gutters': {
		backgroundColor: 'var(--card)',
		color: 'var(--muted)',
		borderRight: '1px solid var(--line)',
		borderRadius: 'var(--radius, 6px) 0 0 var(--radius, 6px)'
	},
	'.cm-activeLine': { backgroundColor: tint('var(--fg)', 5) },
	'.cm-activeLineGutter': { backgroundColor: tint('var(--fg)', 8), color: 'var(--fg)' },
	'&.cm-focused .cm-matchingBracket': {
		backgroundColor: tint('var(--accent)', 20),
		outline: '1px solid var(--accent)'
	},
	'&.cm-focused .cm-nonmatchingBracket': {
		backgroundColor: tint('var(--danger)', 20),
		color: 'var(--danger)'
	},
	'.cm-searchMatch': {
		backgroundColor: tint('var(--accent)', 20),
		outline: '1px solid var(--accent)'
	},
	'.cm-searchMatch.cm-searchMatch-selected': { backgroundColor: tint('var(--accent)', 40) },
	'.cm-selectionMatch': { backgroundColor: tint('var(--focus)', 15) },
	'.cm-panels': { backgroundColor: 'var(--card)', color: 'var(--fg)' },
	'.cm-panels.cm-panels-top': { borderBottom: '1px solid var(--line)' },
	'.cm-panels.cm-panels-bottom': { borderTop: '1px solid var(--line)' },
	'.cm-panel input, .cm-panel button, .cm-panel label': { fontSize: '0.85rem' },
	'.cm-textfield': {
		backgroundColor: 'var(--bg)',
		color: 'var(--fg)',
		border: '1px solid var(--line)',
		borderRadius: '4px'
	},
	'.cm-button': {
		backgroundImage: 'none',
		backgroundColor: 'var(--card)',
		color: 'var(--fg)',
		border: '1px solid var(--line)',
		borderRadius: '4px'
	},
	'.cm-tooltip': {
		backgroundColor: 'var(--card)',
		color: 'var(--fg)',
		border: '1px solid var(--line)'
	},
	'.cm-diagnostic-error': { borderLeft: '5px solid var(--danger)' },
	'.cm-lintRange-error': {
		backgroundImage: 'none',
		textDecoration: 'underline wavy var(--danger)',
		textDecorationSkipInk: 'none',
		textUnderlineOffset: '3px',
		backgroundColor: tint('var(--danger)', 12)
	},
	'.cm-lintPoint:after': { borderBottomColor: 'var(--danger)' },
	'.cm-lint-marker-error': {
		content: 'normal',
		boxSizing: 'border-box',
		width: '0.8em',
		height: '0.8em',
		marginTop: '0.2em',
		borderRadius: '50%',
		backgroundColor: 'var(--danger)'
	},
	'.cm-lint-marker-warning, .cm-lint-marker-info': {
		content: 'normal',
		width: '0.8em',
		height: '0.8em',
		backgroundColor: 'var(--muted)'
	}
});
