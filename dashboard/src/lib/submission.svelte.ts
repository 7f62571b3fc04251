// The one scaffold of a form (or a button) that sends a request: busy
// while it is on its way (the submit button is disabled on it), and the
// error of its last answer, in words (shown by ErrorMessage). Checks of the
// fields before sending set `error` themselves.
import { errorText } from './api';

export class Submission {
	busy = $state(false);
	error = $state<string | null>(null);

	/** Runs `action` as the form's submission: clears the last error, is
	 *  busy until it ends, and keeps what went wrong, as `describe` words it
	 *  (the API's own message by default). */
	async run(
		action: () => Promise<void>,
		describe: (e: unknown) => string = errorText
	): Promise<void> {
		this.busy = true;
		this.error = null;
		try {
			await action();
		} catch (e) {
			this.error = describe(e);
		} finally {
			this.busy = false;
		}
	}
}
