import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { Submission } from './submission.svelte';

describe('Submission', () => {
	it('is busy while the action runs and clears the last error', async () => {
		const form = new Submission();
		form.error = 'old';
		let seen: boolean | null = null;
		await form.run(async () => {
			seen = form.busy;
		});
		expect(seen).toBe(true);
		expect(form.busy).toBe(false);
		expect(form.error).toBeNull();
	});

	it('keeps what went wrong, in the words asked for', async () => {
		const form = new Submission();
		await form.run(
			async () => {
				throw new ApiError(409, 'conflict', 'that name is taken');
			},
			(e) => `Could not: ${(e as ApiError).message}`
		);
		expect(form.error).toBe('Could not: that name is taken');
		expect(form.busy).toBe(false);
	});
});
