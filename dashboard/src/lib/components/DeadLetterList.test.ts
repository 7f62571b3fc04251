import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, mockConfirm, mockFetchJson, stubFetch } from '$lib/testing';
import type { DeadLetter, Trigger } from '$lib/types';
import DeadLetterList from './DeadLetterList.svelte';

const trigger: Trigger = {
	id: 't1',
	app_id: 'a',
	kind: 'kv',
	script_id: 's',
	collection: 'orders',
	events: ['set'],
	max_attempts: 3,
	created_at: '2025-01-01T00:00:00Z',
	stats: { delivered: 0, retried: 2, dead_lettered: 1 }
};

const letter: DeadLetter = {
	id: 'd1',
	app_id: 'a',
	trigger_id: 't1',
	event: {
		kind: 'kv',
		op: 'set',
		collection: 'orders',
		key: 'o-1',
		value: { qty: 2 },
		at: '2025-01-01T00:00:00Z'
	},
	error: 'payment service down (line 3, column 5)',
	attempts: 3,
	created_at: '2025-01-01T00:00:05Z'
};

const orphan: DeadLetter = {
	...letter,
	id: 'd2',
	trigger_id: 'gone',
	event: { kind: 'cron', schedule: '* * * * *', scheduled_at: '2025-01-01T00:01:00Z' }
};

describe('DeadLetterList', () => {
	it('says when there are none', () => {
		render(DeadLetterList, { deadLetters: [], triggers: [], editable: true, onRemoved: () => {} });
		expect(screen.getByText('No dead letters.')).toBeInTheDocument();
		expect(screen.queryByRole('table')).toBeNull();
	});

	it('shows when, which trigger, attempts, the error and the event', () => {
		render(DeadLetterList, {
			deadLetters: [letter, orphan],
			triggers: [trigger],
			editable: false,
			onRemoved: () => {}
		});
		const table = screen.getByRole('table', { name: 'Dead letters' });
		expect(
			within(table)
				.getAllByRole('columnheader')
				.map((h) => h.textContent?.trim())
		).toEqual(['Created', 'Trigger', 'Attempts', 'Error', 'Event']);
		const [row, orphanRow] = within(table).getAllByRole('row').slice(1);
		expect(within(row).getByRole('rowheader').querySelector('time')).toHaveAttribute(
			'datetime',
			'2025-01-01T00:00:05Z'
		);
		const [kind, attempts, error] = within(row).getAllByRole('cell');
		expect(kind).toHaveTextContent('KV write orders');
		expect(attempts).toHaveTextContent('3');
		expect(error).toHaveTextContent('payment service down (line 3, column 5)');
		const details = row.querySelector('details')!;
		expect(details.open).toBe(false);
		expect(within(row).getByText('Event')).toHaveTextContent('Event of set of key o-1 in orders');
		expect(details.querySelector('pre')?.textContent).toBe(JSON.stringify(letter.event, null, 2));

		expect(within(orphanRow).getAllByRole('cell')[0]).toHaveTextContent('a deleted trigger');
		expect(screen.queryByRole('button')).toBeNull();
	});

	it('queues a dead letter again and says so', async () => {
		const fetch = mockFetchJson(202);
		const onRemoved = vi.fn();
		render(DeadLetterList, {
			deadLetters: [letter],
			triggers: [trigger],
			editable: true,
			onRemoved
		});
		await fireEvent.click(screen.getByRole('button', { name: 'Retry set of key o-1 in orders' }));
		await vi.waitFor(() => expect(onRemoved).toHaveBeenCalledWith('d1'));
		const [url, init] = fetch.mock.calls[0];
		expect(url).toBe('/api/v1/admin/dead-letters/d1/retry');
		expect(init?.method).toBe('POST');
		expect(screen.getByRole('status')).toHaveTextContent(
			'Queued for delivery again: set of key o-1 in orders.'
		);
	});

	it('deletes a dead letter only once confirmed', async () => {
		const fetch = mockFetchJson(204);
		const confirm = mockConfirm(false);
		const onRemoved = vi.fn();
		render(DeadLetterList, {
			deadLetters: [letter],
			triggers: [trigger],
			editable: true,
			onRemoved
		});
		const button = screen.getByRole('button', {
			name: 'Delete dead letter for set of key o-1 in orders'
		});
		await fireEvent.click(button);
		expect(confirm).toHaveBeenCalledWith(
			'Delete the dead letter for set of key o-1 in orders? Its event will not be delivered.'
		);
		expect(fetch).not.toHaveBeenCalled();

		confirm.mockReturnValue(true);
		await fireEvent.click(button);
		await vi.waitFor(() => expect(onRemoved).toHaveBeenCalledWith('d1'));
		expect(fetch.mock.calls[0][0]).toBe('/api/v1/admin/dead-letters/d1');
		expect(fetch.mock.calls[0][1]?.method).toBe('DELETE');
	});

	it('keeps the row and shows the error when the server refuses', async () => {
		stubFetch(() => errorResponse(403, 'forbidden', 'editing triggers needs an editor role'));
		const onRemoved = vi.fn();
		render(DeadLetterList, {
			deadLetters: [letter],
			triggers: [trigger],
			editable: true,
			onRemoved
		});
		await fireEvent.click(screen.getByRole('button', { name: /^Retry/ }));
		expect(await screen.findByRole('alert')).toHaveTextContent('editing triggers needs an editor role');
		expect(onRemoved).not.toHaveBeenCalled();
		expect(screen.getByRole('status')).toHaveTextContent('');
	});
});
