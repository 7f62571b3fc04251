import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPoller, type VisibilitySource } from './poll';

/** A stand-in for `document`: its visibility can be switched. */
class FakeDocument extends EventTarget {
	visibilityState: DocumentVisibilityState = 'visible';
	set(state: DocumentVisibilityState) {
		this.visibilityState = state;
		this.dispatchEvent(new Event('visibilitychange'));
	}
}

function fakeDoc() {
	const doc = new FakeDocument();
	return { doc, visibility: doc as unknown as VisibilitySource };
}

/** A task whose runs settle only when told to. */
function deferredTask() {
	const pending: (() => void)[] = [];
	const signals: AbortSignal[] = [];
	const task = vi.fn(
		(signal: AbortSignal) =>
			new Promise<void>((resolve) => {
				signals.push(signal);
				pending.push(resolve);
			})
	);
	return { task, signals, settle: () => pending.shift()?.() };
}

beforeEach(() => {
	vi.useFakeTimers();
});

afterEach(() => {
	vi.useRealTimers();
});

describe('createPoller', () => {
	it('does nothing until started', async () => {
		const { visibility } = fakeDoc();
		const task = vi.fn(async () => {});
		createPoller(task, { intervalMs: 2000, visibility });
		await vi.advanceTimersByTimeAsync(10_000);
		expect(task).not.toHaveBeenCalled();
	});

	it('runs at once, then every interval after the last run settled', async () => {
		const { visibility } = fakeDoc();
		const task = vi.fn(async () => {});
		const poller = createPoller(task, { intervalMs: 2000, visibility });
		poller.start();
		expect(task).toHaveBeenCalledTimes(1);
		await vi.advanceTimersByTimeAsync(1999);
		expect(task).toHaveBeenCalledTimes(1);
		await vi.advanceTimersByTimeAsync(1);
		expect(task).toHaveBeenCalledTimes(2);
		await vi.advanceTimersByTimeAsync(4000);
		expect(task).toHaveBeenCalledTimes(4);
		poller.stop();
	});

	it('never overlaps runs: a slow run delays the next', async () => {
		const { visibility } = fakeDoc();
		const { task, settle } = deferredTask();
		const poller = createPoller(task, { intervalMs: 2000, visibility });
		poller.start();
		expect(task).toHaveBeenCalledTimes(1);
		await vi.advanceTimersByTimeAsync(10_000);
		expect(task).toHaveBeenCalledTimes(1);
		settle();
		await vi.advanceTimersByTimeAsync(1999);
		expect(task).toHaveBeenCalledTimes(1);
		await vi.advanceTimersByTimeAsync(1);
		expect(task).toHaveBeenCalledTimes(2);
		poller.stop();
	});

	it('does not start a second run when restarted while one is in flight', async () => {
		const { visibility } = fakeDoc();
		const { task, signals, settle } = deferredTask();
		const poller = createPoller(task, { intervalMs: 2000, visibility });
		poller.start();
		poller.stop();
		expect(signals[0].aborted).toBe(true);
		poller.start();
		expect(task).toHaveBeenCalledTimes(1);
		settle();
		await vi.advanceTimersByTimeAsync(2000);
		expect(task).toHaveBeenCalledTimes(2);
		expect(signals[1].aborted).toBe(false);
		poller.stop();
	});

	it('pauses while hidden and catches up when visible again', async () => {
		const { doc, visibility } = fakeDoc();
		const task = vi.fn(async () => {});
		const poller = createPoller(task, { intervalMs: 2000, visibility });
		poller.start();
		expect(task).toHaveBeenCalledTimes(1);

		doc.set('hidden');
		await vi.advanceTimersByTimeAsync(20_000);
		expect(task).toHaveBeenCalledTimes(1);

		doc.set('visible');
		expect(task).toHaveBeenCalledTimes(2);
		await vi.advanceTimersByTimeAsync(2000);
		expect(task).toHaveBeenCalledTimes(3);
		poller.stop();
	});

	it('does not run when started in a hidden tab, until it is shown', async () => {
		const { doc, visibility } = fakeDoc();
		doc.visibilityState = 'hidden';
		const task = vi.fn(async () => {});
		const poller = createPoller(task, { intervalMs: 2000, visibility });
		poller.start();
		await vi.advanceTimersByTimeAsync(10_000);
		expect(task).not.toHaveBeenCalled();
		doc.set('visible');
		expect(task).toHaveBeenCalledTimes(1);
		poller.stop();
	});

	it('stops for good on stop(), and ignores visibility afterwards', async () => {
		const { doc, visibility } = fakeDoc();
		const task = vi.fn(async () => {});
		const poller = createPoller(task, { intervalMs: 2000, visibility });
		poller.start();
		expect(poller.running).toBe(true);
		poller.stop();
		expect(poller.running).toBe(false);
		await vi.advanceTimersByTimeAsync(10_000);
		doc.set('hidden');
		doc.set('visible');
		await vi.advanceTimersByTimeAsync(10_000);
		expect(task).toHaveBeenCalledTimes(1);
	});

	it('keeps polling after a failed run and reports the error', async () => {
		const { visibility } = fakeDoc();
		const onError = vi.fn();
		const task = vi.fn().mockRejectedValueOnce(new Error('down')).mockResolvedValue(undefined);
		const poller = createPoller(task, { intervalMs: 2000, visibility, onError });
		poller.start();
		await vi.advanceTimersByTimeAsync(0);
		expect(onError).toHaveBeenCalledWith(new Error('down'));
		await vi.advanceTimersByTimeAsync(2000);
		expect(task).toHaveBeenCalledTimes(2);
		poller.stop();
	});

	it('uses setTimeout, not setInterval', () => {
		const { visibility } = fakeDoc();
		const setInterval = vi.spyOn(globalThis, 'setInterval');
		const poller = createPoller(async () => {}, { intervalMs: 2000, visibility });
		poller.start();
		poller.stop();
		expect(setInterval).not.toHaveBeenCalled();
	});

	it("follows the real document's visibility by default", async () => {
		let state: DocumentVisibilityState = 'visible';
		vi.spyOn(document, 'visibilityState', 'get').mockImplementation(() => state);
		const task = vi.fn(async () => {});
		const poller = createPoller(task, { intervalMs: 2000 });
		poller.start();
		state = 'hidden';
		document.dispatchEvent(new Event('visibilitychange'));
		await vi.advanceTimersByTimeAsync(10_000);
		expect(task).toHaveBeenCalledTimes(1);
		state = 'visible';
		document.dispatchEvent(new Event('visibilitychange'));
		expect(task).toHaveBeenCalledTimes(2);
		poller.stop();
	});
});
