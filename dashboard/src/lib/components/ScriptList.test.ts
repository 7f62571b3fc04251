import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { mockConfirm } from '$lib/testing';
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
		stats: {
			invocations: 120,
			errors: 4,
			last_status: 'limit_exceeded',
			last_run_at: '2025-02-04T00:00:00Z',
			last_day: {
				invocations: 30,
				errors: 1,
				duration_ms: { p50: 1.19, p95: 12.7, p99: 40 },
				operations: { p50: 26.9, p95: 1510.2, p99: 3000 },
				hourly: [
					...Array.from({ length: 22 }, () => ({ invocations: 0, errors: 0 })),
					{ invocations: 20, errors: 1 },
					{ invocations: 10, errors: 0 }
				]
			}
		}
	},
	{
		...base,
		id: 's2',
		name: 'quiet',
		version: 1,
		stats: {
			invocations: 0,
			errors: 0,
			last_status: null,
			last_run_at: null,
			last_day: {
				invocations: 0,
				errors: 0,
				duration_ms: { p50: null, p95: null, p99: null },
				operations: { p50: null, p95: null, p99: null },
				hourly: []
			}
		}
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
		expect(headers).toEqual([
			'Name',
			'Version',
			'Last status',
			'Invocations',
			'Errors',
			'Last 24 h',
			'Duration p50 / p95 (24 h)',
			'Operations p50 / p95 (24 h)',
			'Updated',
			'Actions'
		]);

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
		// The last day at a glance: a bar per hour, said in words.
		const spark = within(cells[4]).getByRole('img', {
			name: '30 executions in the last 24 hours, 1 failed; the busiest hour had 20'
		});
		expect(spark.querySelectorAll('rect.ok')).toHaveLength(2);
		expect(spark.querySelectorAll('rect.failed')).toHaveLength(1);
		const heights = [...spark.querySelectorAll('rect')].map((r) => Number(r.getAttribute('height')));
		// The busiest hour fills the height; the other is half as tall.
		expect(heights[0] + heights[1]).toBeCloseTo(24);
		expect(heights[2]).toBeCloseTo(12);
		expect(cells[5]).toHaveTextContent('1.2 ms / 12.7 ms');
		expect(cells[6]).toHaveTextContent('27 / 1,510');
		expect(cells[7].querySelector('time')).toHaveAttribute('datetime', '2025-02-03T04:05:06Z');

		const quiet = within(rowOf('quiet')).getAllByRole('cell');
		expect(quiet[1]).toHaveTextContent('never run');
		expect(quiet[2]).toHaveTextContent('0');
		expect(within(quiet[4]).queryByRole('img')).toBeNull();
		expect(quiet[5]).toHaveTextContent('none today');
		expect(quiet[6]).toHaveTextContent('none today');
	});

	it('offers named Delete buttons to editors, which ask first', async () => {
		const confirm = mockConfirm(false);
		const onDelete = vi.fn();
		render(ScriptList, { app: 'shop', scripts, canEdit: true, onDelete });
		const button = screen.getByRole('button', { name: 'Delete script quiet' });
		await fireEvent.click(button);
		expect(confirm).toHaveBeenCalledWith(
			'Delete the script "quiet" with its routes and triggers?'
		);
		expect(onDelete).not.toHaveBeenCalled();
		confirm.mockReturnValue(true);
		await fireEvent.click(button);
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
