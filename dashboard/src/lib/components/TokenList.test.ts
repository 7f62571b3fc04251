import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { mockConfirm } from '$lib/testing';
import TokenList from './TokenList.svelte';

const tokens = [
	{
		id: 't1',
		name: 'laptop',
		created_at: '2025-01-01T00:00:00Z',
		last_used_at: '2025-01-05T06:07:08Z',
		expires_at: null
	},
	{
		id: 't2',
		name: 'ci',
		created_at: '2025-02-01T00:00:00Z',
		last_used_at: null,
		expires_at: '2025-03-01T00:00:00Z'
	}
];

describe('TokenList', () => {
	it('shows name, created, last used and expiry, "never" where there is none', () => {
		render(TokenList, { tokens, onRevoke: () => {}, now: Date.parse('2025-02-15T00:00:00Z') });
		const table = screen.getByRole('table', { name: 'Your API tokens' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Name', 'Created', 'Last used', 'Expires', 'Actions']);

		const laptop = within(table).getByRole('row', { name: /laptop/ });
		const cells = within(laptop).getAllByRole('cell');
		expect(cells[1].querySelector('time')).toHaveAttribute('datetime', '2025-01-05T06:07:08Z');
		expect(cells[2]).toHaveTextContent('never');

		const ci = within(table).getByRole('row', { name: /ci/ });
		const ciCells = within(ci).getAllByRole('cell');
		expect(ciCells[1]).toHaveTextContent('never');
		expect(ciCells[2].querySelector('time')).toHaveAttribute('datetime', '2025-03-01T00:00:00Z');
		expect(ciCells[2]).not.toHaveTextContent('expired');
	});

	it('marks expired tokens', () => {
		render(TokenList, { tokens, onRevoke: () => {}, now: Date.parse('2025-03-02T00:00:00Z') });
		const ci = screen.getByRole('row', { name: /ci/ });
		expect(within(ci).getByText('(expired)')).toBeInTheDocument();
		expect(within(screen.getByRole('row', { name: /laptop/ })).queryByText('(expired)')).toBeNull();
	});

	it('names each Revoke button after its token, and asks first', async () => {
		const confirm = mockConfirm(false);
		const onRevoke = vi.fn();
		render(TokenList, { tokens, onRevoke });
		const button = screen.getByRole('button', { name: 'Revoke token ci' });
		await fireEvent.click(button);
		expect(confirm).toHaveBeenCalledWith(
			'Revoke the token "ci"? Anything using it stops working at once.'
		);
		expect(onRevoke).not.toHaveBeenCalled();
		confirm.mockReturnValue(true);
		await fireEvent.click(button);
		expect(onRevoke).toHaveBeenCalledWith(tokens[1]);
	});

	it('says when there are none', () => {
		render(TokenList, { tokens: [], onRevoke: () => {} });
		expect(screen.getByText('You have no API tokens.')).toBeInTheDocument();
		expect(screen.queryByRole('table')).toBeNull();
	});
});
