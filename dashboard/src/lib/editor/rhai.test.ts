import { ensureSyntaxTree, StringStream } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import { highlightTree } from '@lezer/highlight';
import { describe, expect, it, vi } from 'vitest';
import { KEYWORDS, rhai, rhaiHighlight, rhaiParser, type RhaiState } from './rhai';

/** The non-blank tokens of `src`, each with its style, lines in order. */
function tokens(src: string, state: RhaiState = rhaiParser.startState!(4)): [string, string][] {
	const out: [string, string][] = [];
	for (const line of src.split('\n')) {
		const stream = new StringStream(line, 4, 4);
		while (!stream.eol()) {
			stream.start = stream.pos;
			const style = rhaiParser.token(stream, state);
			expect(stream.pos, `advanced in ${JSON.stringify(line)}`).toBeGreaterThan(stream.start);
			if (style !== null) out.push([stream.current(), style]);
		}
	}
	return out;
}

function styleOf(src: string, text: string): string | undefined {
	return tokens(src).find(([t]) => t === text)?.[1];
}

describe('the Rhai tokenizer', () => {
	it('styles every keyword as a keyword, true/false as bools, this as self', () => {
		for (const k of KEYWORDS) {
			const want = k === 'true' || k === 'false' ? 'bool' : k === 'this' ? 'self' : 'keyword';
			expect(tokens(k), k).toEqual([[k, want]]);
		}
		expect(KEYWORDS.size).toBe(25);
		// Not keywords: identifiers that contain or resemble one.
		expect(tokens('letter iff')).toEqual([
			['letter', 'variableName'],
			['iff', 'variableName']
		]);
	});

	it('styles numbers in every base, floats and exponents, and not ranges', () => {
		expect(tokens('42 1_000 0xff_FF 0o17 0b1010 3.25 1e10 2.5e-3')).toEqual(
			['42', '1_000', '0xff_FF', '0o17', '0b1010', '3.25', '1e10', '2.5e-3'].map((n) => [n, 'number'])
		);
		expect(tokens('1..5')).toEqual([
			['1', 'number'],
			['..', 'operator'],
			['5', 'number']
		]);
	});

	it('styles strings with escapes as one token, and a \\ continues one on the next line', () => {
		expect(tokens('let s = "a \\" b \\\\";')).toEqual([
			['let', 'keyword'],
			['s', 'variableName'],
			['=', 'operator'],
			['"a \\" b \\\\"', 'string'],
			[';', 'punctuation']
		]);
		expect(tokens('"one \\\n two" + x')).toEqual([
			['"one \\', 'string'],
			[' two"', 'string'],
			['+', 'operator'],
			['x', 'variableName']
		]);
	});

	it('styles template strings, their ${…} code, and keeps them open across lines', () => {
		expect(tokens('`hi ${name + "!"} ${#{a: 1}.a}`')).toEqual([
			['`hi ', 'string.special'],
			['${', 'meta'],
			['name', 'variableName'],
			['+', 'operator'],
			['"!"', 'string'],
			['}', 'meta'],
			[' ', 'string.special'],
			['${', 'meta'],
			['#{', 'brace'],
			['a', 'variableName'],
			[':', 'punctuation'],
			['1', 'number'],
			['}', 'brace'],
			['.', 'punctuation'],
			['a', 'propertyName'],
			['}', 'meta'],
			['`', 'string.special']
		]);
		expect(tokens('`line one\nlet two`; let x')).toEqual([
			['`line one', 'string.special'],
			['let two`', 'string.special'],
			[';', 'punctuation'],
			['let', 'keyword'],
			['x', 'variableName']
		]);
	});

	it('styles characters, and a stray quote as invalid', () => {
		expect(tokens("'a' '\\n' '\\u{1F600}' 'ab")).toEqual([
			["'a'", 'character'],
			["'\\n'", 'character'],
			["'\\u{1F600}'", 'character'],
			["'", 'invalid'],
			['ab', 'variableName']
		]);
	});

	it('styles line and (nested, multi-line) block comments', () => {
		expect(tokens('x // let "no"')).toEqual([
			['x', 'variableName'],
			['// let "no"', 'lineComment']
		]);
		expect(tokens('/* a /* b */ still\n comment */ let')).toEqual([
			['/* a /* b */ still', 'blockComment'],
			[' comment */', 'blockComment'],
			['let', 'keyword']
		]);
		// `/` alone is division, not a comment.
		expect(styleOf('a / b', '/')).toBe('operator');
	});

	it('styles operators, functions, namespaces and properties', () => {
		expect(tokens('fn add(a, b) { a += b ?? 0; kv::collection("x").get(a.len) }')).toEqual([
			['fn', 'keyword'],
			['add', 'variableName.function.definition'],
			['(', 'paren'],
			['a', 'variableName'],
			[',', 'separator'],
			['b', 'variableName'],
			[')', 'paren'],
			['{', 'brace'],
			['a', 'variableName'],
			['+=', 'operator'],
			['b', 'variableName'],
			['??', 'operator'],
			['0', 'number'],
			[';', 'punctuation'],
			['kv', 'namespace'],
			['::', 'punctuation'],
			['collection', 'variableName.function'],
			['(', 'paren'],
			['"x"', 'string'],
			[')', 'paren'],
			['.', 'punctuation'],
			['get', 'variableName.function'],
			['(', 'paren'],
			['a', 'variableName'],
			['.', 'punctuation'],
			['len', 'propertyName'],
			[')', 'paren'],
			['}', 'brace']
		]);
		expect(tokens('a == b && c != d || !e ..= f => g')).toEqual([
			['a', 'variableName'],
			['==', 'operator'],
			['b', 'variableName'],
			['&&', 'operator'],
			['c', 'variableName'],
			['!=', 'operator'],
			['d', 'variableName'],
			['||', 'operator'],
			['!', 'operator'],
			['e', 'variableName'],
			['..=', 'operator'],
			['f', 'variableName'],
			['=>', 'operator'],
			['g', 'variableName']
		]);
	});

	it('indents by open brackets, one level less before a closing one', () => {
		const state = rhaiParser.startState!(4);
		tokens('fn f() {\n    let m = #{', state);
		expect(rhaiParser.indent!(state, 'a: 1', { unit: 4 })).toBe(8);
		expect(rhaiParser.indent!(state, '}', { unit: 4 })).toBe(4);
	});

	it('gives CodeMirror tags that the highlight style knows (no unknown names)', () => {
		const warn = vi.spyOn(console, 'warn');
		const doc = 'let x = 1; // c\nfn f(a) { `t ${a}` + kv::get("s") }';
		const state = EditorState.create({ doc, extensions: [rhai()] });
		const tree = ensureSyntaxTree(state, doc.length, 5000);
		expect(tree).not.toBeNull();
		const styled: Record<string, string> = {};
		highlightTree(tree!, rhaiHighlight, (from, to, classes) => {
			styled[doc.slice(from, to)] = classes;
		});
		expect(warn).not.toHaveBeenCalled();
		for (const text of ['let', 'fn', '1', '// c', '"s"', 'f', 'get', 'kv']) {
			expect(styled[text], text).toMatch(/\S/);
		}
		// Keywords and strings look different.
		expect(styled['let']).not.toBe(styled['"s"']);
	});
});
