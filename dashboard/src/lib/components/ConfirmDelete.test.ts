import { fireEvent, render, screen } from '@testing-library/svelte';
import { createRawSnippet } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import ConfirmDelete from './ConfirmDelete.svelte';
import { mockConfirm } from '$lib/testing';

const label = createRawSnippet(() => ({ render: () => '<span>Delete thing</span>' }));

afterEach(() => vi.unstubAllGlobals());

describe('ConfirmDelete', () => {
	it('asks, and does nothing when the answer is no', async () => {
		const confirm = mockConfirm(false);
		const onconfirm = vi.fn();
		render(ConfirmDelete, { question: 'Really?', onconfirm, children: label });
		await fireEvent.click(screen.getByRole('button', { name: 'Delete thing' }));
		expect(confirm).toHaveBeenCalledWith('Really?');
		expect(onconfirm).not.toHaveBeenCalled();
	});

	it('runs the action once confirmed, disabled while it runs', async () => {
		mockConfirm(true);
		let finish: () => void = () => {};
		const onconfirm = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
		render(ConfirmDelete, { question: 'Really?', onconfirm, children: label });
		const button = screen.getByRole('button', { name: 'Delete thing' });
		await fireEvent.click(button);
		expect(onconfirm).toHaveBeenCalledTimes(1);
		expect(button).toBeDisabled();
		finish();
		await vi.waitFor(() => expect(button).toBeEnabled());
	});

	it('can be disabled by its row', () => {
		render(ConfirmDelete, { question: 'Really?', onconfirm: vi.fn(), disabled: true, children: label });
		expect(screen.getByRole('button', { name: 'Delete thing' })).toBeDisabled();
	});

	it('is a danger button, or a secondary one for a change that is no deletion', () => {
		const first = render(ConfirmDelete, { question: 'Really?', onconfirm: vi.fn(), children: label });
		expect(screen.getByRole('button', { name: 'Delete thing' })).toHaveClass('danger');
		first.unmount();
		render(ConfirmDelete, { question: 'Really?', onconfirm: vi.fn(), variant: 'secondary', children: label });
		const button = screen.getByRole('button', { name: 'Delete thing' });
		expect(button).toHaveClass('secondary');
		expect(button).not.toHaveClass('danger');
	});
});
