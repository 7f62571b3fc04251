// The test runner's logic, apart from its component: reading the headers
// field, showing a body, and finding the record of a run.

import { listExecutions } from '$lib/api';
import type { Execution } from '$lib/types';

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The Headers field: one `Name: value` a line, blank lines skipped.
 *  Throws an Error naming the first line that is not one. */
export function parseHeaders(text: string): [string, string][] {
	const out: [string, string][] = [];
	text.split(/\r?\n/).forEach((raw, i) => {
		const line = raw.trim();
		if (line === '') return;
		const colon = line.indexOf(':');
		const name = colon < 0 ? '' : line.slice(0, colon).trim();
		if (!TOKEN.test(name)) {
			throw new Error(`Headers line ${i + 1} is not "Name: value": ${line}`);
		}
		out.push([name, line.slice(colon + 1).trim()]);
	});
	return out;
}

/** A response body for people: indented when it is JSON (by its content
 *  type, or by its look when none is given), else as it came. */
export function prettyBody(body: string, contentType: string | null): string {
	const type = (contentType ?? '').toLowerCase();
	const json = /[/+]json\b/.test(type) || (type === '' && /^\s*[[{]/.test(body));
	if (!json || body.trim() === '') return body;
	try {
		return JSON.stringify(JSON.parse(body), null, 2);
	} catch {
		return body;
	}
}

/** A header's value, by case-insensitive name. */
export function headerValue(headers: [string, string][], name: string): string | null {
	const n = name.toLowerCase();
	return headers.find(([k]) => k.toLowerCase() === n)?.[1] ?? null;
}

/** A duration for people: fractions below 10 ms, whole ms above. */
export function formatMs(ms: number): string {
	if (!Number.isFinite(ms)) return '? ms';
	if (ms < 1) return `${ms.toFixed(2)} ms`;
	if (ms < 10) return `${ms.toFixed(1)} ms`;
	return `${Math.round(ms)} ms`;
}

export interface WaitOptions {
	/** Between two looks, in ms. */
	interval?: number;
	/** Give up after, in ms. */
	timeout?: number;
	/** Stop early (the run was replaced, the page left). */
	cancelled?: () => boolean;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** The record of the script's execution for one request, once the server
 *  has written it (records are written in batches, a little after the
 *  answer): looks every `interval` ms for up to `timeout` ms. null when it
 *  never appears, or when cancelled. List errors reject. */
export async function waitForExecution(
	scriptId: string,
	requestId: string,
	{ interval = 150, timeout = 3000, cancelled = () => false }: WaitOptions = {}
): Promise<Execution | null> {
	const started = Date.now();
	for (;;) {
		if (cancelled()) return null;
		const items = await listExecutions(scriptId, { request_id: requestId, limit: 20 });
		// The filter is the server's; checking again keeps a server without
		// it from showing another request's record.
		const mine = items.filter((e) => e.request_id === requestId);
		const found = mine.find((e) => e.script_id === scriptId) ?? mine[0];
		if (found) return cancelled() ? null : found;
		if (Date.now() - started + interval > timeout) return null;
		await sleep(interval);
	}
}
