// Line charts over time with uPlot (small, canvas-drawn, bundled: no CDN).
// The one place that touches uPlot, so component tests can stand it in.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineChart {
	/** The series' names, in the order of `data`'s columns after the first. */
	labels: string[];
	/** Which theme colour each series is drawn in (a CSS custom property). */
	colours: string[];
	/** The y axis' unit, for its label and the legend. */
	unit: string;
	/** x (Unix seconds) then one column per series; null is no value. */
	data: [number[], ...(number | null)[][]];
}

export interface ChartHandle {
	update(chart: LineChart): void;
	destroy(): void;
}

function colour(name: string): string {
	const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
	return value || '#888';
}

function options(chart: LineChart, width: number): uPlot.Options {
	return {
		width,
		height: 200,
		scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
		axes: [
			{ stroke: colour('--muted'), grid: { stroke: colour('--line') } },
			{ stroke: colour('--muted'), grid: { stroke: colour('--line') }, label: chart.unit }
		],
		series: [
			{},
			...chart.labels.map((label, i) => ({
				label,
				stroke: colour(chart.colours[i] ?? '--fg'),
				width: 2,
				points: { show: true, size: 4 },
				spanGaps: false
			}))
		]
	};
}

/** Draws `chart` into `el`, as wide as `el`, following its width. */
export function drawChart(el: HTMLElement, chart: LineChart): ChartHandle {
	const widthOf = () => Math.max(240, el.clientWidth || 600);
	let plot = new uPlot(options(chart, widthOf()), chart.data as uPlot.AlignedData, el);
	let shape = chart.labels.join('\n');
	const resized = new ResizeObserver(() => plot.setSize({ width: widthOf(), height: 200 }));
	resized.observe(el);
	return {
		update(next) {
			const nextShape = next.labels.join('\n');
			if (nextShape === shape) {
				plot.setData(next.data as uPlot.AlignedData);
			} else {
				plot.destroy();
				plot = new uPlot(options(next, widthOf()), next.data as uPlot.AlignedData, el);
				shape = nextShape;
			}
		},
		destroy() {
			resized.disconnect();
			plot.destroy();
		}
	};
}
