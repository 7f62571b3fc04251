import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { mockConfirm } from '$lib/testing';
import type { Trigger } from '$lib/types';
import TriggerTable from './TriggerTable.svelte';

function script(id: string, name: string) {
	return {
		id,
		app_id: 'a',
		name,
		source: '',
		version: 1,
		description: '',
		sandbox: {},
		created_at: '2025-01-01T00:00:00Z',
		updated_at: '2025-01-01T00:00:00Z'
	};
}

const scripts = [script('s-w', 'worker'), script('s-d', 'dead_handler'), script('s-c', 'nightly')];

const kv: Trigger = {
	id: 't1',
	app_id: 'a',
	kind: 'kv',
	script_id: 's-w',
	collection: 'orders',
	events: ['set', 'delete'],
	max_attempts: 5,
	dead_letter_script_id: 's-d',
	created_at: '2025-01-01T00:00:00Z',
	stats: { delivered: 12, retried: 3, dead_lettered: 1 }
};

const cron: Trigger = {
	id: 't2',
	app_id: 'a',
	kind: 'cron',
	script_id: 's-c',
	schedule: '0 3 * * *',
	next_run_at: '2025-01-02T03:00:00Z',
	created_at: '2025-01-01T00:00:00Z',
	stats: { delivered: 7, retried: 0, dead_lettered: 0 }
};

function cells(row: HTMLElement) {
	return within(row)
		.getAllByRole('cell')
		.map((c) => c.textContent?.replace(/\s+/g, ' ').trim());
}

describe('TriggerTable', () => {
	it('shows each trigger: kind, what, handler, attempts, dead-letter script, stats', () => {
		render(TriggerTable, {
			app: 'shop',
			triggers: [kv, cron],
			scripts,
			editable: false,
			onDelete: () => {}
		});
		const table = screen.getByRole('table', { name: 'Triggers' });
		expect(
			within(table)
				.getAllByRole('columnheader')
				.map((h) => h.textContent?.trim())
		).toEqual(['Kind', 'What', 'Handler', 'Max attempts', 'Dead-letter script', 'Stats']);

		const [kvRow, cronRow] = within(table).getAllByRole('row').slice(1);
		expect(within(kvRow).getByRole('rowheader')).toHaveTextContent('orders on set and delete');
		expect(cells(kvRow)).toEqual([
			'KV write',
			'worker',
			'5',
			'dead_handler',
			'12 delivered 3 retried 1 dead-lettered'
		]);
		expect(within(kvRow).getByRole('link', { name: 'worker' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s-w'
		);
		expect(within(kvRow).getByRole('link', { name: 'dead_handler' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s-d'
		);

		expect(within(cronRow).getByRole('rowheader')).toHaveTextContent(/^0 3 \* \* \* UTC next run/);
		expect(cronRow.querySelector('time')).toHaveAttribute('datetime', '2025-01-02T03:00:00Z');
		expect(cells(cronRow)).toEqual([
			'Cron',
			'nightly',
			'–not applicable',
			'none',
			'7 delivered 0 retried 0 dead-lettered'
		]);
		expect(within(cronRow).getByRole('link', { name: 'nightly' })).toHaveAttribute(
			'href',
			'/admin/apps/shop/scripts/s-c'
		);

		// Viewers get no delete buttons.
		expect(screen.queryByRole('button')).toBeNull();
	});

	it('gives editors a named delete button per trigger, which asks first', async () => {
		const confirm = mockConfirm(false);
		const onDelete = vi.fn();
		render(TriggerTable, { app: 'shop', triggers: [kv, cron], scripts, editable: true, onDelete });
		expect(screen.getAllByRole('columnheader').at(-1)).toHaveTextContent('Actions');
		const button = screen.getByRole('button', { name: 'Delete trigger Cron 0 3 * * *' });
		await fireEvent.click(button);
		expect(confirm).toHaveBeenCalledWith(
			'Delete the trigger Cron 0 3 * * *, with its pending events and dead letters?'
		);
		expect(onDelete).not.toHaveBeenCalled();
		confirm.mockReturnValue(true);
		await fireEvent.click(button);
		expect(onDelete).toHaveBeenCalledWith(cron);
		expect(
			screen.getByRole('button', { name: 'Delete trigger KV write on orders' })
		).toBeInTheDocument();
	});

	it('names a handler it does not know by its id', () => {
		render(TriggerTable, {
			app: 'shop',
			triggers: [{ ...kv, script_id: 'gone', dead_letter_script_id: undefined }],
			scripts,
			editable: false,
			onDelete: () => {}
		});
		const row = screen.getAllByRole('row')[1];
		expect(cells(row)[1]).toBe('unknown script gone');
		expect(cells(row)[3]).toBe('none');
	});

	it('says when there are none', () => {
		render(TriggerTable, { app: 'shop', triggers: [], scripts, editable: true, onDelete: () => {} });
		expect(screen.getByText('No triggers yet.')).toBeInTheDocument();
	});
});
