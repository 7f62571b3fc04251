// @vitest-environment node
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate } from '../../../scripts/gen-api.mjs';

describe('the API types', () => {
	it('are generated from the committed OpenAPI document', async () => {
		const committed = readFileSync(new URL('./schema.d.ts', import.meta.url), 'utf8');
		expect(committed, 'src/lib/api/schema.d.ts is stale: run `npm run gen:api`').toBe(
			await generate()
		);
	}, 30_000);
});
