import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { errorResponse, mockFetchJson, stubFetch, type FetchMock } from '$lib/testing';
import TriggerForm from './TriggerForm.svelte';

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

const scripts = [script('s-w', 'worker'), script('s-d', 'dead_handler')];

const created = {
	id: 't1',
	app_id: 'a',
	kind: 'kv',
	script_id: 's-w',
	collection: 'orders',
	events: ['set', 'delete'],
	max_attempts: 5,
	created_at: '2025-01-01T00:00:00Z',
	stats: { delivered: 0, retried: 0, dead_lettered: 0 }
};

function sent(fetch: FetchMock) {
	const [url, init] = fetch.mock.calls[0];
	return { url, method: init?.method, body: JSON.parse(init?.body as string) };
}

async function type(label: string, value: string) {
	await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

async function choose(label: string, value: string) {
	await fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

const create = () => fireEvent.click(screen.getByRole('button', { name: 'Create trigger' }));

describe('TriggerForm', () => {
	it('shows the fields of the kind chosen', async () => {
		render(TriggerForm, { app: 'shop', scripts, onCreated: () => {} });
		const kind = screen.getByRole('group', { name: 'Kind' });
		expect(kind).toBeInTheDocument();
		expect(screen.getByRole('radio', { name: 'KV write' })).toBeChecked();
		expect(screen.getByLabelText('Collection')).toBeInTheDocument();
		expect(screen.getByRole('group', { name: 'Events' })).toBeInTheDocument();
		expect(screen.getByRole('checkbox', { name: 'set' })).toBeChecked();
		expect(screen.getByRole('checkbox', { name: 'delete' })).not.toBeChecked();
		expect(screen.getByLabelText(/^Max attempts/)).toHaveAttribute('type', 'number');
		expect(screen.getByLabelText(/^Dead-letter script/)).toBeInTheDocument();
		expect(screen.queryByLabelText('Schedule')).toBeNull();
		// Handler choices by name, sorted.
		const options = Array.from(
			(screen.getByLabelText('Handler script') as HTMLSelectElement).options
		).map((o) => o.textContent);
		expect(options).toEqual(['Choose a script', 'dead_handler', 'worker']);

		await fireEvent.click(screen.getByRole('radio', { name: 'Cron' }));
		expect(screen.getByLabelText('Schedule')).toHaveAccessibleDescription(
			/5 fields .* or 6 with seconds first, in UTC; e.g. \*\/5 \* \* \* \* is every 5 minutes/
		);
		expect(screen.queryByLabelText('Collection')).toBeNull();
		expect(screen.queryByRole('group', { name: 'Events' })).toBeNull();
		expect(screen.queryByLabelText(/^Max attempts/)).toBeNull();
		expect(screen.queryByLabelText(/^Dead-letter script/)).toBeNull();
		expect(screen.getByLabelText('Handler script')).toBeInTheDocument();
	});

	it('sends a kv trigger with its collection, events, max attempts and dead-letter script', async () => {
		const fetch = mockFetchJson(201, created);
		const onCreated = vi.fn();
		render(TriggerForm, { app: 'shop', scripts, onCreated });

		await type('Collection', ' orders ');
		await fireEvent.click(screen.getByRole('checkbox', { name: 'delete' }));
		await type('Max attempts (optional)', '5');
		await choose('Dead-letter script (optional)', 's-d');
		await choose('Handler script', 's-w');
		await create();

		await vi.waitFor(() => expect(onCreated).toHaveBeenCalledWith(created));
		expect(sent(fetch)).toEqual({
			url: '/api/v1/admin/apps/shop/triggers',
			method: 'POST',
			body: {
				kind: 'kv',
				collection: 'orders',
				events: ['set', 'delete'],
				script_id: 's-w',
				max_attempts: 5,
				dead_letter_script_id: 's-d'
			}
		});
		expect(screen.getByLabelText('Collection')).toHaveValue('');
	});

	it('leaves the optional fields out when empty', async () => {
		const fetch = mockFetchJson(201, created);
		render(TriggerForm, { app: 'shop', scripts, onCreated: () => {} });
		await type('Collection', 'orders');
		await fireEvent.click(screen.getByRole('checkbox', { name: 'set' }));
		await fireEvent.click(screen.getByRole('checkbox', { name: 'delete' }));
		await choose('Handler script', 's-w');
		await create();
		await vi.waitFor(() => expect(fetch).toHaveBeenCalled());
		expect(sent(fetch).body).toEqual({
			kind: 'kv',
			collection: 'orders',
			events: ['delete'],
			script_id: 's-w'
		});
	});

	it('sends a cron trigger with its schedule only', async () => {
		const cron = { ...created, kind: 'cron', schedule: '*/5 * * * *' };
		const fetch = mockFetchJson(201, cron);
		const onCreated = vi.fn();
		render(TriggerForm, { app: 'shop', scripts, onCreated });

		// Values typed for a kv trigger are not sent for a cron one.
		await type('Collection', 'orders');
		await fireEvent.click(screen.getByRole('radio', { name: 'Cron' }));
		await type('Schedule', ' */5 * * * * ');
		await choose('Handler script', 's-w');
		await create();

		await vi.waitFor(() => expect(onCreated).toHaveBeenCalledWith(cron));
		expect(sent(fetch).body).toEqual({ kind: 'cron', schedule: '*/5 * * * *', script_id: 's-w' });
	});

	it("shows the server's refusal next to the form, on the field it is about", async () => {
		stubFetch(() =>
			errorResponse(
				400,
				'bad_request',
				'schedule: invalid cron expression: expected 5 or 6 fields, got 4'
			)
		);
		const onCreated = vi.fn();
		render(TriggerForm, { app: 'shop', scripts, onCreated });
		await fireEvent.click(screen.getByRole('radio', { name: 'Cron' }));
		await type('Schedule', '* * * *');
		await choose('Handler script', 's-w');
		await create();

		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Schedule: invalid cron expression: expected 5 or 6 fields, got 4'
		);
		expect(screen.getByLabelText('Schedule')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.getByLabelText('Schedule')).toHaveFocus();
		expect(onCreated).not.toHaveBeenCalled();
	});

	it('names the handler field in an unknown-script error', async () => {
		stubFetch(() => errorResponse(400, 'bad_request', 'script_id: no script s-w in this app'));
		render(TriggerForm, { app: 'shop', scripts, onCreated: () => {} });
		await type('Collection', 'orders');
		await choose('Handler script', 's-w');
		await create();
		expect(await screen.findByRole('alert')).toHaveTextContent(
			'Handler script: no script s-w in this app'
		);
		expect(screen.getByLabelText('Handler script')).toHaveAttribute('aria-invalid', 'true');
		expect(screen.getByLabelText('Collection')).not.toHaveAttribute('aria-invalid');
	});

	it('checks the form before sending', async () => {
		const fetch = mockFetchJson(201, created);
		render(TriggerForm, { app: 'shop', scripts, onCreated: () => {} });

		await type('Collection', 'bad name');
		await create();
		expect(screen.getByRole('alert')).toHaveTextContent('"bad name" is not a collection name');
		expect(screen.getByLabelText('Collection')).toHaveAttribute('aria-invalid', 'true');

		await type('Collection', 'orders');
		await fireEvent.click(screen.getByRole('checkbox', { name: 'set' }));
		await create();
		expect(screen.getByRole('alert')).toHaveTextContent('Choose at least one event.');
		expect(screen.getByRole('checkbox', { name: 'set' })).toHaveFocus();

		await fireEvent.click(screen.getByRole('checkbox', { name: 'set' }));
		await type('Max attempts (optional)', '21');
		await create();
		expect(screen.getByRole('alert')).toHaveTextContent('Max attempts is a whole number from 1 to 20.');

		await type('Max attempts (optional)', '');
		await create();
		expect(screen.getByRole('alert')).toHaveTextContent('Choose the handler script.');
		expect(fetch).not.toHaveBeenCalled();
	});

	it('cannot be sent without any script to run', () => {
		render(TriggerForm, { app: 'shop', scripts: [], onCreated: () => {} });
		expect(screen.getByRole('button', { name: 'Create trigger' })).toBeDisabled();
		expect(screen.getByLabelText('Handler script')).toHaveAccessibleDescription(
			'This app has no scripts yet: create the handler first.'
		);
	});
});
