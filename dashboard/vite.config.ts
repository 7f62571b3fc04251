import { sveltekit } from '@sveltejs/kit/vite';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit(), svelteTesting()],
	build: {
		// build/ is committed and embedded in the picloud binary: keep it small.
		sourcemap: false
	},
	server: {
		// `npm run dev`: the admin API of a local picloud (PICLOUD_URL, else
		// http://127.0.0.1:8080). The Host header must pass through unchanged
		// so that picloud's same-origin check on cookie-authenticated writes
		// sees an Origin naming the Host: hence the object form with
		// changeOrigin: false (Vite's string shorthand turns it on).
		proxy: {
			'/api': {
				target: process.env.PICLOUD_URL ?? 'http://127.0.0.1:8080',
				changeOrigin: false
			}
		}
	},
	test: {
		environment: 'jsdom',
		include: ['src/**/*.test.ts'],
		setupFiles: ['./src/test-setup.ts'],
		restoreMocks: true,
		unstubGlobals: true
	}
});
