// Polling that is polite to the server and the battery: one request at a
// time (the next is scheduled only when the last has settled, by chained
// setTimeout, never setInterval), nothing while the tab is hidden, and
// nothing at all until start() or after stop().

/** What the poller needs of `document`: its visibility and its events. */
export type VisibilitySource = Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>;

export interface PollerOptions {
	/** Milliseconds from the end of one run to the start of the next. */
	intervalMs?: number;
	/** Whose visibility pauses polling; `document` by default (none outside a browser). */
	visibility?: VisibilitySource | null;
	/** Called with what a run threw (it does not stop the polling). */
	onError?: (error: unknown) => void;
}

export interface Poller {
	/** Runs the task now (when visible), then every interval. Idempotent. */
	start(): void;
	/** No more runs; the signal of a run in flight is aborted. Idempotent. */
	stop(): void;
	readonly running: boolean;
}

/** The default interval: two seconds. */
export const POLL_INTERVAL_MS = 2000;

/**
 * A poller of `task`. The task gets an AbortSignal that is aborted when the
 * poller stops: an answer that arrives after that should be dropped.
 */
export function createPoller(
	task: (signal: AbortSignal) => Promise<unknown> | unknown,
	options: PollerOptions = {}
): Poller {
	const interval = options.intervalMs ?? POLL_INTERVAL_MS;
	const visibility =
		options.visibility !== undefined
			? options.visibility
			: typeof document !== 'undefined'
				? document
				: null;

	let running = false;
	let inFlight = false;
	let timer: ReturnType<typeof setTimeout> | null = null;
	let controller: AbortController | null = null;

	const visible = () => visibility === null || visibility.visibilityState !== 'hidden';

	function clearTimer() {
		if (timer !== null) {
			clearTimeout(timer);
			timer = null;
		}
	}

	function schedule() {
		clearTimer();
		if (running && visible() && !inFlight) timer = setTimeout(run, interval);
	}

	async function run() {
		timer = null;
		if (!running || !visible() || inFlight || controller === null) return;
		const signal = controller.signal;
		inFlight = true;
		try {
			await task(signal);
		} catch (e) {
			if (!signal.aborted) options.onError?.(e);
		} finally {
			inFlight = false;
		}
		// Also after a stop() and start() during the run: the new start
		// left the scheduling to this run, so that runs never overlap.
		schedule();
	}

	function onVisibilityChange() {
		if (!running) return;
		if (!visible()) {
			clearTimer();
		} else if (timer === null && !inFlight) {
			// Back in view: catch up at once, then on schedule.
			void run();
		}
	}

	return {
		start() {
			if (running) return;
			running = true;
			controller = new AbortController();
			visibility?.addEventListener('visibilitychange', onVisibilityChange);
			if (!inFlight) void run();
		},
		stop() {
			if (!running) return;
			running = false;
			clearTimer();
			controller?.abort();
			controller = null;
			visibility?.removeEventListener('visibilitychange', onVisibilityChange);
		},
		get running() {
			return running;
		}
	};
}
