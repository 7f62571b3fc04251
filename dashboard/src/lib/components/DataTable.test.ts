import { render, screen, within } from '@testing-library/svelte';
import { createRawSnippet } from 'svelte';
import { describe, expect, it } from 'vitest';
import DataTable from './DataTable.svelte';

interface Fruit {
	id: number;
	name: string;
}

const fruits: Fruit[] = [
	{ id: 1, name: 'apple' },
	{ id: 2, name: 'pear' }
];

const head = createRawSnippet(() => ({ render: () => '<th scope="col">Name</th>' }));
const row = createRawSnippet((fruit: () => Fruit) => ({
	render: () => `<th scope="row">${fruit().name}</th>`
}));
const below = createRawSnippet((fruit: () => Fruit) => ({
	render: () => `<tr class="below"><td>more about ${fruit().name}</td></tr>`
}));

const key = (f: Fruit) => f.id;

describe('DataTable', () => {
	it('has the caption, for screen readers, the heads and a row per item', () => {
		render(DataTable<Fruit>, { items: fruits, caption: 'Fruits', empty: 'None.', key, head, row });
		const table = screen.getByRole('table', { name: 'Fruits' });
		expect(table.querySelector('caption')).toHaveClass('visually-hidden');
		expect(table.parentElement).toHaveClass('table-wrap');
		expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Name']);
		expect(within(table).getAllByRole('rowheader').map((h) => h.textContent)).toEqual([
			'apple',
			'pear'
		]);
	});

	it("puts an item's own further rows under its row", () => {
		render(DataTable<Fruit>, { items: fruits, caption: 'Fruits', key, head, row, below });
		const rows = screen.getAllByRole('row').slice(1);
		expect(rows.map((r) => r.textContent)).toEqual([
			'apple',
			'more about apple',
			'pear',
			'more about pear'
		]);
	});

	it('says so instead of an empty table', () => {
		render(DataTable<Fruit>, { items: [], caption: 'Fruits', empty: 'No fruits yet.', key, head, row });
		expect(screen.getByText('No fruits yet.')).toBeInTheDocument();
		expect(screen.queryByRole('table')).toBeNull();
	});

	it('shows nothing for no items without the words (the caller says it)', () => {
		const { container } = render(DataTable<Fruit>, { items: [], caption: 'Fruits', key, head, row });
		expect(container.querySelector('*')).toBeNull();
		expect(container).toHaveTextContent('');
	});
});
