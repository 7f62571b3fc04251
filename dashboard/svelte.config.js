import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** sha256 of the style attribute of SvelteKit's route announcer. */
export const ANNOUNCER_STYLE_HASH = 'sha256-S8qMpvofolR8Mpjy4kQvEm7m1q8clzU4dfDH0AmvZjo=';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A single-page app: every path under /admin/ that is not a file in
		// build/ is answered with build/index.html, and the client routes it.
		adapter: adapter({
			pages: 'build',
			assets: 'build',
			fallback: 'index.html',
			precompress: false,
			strict: true
		}),
		paths: {
			base: '/admin',
			// Absolute asset URLs (/admin/_app/...), so the fallback page
			// works at any depth (/admin/apps/shop as well as /admin/).
			relative: false
		},
		// A strict policy without 'unsafe-inline': SvelteKit adds the hash of
		// its one inline bootstrap <script> to script-src and writes the
		// policy into a <meta http-equiv> tag of index.html.
		// (frame-ancestors cannot be set by a <meta> tag: the server sends it.)
		csp: {
			mode: 'hash',
			directives: {
				'default-src': ['none'],
				'script-src': ['self'],
				'style-src': ['self'],
				// The one inline style attribute: SvelteKit's route announcer
				// (<div id="svelte-announcer" style="position: absolute; …">),
				// allowed by the hash of its exact value and nothing else.
				// src/lib/csp.test.ts checks it against the installed kit.
				'style-src-attr': ['unsafe-hashes', ANNOUNCER_STYLE_HASH],
				'img-src': ['self'],
				'font-src': ['self'],
				'connect-src': ['self'],
				'manifest-src': ['self'],
				'base-uri': ['none'],
				'form-action': ['self'],
				'object-src': ['none']
			}
		},
		version: {
			// Stable across identical builds, so the committed build/ only
			// changes when the source does.
			name: 'picloud-dashboard'
		}
	}
};

export default config;
