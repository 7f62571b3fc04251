// Rhai for CodeMirror 6: a small stream tokenizer (enough to highlight,
// match brackets and indent; not a parser) and a highlight style that
// follows the dashboard's light and dark colours.

import {
	HighlightStyle,
	LanguageSupport,
	StreamLanguage,
	type StreamParser,
	type StringStream
} from '@codemirror/language';
import { tags as t } from '@lezer/highlight';

/** Rhai's keywords (`true`, `false` and `this` are tokenized apart, as a
 *  bool and `self`, but they are reserved words all the same). */
export const KEYWORDS: ReadonlySet<string> = new Set([
	'let',
	'const',
	'fn',
	'if',
	'else',
	'while',
	'loop',
	'for',
	'in',
	'do',
	'until',
	'break',
	'continue',
	'return',
	'throw',
	'try',
	'catch',
	'switch',
	'import',
	'export',
	'as',
	'private',
	'this',
	'true',
	'false'
]);

/** Where the tokenizer is between tokens, carried from line to line. */
export interface RhaiState {
	/** Nesting depth of `/* … *\/` comments (Rhai's nest); 0 outside. */
	comment: number;
	/** Inside a "…" string continued on the next line with a final `\`. */
	string: boolean;
	/** Back-tick strings and their `${…}` interpolations, innermost last:
	 *  'template' while in the text, a number (open braces) while in code. */
	nest: ('template' | number)[];
	/** Open brackets outside strings, for indentation. */
	depth: number;
	/** The previous significant token, to tell `fn name` and `.prop`. */
	prev: string;
}

function startState(): RhaiState {
	return { comment: 0, string: false, nest: [], depth: 0, prev: '' };
}

function copyState(s: RhaiState): RhaiState {
	return { ...s, nest: [...s.nest] };
}

/** Skips the rest of a block comment; `state.comment` is its depth. */
function blockComment(stream: StringStream, state: RhaiState): string {
	while (!stream.eol()) {
		if (stream.match('/*')) state.comment++;
		else if (stream.match('*/')) {
			state.comment--;
			if (state.comment === 0) break;
		} else stream.next();
	}
	return 'blockComment';
}

/** Skips the rest of a "…" string; a final `\` continues it on the next line. */
function doubleQuoted(stream: StringStream, state: RhaiState): string {
	state.string = false;
	while (!stream.eol()) {
		const ch = stream.next();
		if (ch === '"') return 'string';
		if (ch === '\\') {
			if (stream.eol()) {
				state.string = true;
				return 'string';
			}
			stream.next();
		}
	}
	return 'string';
}

/** Back-tick text up to `${`, the closing back-tick or the end of the line. */
function templateText(stream: StringStream, state: RhaiState): string {
	if (stream.pos === stream.start && stream.match('${')) {
		state.nest.push(0);
		return 'meta';
	}
	while (!stream.eol()) {
		if (stream.peek() === '`') {
			stream.next();
			state.nest.pop();
			return 'string.special';
		}
		if (stream.match('${', false)) break;
		stream.next();
	}
	return 'string.special';
}

const CHAR = /^'(?:\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[^])|[^'\\])'/;
const NUMBER =
	/^(?:0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9]+)?)/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATOR = /^(?:\.\.=|\.\.|\?\?|\?\.|=>|->|\*\*=?|<<=?|>>=?|&&|\|\||[-+*/%&|^=!<>]=?|[~?])/;

function code(stream: StringStream, state: RhaiState): string | null {
	if (stream.eatSpace()) return null;

	if (stream.match('//')) {
		stream.skipToEnd();
		return 'lineComment';
	}
	if (stream.match('/*')) {
		state.comment = 1;
		return blockComment(stream, state);
	}

	const ch = stream.peek();
	if (ch === '"') {
		stream.next();
		return doubleQuoted(stream, state);
	}
	if (ch === '`') {
		stream.next();
		state.nest.push('template');
		return templateText(stream, state);
	}
	if (ch === "'") {
		if (stream.match(CHAR)) return 'character';
		stream.next();
		return 'invalid';
	}
	if (stream.match(NUMBER)) return 'number';

	const word = stream.match(IDENT);
	if (word) {
		const w = (word as RegExpMatchArray)[0];
		if (w === 'true' || w === 'false') return 'bool';
		if (w === 'this') return 'self';
		if (KEYWORDS.has(w)) return 'keyword';
		if (state.prev === 'fn') return 'variableName.function.definition';
		if (stream.match('::', false)) return 'namespace';
		if (stream.match(/^\s*\(/, false)) return 'variableName.function';
		if (state.prev === '.' || state.prev === '?.') return 'propertyName';
		return 'variableName';
	}

	// `#{` opens an object map.
	if (stream.match('#{')) {
		state.depth++;
		bumpBrace(state, 1);
		return 'brace';
	}
	const open = stream.eat(/[([{]/);
	if (open) {
		state.depth++;
		if (open === '{') bumpBrace(state, 1);
		return open === '(' ? 'paren' : open === '[' ? 'squareBracket' : 'brace';
	}
	const close = stream.eat(/[)\]}]/);
	if (close) {
		// The `}` that ends a template's `${…}` goes back to its text.
		if (close === '}' && state.nest[state.nest.length - 1] === 0) {
			state.nest.pop();
			return 'meta';
		}
		state.depth = Math.max(0, state.depth - 1);
		if (close === '}') bumpBrace(state, -1);
		return close === ')' ? 'paren' : close === ']' ? 'squareBracket' : 'brace';
	}
	if (stream.match('::')) return 'punctuation';
	if (stream.eat(',')) return 'separator';
	if (stream.eat(';')) return 'punctuation';
	if (stream.match(OPERATOR)) return 'operator';
	if (stream.eat(/[.:@#$]/)) return 'punctuation';
	stream.next();
	return 'invalid';
}

/** Counts braces inside the innermost `${…}`, so that only its own `}` ends it. */
function bumpBrace(state: RhaiState, by: number): void {
	const i = state.nest.length - 1;
	const top = state.nest[i];
	if (typeof top === 'number') state.nest[i] = top + by;
}

export const rhaiParser: StreamParser<RhaiState> = {
	name: 'rhai',
	startState,
	copyState,
	token(stream, state) {
		let style: string | null;
		if (state.comment > 0) style = blockComment(stream, state);
		else if (state.string) style = doubleQuoted(stream, state);
		else if (state.nest[state.nest.length - 1] === 'template') style = templateText(stream, state);
		else style = code(stream, state);
		if (style !== null && !/Comment$/.test(style)) state.prev = stream.current();
		return style;
	},
	indent(state, textAfter, context) {
		if (state.comment > 0 || state.string || state.nest.length > 0) return null;
		const closing = /^\s*[)\]}]/.test(textAfter) ? 1 : 0;
		return Math.max(0, state.depth - closing) * context.unit;
	},
	languageData: {
		commentTokens: { line: '//', block: { open: '/*', close: '*/' } },
		closeBrackets: { brackets: ['(', '[', '{', '"', '`'] },
		indentOnInput: /^\s*[)\]}]$/
	}
};

/** The Rhai language for CodeMirror. */
export const rhaiLanguage = StreamLanguage.define(rhaiParser);

/** Rhai support: the language, for an editor's extensions. */
export function rhai(): LanguageSupport {
	return new LanguageSupport(rhaiLanguage);
}

/** Token colours: CSS variables (set by ScriptEditor for light and dark),
 *  with the dashboard's own colours where they fit. */
export const rhaiHighlight = HighlightStyle.define([
	{ tag: [t.keyword, t.self], color: 'var(--cm-keyword, var(--accent))', fontWeight: '600' },
	{ tag: [t.bool, t.number], color: 'var(--cm-number, var(--fg))' },
	{ tag: [t.string, t.special(t.string), t.character], color: 'var(--cm-string, var(--fg))' },
	{ tag: t.meta, color: 'var(--cm-keyword, var(--accent))' },
	{ tag: [t.lineComment, t.blockComment], color: 'var(--muted)', fontStyle: 'italic' },
	{
		tag: [t.function(t.variableName), t.function(t.definition(t.variableName))],
		color: 'var(--cm-function, var(--focus))'
	},
	{ tag: t.namespace, color: 'var(--cm-namespace, var(--fg))' },
	{ tag: t.propertyName, color: 'var(--cm-property, var(--fg))' },
	{ tag: t.operator, color: 'var(--cm-operator, var(--fg))' },
	{ tag: t.invalid, color: 'var(--danger)', textDecoration: 'underline wavy' }
]);
