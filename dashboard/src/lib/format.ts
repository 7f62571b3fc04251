/** A timestamp for people, in their locale; the input as is if unparsable. */
export function formatTime(iso: string): string {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
