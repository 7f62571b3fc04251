import { render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import ScriptList from './ScriptList.svelte';

const script = {
	id: 's1',
	app_id: 'a',
	name: 'hello',
	source: '"hi"',
	version: 3,
	description: '',
	sandbox: {},
	created_at: '2025-01-01T00:00:00Z',
	updated_at: '2025-02-03T04:05:06Z'
};

describe('ScriptList', () => {
	it('shows name, version and update time, with a named delete button', () => {
		render(ScriptList, { scripts: [script], onDelete: () => {} });
		const table = screen.getByRole('table', { name: 'Scripts' });
		const headers = within(table)
			.getAllByRole('columnheader')
			.map((h) => h.textContent?.trim());
		expect(headers).toEqual(['Name', 'Version', 'Updated', 'Actions']);
		const row = within(table).getByRole('row', { name: /hello/ });
		expect(within(row).getByRole('rowheader')).toHaveTextContent('hello');
		expect(within(row).getByText('3')).toBeInTheDocument();
		expect(row.querySelector('time')).toHaveAttribute('datetime', '2025-02-03T04:05:06Z');
		expect(within(row).getByRole('button', { name: 'Delete script hello' })).toBeInTheDocument();
	});
});
