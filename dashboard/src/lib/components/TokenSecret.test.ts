import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import TokenSecret from './TokenSecret.svelte';

const SECRET = 'pct_s3cr3t-value';

function setClipboard(clipboard: unknown) {
	Object.defineProperty(navigator, 'clipboard', { value: clipboard, configurable: true });
}

afterEach(() => {
	setClipboard(undefined);
});

describe('TokenSecret', () => {
	it('shows the secret in a labelled, read-only, focused field with a warning', () => {
		render(TokenSecret, { name: 'ci', secret: SECRET, onDismiss: () => {} });
		const field = screen.getByLabelText('Token');
		expect(field).toHaveValue(SECRET);
		expect(field).toHaveAttribute('readonly');
		expect(field).toHaveFocus();
		expect(screen.getByText(/it will not be shown again/)).toBeInTheDocument();
		expect(screen.getByRole('heading', { name: 'Token ci created' })).toBeInTheDocument();
	});

	it('copies to the clipboard and says so', async () => {
		const writeText = vi.fn(async () => {});
		setClipboard({ writeText });
		render(TokenSecret, { name: 'ci', secret: SECRET, onDismiss: () => {} });

		await fireEvent.click(screen.getByRole('button', { name: 'Copy' }));

		expect(writeText).toHaveBeenCalledWith(SECRET);
		await vi.waitFor(() => expect(screen.getByRole('status')).toHaveTextContent('Copied.'));
	});

	it('selects the text when there is no clipboard', async () => {
		setClipboard(undefined);
		render(TokenSecret, { name: 'ci', secret: SECRET, onDismiss: () => {} });
		const field = screen.getByLabelText('Token') as HTMLInputElement;
		field.setSelectionRange(0, 0);
		(screen.getByRole('button', { name: 'Copy' }) as HTMLButtonElement).focus();

		await fireEvent.click(screen.getByRole('button', { name: 'Copy' }));

		await vi.waitFor(() =>
			expect(screen.getByRole('status')).toHaveTextContent(/Could not copy: the token is selected/)
		);
		expect(field).toHaveFocus();
		expect([field.selectionStart, field.selectionEnd]).toEqual([0, SECRET.length]);
	});

	it('hands over on Done', async () => {
		const onDismiss = vi.fn();
		render(TokenSecret, { name: 'ci', secret: SECRET, onDismiss });
		await fireEvent.click(screen.getByRole('button', { name: 'Done' }));
		expect(onDismiss).toHaveBeenCalledTimes(1);
	});
});
