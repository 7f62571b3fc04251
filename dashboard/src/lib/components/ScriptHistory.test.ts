import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import '$lib/editor/test-dom';
import { jsonResponse, mockApi, mockConfirm } from '$lib/testing';
import type { ScriptVersion, ScriptVersionSummary } from '$lib/types';
import ScriptHistory from './ScriptHistory.svelte';

const SOURCES: Record<number, string> = {
	1: 'let name = "pi";\n"hello " + name',
	2: 'let name = ctx.request.query.name ?? "pi";\n"hello " + name',
	3: 'let name = ctx.request.query.name ?? "pi";\n"hi " + name',
	4: 'let name = "pi";\n"hello " + name'
};

function summary(version: number, over: Partial<ScriptVersionSummary> = {}): ScriptVersionSummary {
	return {
		version,
		description: '',
		sandbox: {},
		message: '',
		created_by: 'alice',
		created_at: `2025-01-0${version}T10:00:00Z`,
		source_bytes: SOURCES[version].length,
		live: version === 3,
		...over
	};
}

function full(version: number): ScriptVersion {
	const s = summary(version);
	return {
		script_id: 's1',
		version,
		source: SOURCES[version],
		description: s.description,
		sandbox: version === 1 ? { timeout_ms: 500 } : {},
		message: s.message,
		created_by: s.created_by,
		created_at: s.created_at,
		live: s.live
	};
}

const LIST = [
	summary(3, { message: 'say hi' }),
	summary(2, { created_by: null }),
	summary(1, { message: 'first cut\nby hand' })
];

function routes(list = LIST) {
	return {
		'GET /scripts/s1/versions': () => jsonResponse(200, { items: list }),
		'GET /scripts/s1/versions/1': () => jsonResponse(200, full(1)),
		'GET /scripts/s1/versions/2': () => jsonResponse(200, full(2)),
		'GET /scripts/s1/versions/3': () => jsonResponse(200, full(3))
	};
}

/** The text of one side of the diff (CodeMirror renders in a shadow root). */
function sideText(label: string): string {
	const host = document.querySelector('.diff') as HTMLElement;
	const side = host.shadowRoot!.querySelector(`[aria-label="${label}"]`);
	return side?.textContent ?? '';
}

describe('ScriptHistory', () => {
	it('lists the versions newest first with who, when, message and size', async () => {
		mockApi(routes());
		render(ScriptHistory, { scriptId: 's1', editable: true });
		const table = await screen.findByRole('table', { name: 'Versions, newest first' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Version', 'Saved', 'By', 'Message', 'Size', 'Actions']);
		const rows = within(table).getAllByRole('rowheader').map((h) => h.textContent?.trim());
		expect(rows).toEqual(['3 live', '2', '1']);
		const first = screen.getByRole('row', { name: /^1\b/ });
		expect(within(first).getByText(/first cut/)).toBeInTheDocument();
		expect(first.querySelector('time')).toHaveAttribute('datetime', LIST[2].created_at);
		expect(within(screen.getByRole('row', { name: /^2\b/ })).getByText('–')).toBeInTheDocument();
		// The live version cannot be restored; the others can.
		expect(screen.queryByRole('button', { name: 'Restore version 3' })).toBeNull();
		expect(screen.getByRole('button', { name: 'Restore version 2' })).toBeInTheDocument();
	});

	it('shows the live version against the one before, and any two chosen', async () => {
		const calls = mockApi(routes());
		render(ScriptHistory, { scriptId: 's1', editable: false });
		expect(await screen.findByLabelText('Older')).toHaveValue('2');
		expect(screen.getByLabelText('Newer')).toHaveValue('3');
		await expect.poll(() => sideText('Version 3')).toContain('"hi " + name');
		expect(sideText('Version 2')).toContain('"hello " + name');

		await fireEvent.change(screen.getByLabelText('Older'), { target: { value: '1' } });
		await expect.poll(() => sideText('Version 1')).toContain('let name = "pi";');
		// Sandbox changes are said in words.
		expect(screen.getByText('{"timeout_ms":500}')).toBeInTheDocument();
		// Each version is read once.
		const reads = calls.filter((c) => /\/versions\/\d+$/.test(c.path)).map((c) => c.path);
		expect(reads.sort()).toEqual([
			'/scripts/s1/versions/1',
			'/scripts/s1/versions/2',
			'/scripts/s1/versions/3'
		]);
		// A viewer cannot restore.
		expect(screen.queryByRole('button', { name: /^Restore/ })).toBeNull();
	});

	it('restores a version by saving its source, description and sandbox as a new one', async () => {
		const restored = [summary(4, { live: true, message: 'restore version 1' }), ...LIST];
		restored[1] = { ...restored[1], live: false };
		let list = LIST;
		const calls = mockApi({
			...routes(),
			'GET /scripts/s1/versions': () => jsonResponse(200, { items: list }),
			'PUT /scripts/s1': () => {
				list = restored;
				return jsonResponse(200, { id: 's1', version: 4 });
			}
		});
		const confirm = mockConfirm(false);
		render(ScriptHistory, { scriptId: 's1', editable: true });
		await fireEvent.click(await screen.findByRole('button', { name: 'Restore version 1' }));
		expect(confirm).toHaveBeenCalledOnce();
		expect(calls.some((c) => c.method === 'PUT')).toBe(false);

		confirm.mockReturnValue(true);
		await fireEvent.click(screen.getByRole('button', { name: 'Restore version 1' }));
		expect(await screen.findByText('Version 1 restored as version 4, now live.')).toBeInTheDocument();
		const put = calls.find((c) => c.method === 'PUT');
		expect(put?.body).toEqual({
			source: SOURCES[1],
			description: '',
			sandbox: { timeout_ms: 500 },
			message: 'restore version 1'
		});
		const rows = screen.getAllByRole('rowheader').map((h) => h.textContent?.trim());
		expect(rows).toEqual(['4 live', '3', '2', '1']);
	});

	it('says what went wrong when the history cannot be read', async () => {
		mockApi({
			'GET /scripts/s1/versions': () =>
				jsonResponse(404, { error: { code: 'not_found', message: 'no such script' } })
		});
		render(ScriptHistory, { scriptId: 's1', editable: true });
		expect(await screen.findByText(/no such script/)).toBeInTheDocument();
	});
});
