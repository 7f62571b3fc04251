import { describe, expect, it } from 'vitest';
import { describeJsonProblem, parseJson, positionOf, prettyJson, previewJson } from './json';

function problem(text: string) {
	const r = parseJson(text);
	if (r.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused`);
	return r;
}

describe('parseJson', () => {
	it('accepts every kind of JSON value, with surrounding whitespace', () => {
		const cases: [string, unknown][] = [
			['null', null],
			[' true ', true],
			['false', false],
			['0', 0],
			['-12.5e+3', -12500],
			['"a \\"b\\" \\u00e9 \\n"', 'a "b" é \n'],
			['[]', []],
			['{}', {}],
			['\r\n{ "a": [1, {"b": null}], "c": "x" }\n', { a: [1, { b: null }], c: 'x' }]
		];
		for (const [text, value] of cases) {
			expect(parseJson(text), text).toEqual({ ok: true, value });
		}
	});

	it('says where a missing comma is, by line and column', () => {
		const p = problem('{\n  "a": 1\n  "b": 2\n}');
		expect(p).toMatchObject({ line: 3, column: 3, offset: 13 });
		expect(p.message).toBe(`expected ',' or '}' after a property value, found '"'`);
		expect(describeJsonProblem(p)).toBe(
			`Invalid JSON at line 3, column 3: expected ',' or '}' after a property value, found '"'.`
		);
	});

	it('explains common mistakes', () => {
		expect(problem('{"a": 1,}')).toMatchObject({ column: 9 });
		expect(problem('{"a": 1,}').message).toContain('a comma before } is not allowed');
		expect(problem('[1, 2,]').message).toContain('a comma before ] is not allowed');
		expect(problem("{'a': 1}").message).toContain('expected a property name in double quotes');
		expect(problem("'a'").message).toContain('double quotes');
		expect(problem('{a: 1}')).toMatchObject({ line: 1, column: 2 });
		expect(problem('"abc')).toMatchObject({ column: 1 });
		expect(problem('"abc').message).toContain('never closed');
		expect(problem('"a\nb"')).toMatchObject({ line: 1, column: 3 });
		expect(problem('"a\\x"').message).toContain('invalid escape \\x');
		expect(problem('"\\u12g4"').message).toContain('four hexadecimal digits');
		expect(problem('01').message).toContain('leading zeros');
		expect(problem('-').message).toBe("expected a digit after '-', found the end");
		expect(problem('1.').message).toContain('decimal point');
		expect(problem('1e').message).toContain('exponent');
		expect(problem('tru').message).toBe('expected true, found the end');
		expect(problem('undefined').message).toBe("expected a value, found 'u'");
		expect(problem('1 2')).toMatchObject({ column: 3 });
		expect(problem('1 2').message).toContain('only one value');
		expect(problem('   ').message).toContain('there is no value');
		expect(problem('[1, 2').message).toBe("expected ',' or ']' after an array item, found the end");
	});

	it('refuses nesting deeper than 512 levels instead of overflowing', () => {
		expect(parseJson('['.repeat(512) + ']'.repeat(512)).ok).toBe(true);
		expect(problem('['.repeat(100_000)).message).toContain('nested too deep');
	});
});

describe('positionOf', () => {
	it('counts lines by LF and columns from 1', () => {
		expect(positionOf('ab', 0)).toEqual({ line: 1, column: 1 });
		expect(positionOf('a\r\nbc', 4)).toEqual({ line: 2, column: 2 });
	});
});

describe('prettyJson and previewJson', () => {
	it('indents by two spaces', () => {
		expect(prettyJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
		expect(prettyJson(null)).toBe('null');
		expect(prettyJson(undefined)).toBe('null');
	});

	it('keeps a preview on one line and cuts it', () => {
		expect(previewJson({ text: 'a\nb' })).toBe('{"text":"a\\nb"}');
		const long = previewJson({ text: 'x'.repeat(100) }, 20);
		expect(long).toBe('{"text":"xxxxxxxxxx…');
		expect(Array.from(long)).toHaveLength(20);
		expect(previewJson('😀'.repeat(30), 5)).toBe('"😀😀😀…');
	});
});
