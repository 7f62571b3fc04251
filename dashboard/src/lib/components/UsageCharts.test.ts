import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LineChart } from '$lib/chart';
import { jsonResponse, mockApi } from '$lib/testing';
import type { UsagePoint, UsageSeries } from '$lib/types';
import UsageCharts from './UsageCharts.svelte';

// uPlot draws on a canvas, which jsdom lacks: the charts it is asked for
// are recorded instead.
const drawn = vi.hoisted(() => [] as LineChart[]);
vi.mock('$lib/chart', () => ({
	drawChart: (_el: HTMLElement, chart: LineChart) => {
		drawn.push(chart);
		return { update: (next: LineChart) => drawn.push(next), destroy: () => {} };
	}
}));

const NONE = { p50: null, p95: null, p99: null };

function point(i: number, over: Partial<UsagePoint> = {}): UsagePoint {
	return {
		at: new Date(Date.UTC(2025, 0, 1, 10, i)).toISOString(),
		invocations: 0,
		errors: 0,
		duration_ms: NONE,
		operations: NONE,
		...over
	};
}

function hour(): UsageSeries {
	const points = Array.from({ length: 60 }, (_, i) => point(i));
	points[58] = point(58, {
		invocations: 3,
		errors: 1,
		duration_ms: { p50: 1.5, p95: 9.1, p99: 9.1 },
		operations: { p50: 27, p95: 1500, p99: 1500 }
	});
	points[59] = point(59, {
		invocations: 2,
		duration_ms: { p50: 0.8, p95: 1.2, p99: 1.2 },
		operations: { p50: 27, p95: 27, p99: 27 }
	});
	return { window: 'hour', step_seconds: 60, points };
}

function day(): UsageSeries {
	const points = Array.from({ length: 96 }, (_, i) => point(i));
	points[95] = point(95, { invocations: 7 });
	return { window: 'day', step_seconds: 900, points };
}

beforeEach(() => {
	drawn.length = 0;
});

describe('UsageCharts', () => {
	it('charts the last hour: one point a minute, executions, duration and operations', async () => {
		const calls = mockApi({ 'GET /scripts/s1/usage?window=hour': () => jsonResponse(200, hour()) });
		render(UsageCharts, { scriptId: 's1' });
		await screen.findByText('Executions and errors');
		expect(calls.map((c) => c.path)).toEqual(['/scripts/s1/usage?window=hour']);
		expect(drawn.map((c) => c.labels)).toEqual([
			['Executions', 'Errors'],
			['p50', 'p95', 'p99'],
			['p50', 'p95', 'p99']
		]);
		const [executions, duration, operations] = drawn;
		for (const chart of drawn) expect(chart.data[0]).toHaveLength(60);
		expect(executions.data[1].slice(57)).toEqual([0, 3, 2]);
		expect(executions.data[2].slice(57)).toEqual([0, 1, 0]);
		expect(duration.data[3].slice(57)).toEqual([null, 9.1, 1.2]);
		expect(operations.data[2][58]).toBe(1500);
		// Unix seconds, a minute apart.
		expect(executions.data[0][1] - executions.data[0][0]).toBe(60);

		// The same figures as a table: the minutes with executions.
		await fireEvent.click(screen.getByText(/As a table \(2 of 60 minutes with executions\)/));
		const table = screen.getByRole('table', { name: 'Activity per minute, with executions' });
		const rows = within(table).getAllByRole('row').slice(1);
		expect(rows).toHaveLength(2);
		expect(rows[0]).toHaveTextContent('3');
		expect(rows[0]).toHaveTextContent('1.5 ms / 9.1 ms / 9.1 ms');
		expect(rows[0]).toHaveTextContent('27 / 1,500 / 1,500');
	});

	it('switches to the last day, a point every quarter of an hour', async () => {
		mockApi({
			'GET /scripts/s1/usage?window=hour': () => jsonResponse(200, hour()),
			'GET /scripts/s1/usage?window=day': () => jsonResponse(200, day())
		});
		render(UsageCharts, { scriptId: 's1' });
		await screen.findByText('Executions and errors');
		const dayButton = screen.getByRole('button', { name: 'Last day' });
		expect(dayButton).toHaveAttribute('aria-pressed', 'false');
		await fireEvent.click(dayButton);
		expect(
			await screen.findByText(/As a table \(1 of 96 quarter-hours with executions\)/)
		).toBeInTheDocument();
		expect(dayButton).toHaveAttribute('aria-pressed', 'true');
		const last = drawn.at(-3)!;
		expect(last.data[0]).toHaveLength(96);
		expect(last.data[1][95]).toBe(7);
	});

	it('says what went wrong when the series cannot be read', async () => {
		mockApi({
			'GET /scripts/s1/usage?window=hour': () =>
				jsonResponse(404, { error: { code: 'not_found', message: 'no such script' } })
		});
		render(UsageCharts, { scriptId: 's1' });
		expect(await screen.findByText(/no such script/)).toBeInTheDocument();
		expect(drawn).toHaveLength(0);
	});
});
