import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, jsonResponse, mockApi } from '$lib/testing';
import type { App } from '$lib/types';
import RecordingSettings from './RecordingSettings.svelte';

const shop: App = {
	id: 'a',
	name: 'shop',
	description: '',
	created_at: '2025-01-01T00:00:00Z',
	record_requests: 'off',
	redact_headers: []
};

describe('RecordingSettings', () => {
	it('shows the setting to whoever may not change it', () => {
		render(RecordingSettings, {
			app: { ...shop, record_requests: 'failed', redact_headers: ['x-api-key'] },
			editable: false
		});
		expect(screen.getByText('Failed requests')).toBeInTheDocument();
		expect(screen.getByText(/also leaves out x-api-key/)).toBeInTheDocument();
		expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
	});

	it('saves the mode and the headers', async () => {
		const calls = mockApi({
			'PATCH /apps/shop': (body) => jsonResponse(200, { ...shop, ...(body as object) })
		});
		const onChanged = vi.fn();
		render(RecordingSettings, { app: shop, editable: true, onChanged });
		await fireEvent.change(screen.getByLabelText('Keep'), { target: { value: 'failed' } });
		await fireEvent.input(screen.getByLabelText('Also leave out these headers'), {
			target: { value: 'x-api-key,  x-session ' }
		});
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		expect(await screen.findByText('Saved.')).toBeInTheDocument();
		expect(calls[0].body).toEqual({
			record_requests: 'failed',
			redact_headers: ['x-api-key', 'x-session']
		});
		expect(onChanged).toHaveBeenCalledWith(
			expect.objectContaining({ record_requests: 'failed' })
		);
	});

	it('says what the server refused', async () => {
		mockApi({
			'PATCH /apps/shop': () =>
				errorResponse(400, 'bad_request', '"x y" is not a header name')
		});
		render(RecordingSettings, { app: shop, editable: true });
		await fireEvent.input(screen.getByLabelText('Also leave out these headers'), {
			target: { value: 'x y' }
		});
		await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
		expect(await screen.findByText(/is not a header name/)).toBeInTheDocument();
		expect(screen.queryByText('Saved.')).toBeNull();
	});
});
