import { Text } from '@codemirror/state';
import { describe, expect, it } from 'vitest';
import { errorDiagnostics, positionAt } from './diagnostics';

const doc = Text.of(['let x = 1;', 'fn f(a {', '', '  "😀" + y']);

describe('positionAt', () => {
	it('turns a 1-based line and column into a document offset', () => {
		expect(positionAt(doc, 1, 1)).toBe(0);
		expect(positionAt(doc, 1, 9)).toBe(8);
		expect(positionAt(doc, 2, 1)).toBe(11);
		expect(positionAt(doc, 2, 8)).toBe(18);
		expect(doc.sliceString(positionAt(doc, 2, 8), positionAt(doc, 2, 8) + 1)).toBe('{');
	});

	it('counts a character outside the BMP as one column', () => {
		// Line 4: two spaces, a quote, the emoji (two UTF-16 units), a quote.
		const quote = positionAt(doc, 4, 5);
		expect(doc.sliceString(quote, quote + 1)).toBe('"');
		const plus = positionAt(doc, 4, 7);
		expect(doc.sliceString(plus, plus + 1)).toBe('+');
	});

	it('clamps to the document: lines, columns, and nonsense', () => {
		expect(positionAt(doc, 1, 99)).toBe(10); // end of line 1
		expect(positionAt(doc, 3, 5)).toBe(positionAt(doc, 3, 1)); // an empty line
		expect(positionAt(doc, 99, 1)).toBe(doc.line(4).from); // past the last line
		expect(positionAt(doc, 99, 999)).toBe(doc.length);
		expect(positionAt(doc, 0, 0)).toBe(0);
		expect(positionAt(doc, -3, -3)).toBe(0);
		expect(positionAt(doc, Number.NaN, Number.NaN)).toBe(0);
		expect(positionAt(doc, 2)).toBe(11); // no column: the line's start
		expect(positionAt(Text.of(['']), 5, 5)).toBe(0);
	});
});

describe('errorDiagnostics', () => {
	it('is empty without an error', () => {
		expect(errorDiagnostics(doc, null)).toEqual([]);
	});

	it('marks the word at the position as an error with the message', () => {
		expect(errorDiagnostics(doc, { line: 1, column: 5, message: 'bad' })).toEqual([
			{ from: 4, to: 5, severity: 'error', source: 'compile', message: 'bad' }
		]);
		const [d] = errorDiagnostics(doc, { line: 4, column: 9, message: 'unknown' });
		expect(doc.sliceString(d.from, d.to)).toBe('y');
	});

	it('marks one character of punctuation, a whole emoji, and a point at a line end', () => {
		const [brace] = errorDiagnostics(doc, { line: 2, column: 8, message: 'm' });
		expect(doc.sliceString(brace.from, brace.to)).toBe('{');
		const [emoji] = errorDiagnostics(doc, { line: 4, column: 4, message: 'm' });
		expect(doc.sliceString(emoji.from, emoji.to)).toBe('😀');
		const [end] = errorDiagnostics(doc, { line: 2, column: 40, message: 'm' });
		expect(end.from).toBe(doc.line(2).to);
		expect(end.to).toBe(end.from);
	});
});
