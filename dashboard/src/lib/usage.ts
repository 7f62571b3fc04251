// The script page's charts: a usage series as chart columns.

import type { LineChart } from './chart';
import type { UsageSeries } from './types';

/** The three charts of a series: executions and errors, duration
 *  percentiles (ms), operation percentiles. */
export function usageCharts(series: UsageSeries): {
	executions: LineChart;
	duration: LineChart;
	operations: LineChart;
} {
	const xs = series.points.map((p) => Math.round(Date.parse(p.at) / 1000));
	const col = (f: (p: UsageSeries['points'][number]) => number | null) => series.points.map(f);
	const percentileColours = ['--focus', '--accent', '--danger'];
	return {
		executions: {
			labels: ['Executions', 'Errors'],
			colours: ['--focus', '--danger'],
			unit: 'per step',
			data: [xs, col((p) => p.invocations), col((p) => p.errors)]
		},
		duration: {
			labels: ['p50', 'p95', 'p99'],
			colours: percentileColours,
			unit: 'ms',
			data: [
				xs,
				col((p) => p.duration_ms.p50),
				col((p) => p.duration_ms.p95),
				col((p) => p.duration_ms.p99)
			]
		},
		operations: {
			labels: ['p50', 'p95', 'p99'],
			colours: percentileColours,
			unit: 'operations',
			data: [
				xs,
				col((p) => p.operations.p50),
				col((p) => p.operations.p95),
				col((p) => p.operations.p99)
			]
		}
	};
}
