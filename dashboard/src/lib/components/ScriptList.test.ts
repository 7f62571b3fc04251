import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type { ScriptSummary } from '$lib/types';
import ScriptList from './ScriptList.svelte';

const base = {
	app_id: 'a',
	source: '"hi"',
	description: '',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-02-03T04:05:06Z'
};
const scripts: ScriptSummary[] = [
	{
		...base,
		id: 's1',
		name: 'hello',
		version: 3,
		stats: { invocations: 120, errors: 4, last_status: 'limit_exceeded', last_run_at: '2025-02-04T00:00:00Z' }
	},
	{
		...base,
		id: 's2',
		name: 'quiet',
		version: 1,
		stats: { invocations: 0, errors: 0, last_status: null, last_run_at: null }
	}
];

function rowOf(name: string) {
	return screen.getByRole('row', { name: new RegExp(`^${name}`) });
}

describe('ScriptList', () => {
	it('shows each script with its link, version, last status, counters and update time', () => {
		render(ScriptList, { app: 'shop', scripts, canEdit: true, onDelete: () => {} });
		const table = screen.getByRole('table', { name: 'Scripts' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Name', 'Version', 'Last status', 'Invocations', 'Errors', 'Updated', 'Actions']);

		const cells = within(rowOf('hello')).getAllByRole('cell');
		expect(within(rowOf('hello')).getByRole('link', { name: 'hello' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s1'
		);
		expect(cells[0]).toHaveTextContent('3');
		expect(cells[1]).toHaveTextContent('limit exceeded');
		expect(cells[1].querySelector('time')).toHaveAttribute('datetime', '2025-02-04T00:00:00Z');
		expect(cells[2]).toHaveTextContent('120');
		expect(cells[3]).toHaveTextContent('4');
		expect(cells[4].querySelector('time')).toHaveAttribute('datetime', '2025-02-03T04:05:06Z');

		const quiet = within(rowOf('quiet')).getAllByRole('cell');
		expect(quiet[1]).toHaveTextContent('never run');
		expect(quiet[2]).toHaveTextContent('0');
	});

	it('offers named Delete buttons to editors', async () => {
		const onDelete = vi.fn();
		render(ScriptList, { app: 'shop', scripts, canEdit: true, onDelete });
		await fireEvent.click(screen.getByRole('button', { name: 'Delete script quiet' }));
		expect(onDelete).toHaveBeenCalledWith(scripts[1]);
	});

	it('shows viewers no edit controls', () => {
		render(ScriptList, { app: 'shop', scripts, canEdit: false });
		expect(screen.queryAllByRole('button')).toEqual([]);
		expect(
			within(screen.getByRole('table'))
				.getAllByRole('columnheader')
				.map((h) => h.textContent?.trim())
		).not.toContain('Actions');
		expect(screen.getByRole('link', { name: 'hello' })).toBeInTheDocument();
	});

	it('says when there are none', () => {
		render(ScriptList, { app: 'shop', scripts: [], canEdit: true });
		expect(screen.getByText(/No scripts yet/)).toBeInTheDocument();
		expect(screen.queryByRole('table')).toBeNull();
	});
});
