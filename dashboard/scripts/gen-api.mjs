// Generates src/lib/api/schema.d.ts, the TypeScript types of the admin
// API, from src/lib/api/openapi.json, the server's OpenAPI document (a
// snapshot kept equal to what the server serves by the server's own test,
// crates/picloud/tests/openapi.rs). `npm run gen:api` writes it;
// src/lib/api/schema.test.ts fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const dir = new URL('../src/lib/api/', import.meta.url);

const HEADER =
	'// Generated from openapi.json by `npm run gen:api` (scripts/gen-api.mjs).\n' +
	'// Do not edit: change the server, refresh openapi.json, run it again.\n\n';

/** The text schema.d.ts should hold. */
export async function generate() {
	const doc = JSON.parse(readFileSync(new URL('openapi.json', dir), 'utf8'));
	return HEADER + astToString(await openapiTS(doc));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	writeFileSync(new URL('schema.d.ts', dir), await generate());
	console.log('wrote src/lib/api/schema.d.ts');
}
