// The Content-Security-Policy of the built index.html allows exactly one
// inline style attribute, SvelteKit's route announcer, by its hash. If a
// SvelteKit upgrade changes that attribute, this fails: update
// ANNOUNCER_STYLE_HASH in svelte.config.js.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import config, { ANNOUNCER_STYLE_HASH } from '../../svelte.config.js';

describe('CSP', () => {
	it("allows the announcer's inline style by its hash", () => {
		const require = createRequire(import.meta.url);
		const kitDir = require.resolve('@sveltejs/kit/package.json').replace(/package\.json$/, '');
		const source = readFileSync(`${kitDir}src/core/sync/write_root.js`, 'utf8');
		const style = source.match(/id="svelte-announcer"[^>]*\sstyle="([^"]*)"/)?.[1];
		expect(style, 'the announcer has an inline style').toBeDefined();
		const hash = `sha256-${createHash('sha256').update(style!).digest('base64')}`;
		expect(ANNOUNCER_STYLE_HASH).toBe(hash);
		expect(config.kit?.csp?.directives?.['style-src-attr']).toContain(hash);
	});

	it('allows no inline code without a hash', () => {
		const directives = config.kit?.csp?.directives ?? {};
		for (const [name, sources] of Object.entries(directives)) {
			expect(sources, name).not.toContain('unsafe-inline');
			expect(sources, name).not.toContain('unsafe-eval');
		}
		expect(config.kit?.csp?.mode).toBe('hash');
	});
});
