import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { grant, jsonResponse, signedInAs, stubFetch } from '$lib/testing';
import Page from './+page.svelte';

const nav = vi.hoisted(() => ({ goto: vi.fn(async () => {}) }));
vi.mock('$app/navigation', () => ({ goto: nav.goto }));
vi.mock('$app/state', () => ({ page: { params: { app: 'shop' } } }));

function serve() {
	const app = { id: 'a', name: 'shop', description: '', created_at: '2025-01-01T00:00:00Z', record_requests: 'off', redact_headers: [] };
	const script = {
		id: 's1',
		app_id: 'a',
		name: 'hello',
		source: '"hi"',
		version: 2,
		description: '',
		sandbox: {},
		created_at: '2025-01-01T00:00:00Z',
		updated_at: '2025-01-01T00:00:00Z',
		stats: { invocations: 5, errors: 1, last_status: 'ok', last_run_at: '2025-01-02T00:00:00Z', last_day: { invocations: 0, errors: 0, duration_ms: { p50: null, p95: null, p99: null }, operations: { p50: null, p95: null, p99: null }, hourly: [] } }
	};
	stubFetch((url) =>
		jsonResponse(200, url.startsWith('/api/v1/admin/apps/shop') ? app : { items: [script] })
	);
}

afterEach(() => {
	nav.goto.mockClear();
});

describe('the scripts page', () => {
	it('lists the scripts with their stats, and New script goes to the editor', async () => {
		signedInAs('member', [grant('editor')]);
		serve();
		render(Page);
		const row = await screen.findByRole('row', { name: /^hello/ });
		expect(within(row).getAllByRole('cell').map((c) => c.textContent?.trim())).toContain('5');
		expect(within(row).getByRole('button', { name: 'Delete script hello' })).toBeInTheDocument();

		await fireEvent.click(screen.getByRole('button', { name: 'New script' }));
		expect(nav.goto).toHaveBeenCalledWith('/admin/apps/shop/scripts/new');
	});

	it('shows a viewer no New script and no Delete', async () => {
		signedInAs('member', [grant('viewer')]);
		serve();
		render(Page);
		await screen.findByRole('row', { name: /^hello/ });
		expect(screen.queryByRole('button', { name: 'New script' })).toBeNull();
		expect(screen.queryAllByRole('button')).toEqual([]);
	});
});
