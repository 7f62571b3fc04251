import { describe, expect, it } from 'vitest';
import { loginUrl, safeNext } from './nav';

describe('loginUrl', () => {
	it('remembers the path and query to come back to', () => {
		expect(loginUrl('/admin', '/admin/apps/shop?x=1')).toBe(
			'/admin/login?next=%2Fadmin%2Fapps%2Fshop%3Fx%3D1'
		);
	});
});

describe('safeNext', () => {
	it('goes back to a dashboard path', () => {
		expect(safeNext('/admin/apps/shop', '/admin')).toBe('/admin/apps/shop');
		expect(safeNext('/admin/apps/shop?tab=2', '/admin')).toBe('/admin/apps/shop?tab=2');
		expect(safeNext('/admin', '/admin')).toBe('/admin');
		expect(safeNext('/admin/', '/admin')).toBe('/admin/');
	});

	it('goes to the apps list without a usable next', () => {
		for (const bad of [
			null,
			undefined,
			'',
			'https://evil.example/admin/',
			'//evil.example/admin/',
			'/\\evil.example',
			'/admin/\\..\\x',
			'/\t/evil.example',
			'/administrator',
			'/api/v1/admin/apps',
			'javascript:alert(1)',
			'/admin/login',
			'/admin/login?next=/admin/'
		]) {
			expect(safeNext(bad, '/admin'), String(bad)).toBe('/admin/');
		}
	});
});
