// JSON for people: checking text typed into a form (with where it goes
// wrong, which JSON.parse does not tell the same way in every browser),
// pretty and one-line forms of a value.

/** Where typed JSON went wrong: 0-based `offset`, 1-based `line` and
 *  `column` (in UTF-16 code units, as the textarea counts). */
export interface JsonProblem {
	message: string;
	offset: number;
	line: number;
	column: number;
}

export type JsonCheck = { ok: true; value: unknown } | ({ ok: false } & JsonProblem);

class Stop extends Error {
	constructor(
		message: string,
		readonly offset: number
	) {
		super(message);
	}
}

/** What stands at `i`, for a message: `'}'`, `the end`. */
function what(text: string, i: number): string {
	if (i >= text.length) return 'the end';
	const c = text[i];
	if (c === '\n') return 'a line break';
	if (c === '\t') return 'a tab';
	const code = c.charCodeAt(0);
	if (code < 0x20) return `the control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
	return `'${c}'`;
}

/** Checks `text` against RFC 8259 (one value, any surrounding
 *  whitespace) by recursive descent, and throws a Stop at the first fault. */
function check(text: string): void {
	let i = 0;
	let depth = 0;

	const ws = () => {
		while (i < text.length) {
			const c = text[i];
			if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
			else break;
		}
	};

	const literal = (word: string) => {
		for (let k = 0; k < word.length; k++) {
			if (text[i + k] !== word[k]) {
				throw new Stop(`expected ${word}, found ${what(text, i + k)}`, i + k);
			}
		}
		i += word.length;
	};

	const digits = (context: string) => {
		const start = i;
		while (i < text.length && text[i] >= '0' && text[i] <= '9') i++;
		if (i === start) throw new Stop(`expected a digit ${context}, found ${what(text, i)}`, i);
	};

	const number = () => {
		const minus = text[i] === '-';
		if (minus) i++;
		if (text[i] === '0') {
			i++;
			if (text[i] >= '0' && text[i] <= '9') {
				throw new Stop('a number cannot start with 0 (leading zeros are not JSON)', i - 1);
			}
		} else {
			digits(minus ? "after '-'" : 'in the number');
		}
		if (text[i] === '.') {
			i++;
			digits("after the decimal point '.'");
		}
		if (text[i] === 'e' || text[i] === 'E') {
			i++;
			if (text[i] === '+' || text[i] === '-') i++;
			digits('in the exponent');
		}
	};

	const string = () => {
		const start = i;
		i++; // the opening quote
		for (;;) {
			if (i >= text.length) {
				throw new Stop('this string is never closed: a closing " is missing', start);
			}
			const c = text[i];
			const code = c.charCodeAt(0);
			if (c === '"') {
				i++;
				return;
			}
			if (c === '\\') {
				const e = text[i + 1];
				if (e === 'u') {
					for (let k = 2; k < 6; k++) {
						if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
							throw new Stop('\\u must be followed by four hexadecimal digits', i);
						}
					}
					i += 6;
				} else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
					i += 2;
				} else {
					throw new Stop(
						`invalid escape \\${e ?? ''} in a string (use \\\\ for a backslash)`,
						i
					);
				}
				continue;
			}
			if (code < 0x20) {
				throw new Stop(
					`${what(text, i)} is not allowed inside a string: write it as an escape (\\n, \\t, …)`,
					i
				);
			}
			i++;
		}
	};

	const value = (): void => {
		ws();
		const c = text[i];
		if (c === '{') return object();
		if (c === '[') return array();
		if (c === '"') return string();
		if (c === 't') return literal('true');
		if (c === 'f') return literal('false');
		if (c === 'n') return literal('null');
		if (c === '-' || (c >= '0' && c <= '9')) return number();
		if (c === "'") throw new Stop('strings take double quotes (") in JSON, not single quotes', i);
		throw new Stop(`expected a value, found ${what(text, i)}`, i);
	};

	const enter = () => {
		if (++depth > 512) throw new Stop('nested too deep (more than 512 levels)', i);
	};

	const object = () => {
		enter();
		i++; // {
		ws();
		if (text[i] === '}') {
			i++;
			depth--;
			return;
		}
		for (;;) {
			ws();
			if (text[i] !== '"') {
				const hint = text[i] === '}' ? ' (a comma before } is not allowed)' : '';
				throw new Stop(
					`expected a property name in double quotes, found ${what(text, i)}${hint}`,
					i
				);
			}
			string();
			ws();
			if (text[i] !== ':') throw new Stop(`expected ':' after the property name, found ${what(text, i)}`, i);
			i++;
			value();
			ws();
			if (text[i] === ',') {
				i++;
				continue;
			}
			if (text[i] === '}') {
				i++;
				depth--;
				return;
			}
			throw new Stop(`expected ',' or '}' after a property value, found ${what(text, i)}`, i);
		}
	};

	const array = () => {
		enter();
		i++; // [
		ws();
		if (text[i] === ']') {
			i++;
			depth--;
			return;
		}
		for (;;) {
			ws();
			if (text[i] === ']') throw new Stop('expected a value (a comma before ] is not allowed)', i);
			value();
			ws();
			if (text[i] === ',') {
				i++;
				continue;
			}
			if (text[i] === ']') {
				i++;
				depth--;
				return;
			}
			throw new Stop(`expected ',' or ']' after an array item, found ${what(text, i)}`, i);
		}
	};

	ws();
	if (i >= text.length) throw new Stop('there is no value: write some JSON, e.g. null', i);
	value();
	ws();
	if (i < text.length) {
		throw new Stop(`unexpected ${what(text, i)} after the value: only one value is allowed`, i);
	}
}

/** 1-based line and column of a 0-based offset (CR LF and LF end lines). */
export function positionOf(text: string, offset: number): { line: number; column: number } {
	let line = 1;
	let lineStart = 0;
	for (let k = 0; k < offset && k < text.length; k++) {
		if (text[k] === '\n') {
			line++;
			lineStart = k + 1;
		}
	}
	return { line, column: offset - lineStart + 1 };
}

/** Parses typed JSON; on a fault says what and where. */
export function parseJson(text: string): JsonCheck {
	try {
		check(text);
	} catch (e) {
		if (!(e instanceof Stop)) throw e;
		return { ok: false, message: e.message, offset: e.offset, ...positionOf(text, e.offset) };
	}
	return { ok: true, value: JSON.parse(text) };
}

/** A fault in words: `Invalid JSON at line 2, column 5: expected …`. */
export function describeJsonProblem(p: JsonProblem): string {
	return `Invalid JSON at line ${p.line}, column ${p.column}: ${p.message}.`;
}

/** A value as indented JSON text, for reading and editing. */
export function prettyJson(value: unknown): string {
	return JSON.stringify(value, null, 2) ?? 'null';
}

/** A value on one line, cut to about `max` characters with an ellipsis. */
export function previewJson(value: unknown, max = 60): string {
	const s = JSON.stringify(value) ?? 'null';
	if (s.length <= max) return s;
	// Whole code points, so that no emoji is cut in half.
	return `${Array.from(s.slice(0, max * 2)).slice(0, max - 1).join('')}…`;
}
