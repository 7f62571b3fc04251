// Where a script error the server reports (1-based line and column) is
// in a CodeMirror document, as a lint diagnostic.

import type { Diagnostic } from '@codemirror/lint';
import type { Text } from '@codemirror/state';

/** An error at a place in the source, as the server reports it. */
export interface SourceError {
	/** 1-based line. */
	line: number;
	/** 1-based column, in characters (Rhai counts code points); absent = 1. */
	column?: number;
	message: string;
}

function whole(n: number | undefined, fallback: number): number {
	return n !== undefined && Number.isFinite(n) ? Math.max(1, Math.floor(n)) : fallback;
}

/** The document offset of a 1-based line and column, clamped to the
 *  document: a line past the end is the last line, a column past the end
 *  of its line is the line's end. Columns count code points, so a
 *  character outside the BMP (two UTF-16 units) is one column. */
export function positionAt(doc: Text, line: number, column = 1): number {
	const l = doc.line(Math.min(whole(line, 1), doc.lines));
	let col = whole(column, 1);
	let offset = 0;
	for (const ch of l.text) {
		if (col <= 1) break;
		offset += ch.length;
		col--;
	}
	return l.from + offset;
}

/** The lint diagnostics for a script error: none without one; else one
 *  error from its position over the word there (or one character; a
 *  point at the end of a line). */
export function errorDiagnostics(doc: Text, error: SourceError | null): Diagnostic[] {
	if (!error) return [];
	const from = positionAt(doc, error.line, error.column);
	const line = doc.lineAt(from);
	const rest = line.text.slice(from - line.from);
	const word = /^[A-Za-z0-9_]+|^\S/u.exec(rest);
	return [
		{
			from,
			to: from + (word ? word[0].length : 0),
			severity: 'error',
			source: 'compile',
			message: error.message
		}
	];
}
