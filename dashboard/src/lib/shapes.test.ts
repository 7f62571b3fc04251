// Ties e2e/shapes.mjs (what the end-to-end test checks against a real
// server) to the client's types: `npm run check` fails unless each shape
// has exactly its type's keys, optional exactly where the type's are.
import { describe, expect, it } from 'vitest';
import { misfits, shapes } from '../../e2e/shapes.mjs';
import type * as T from './types';

/** The shape a type should have: each key, and whether it may be absent. */
type Shape<X> = {
	readonly [K in keyof X]-?: object extends Pick<X, K> ? 'optional' : 'required';
};

/** true only when A and B are exactly the same type. */
type Equals<A, B> =
	(<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;

/** Compiles only when the shape is exactly its type's; returns the shape. */
function same<A, B>(shape: B, ok: Equals<A, B>): B {
	expect(ok).toBe(true);
	return shape;
}

describe('the API shapes match the client types', () => {
	it('key for key', () => {
		const pairs = [
			same<Shape<T.User>, typeof shapes.user>(shapes.user, true),
			same<Shape<T.Grant>, typeof shapes.grant>(shapes.grant, true),
			same<Shape<T.Me>, typeof shapes.me>(shapes.me, true),
			same<Shape<T.LoginResponse>, typeof shapes.login>(shapes.login, true),
			same<Shape<T.App>, typeof shapes.app>(shapes.app, true),
			same<Shape<T.Domain>, typeof shapes.domain>(shapes.domain, true),
			same<Shape<T.Member>, typeof shapes.member>(shapes.member, true),
			same<Shape<T.Script>, typeof shapes.script>(shapes.script, true),
			same<Shape<T.ScriptSummary>, typeof shapes.scriptSummary>(shapes.scriptSummary, true),
			same<Shape<T.ScriptStats>, typeof shapes.scriptStats>(shapes.scriptStats, true),
			same<Shape<T.DayUsage>, typeof shapes.dayUsage>(shapes.dayUsage, true),
			same<Shape<T.HourCount>, typeof shapes.hourCount>(shapes.hourCount, true),
			same<Shape<T.Percentiles>, typeof shapes.percentiles>(shapes.percentiles, true),
			same<Shape<T.UsageSeries>, typeof shapes.usageSeries>(shapes.usageSeries, true),
			same<Shape<T.UsagePoint>, typeof shapes.usagePoint>(shapes.usagePoint, true),
			same<Shape<T.Execution>, typeof shapes.execution>(shapes.execution, true),
			same<Shape<T.Replay>, typeof shapes.replay>(shapes.replay, true),
			same<Shape<T.ReplayResponse>, typeof shapes.replayResponse>(shapes.replayResponse, true),
			same<Shape<T.ScriptVersionSummary>, typeof shapes.scriptVersionSummary>(
				shapes.scriptVersionSummary,
				true
			),
			same<Shape<T.ScriptVersion>, typeof shapes.scriptVersion>(shapes.scriptVersion, true),
			same<Shape<T.Release>, typeof shapes.release>(shapes.release, true),
			same<Shape<T.ReleaseSnapshot>, typeof shapes.releaseSnapshot>(shapes.releaseSnapshot, true),
			same<Shape<T.ReleasedScript>, typeof shapes.releasedScript>(shapes.releasedScript, true),
			same<Shape<T.LogEntry>, typeof shapes.logEntry>(shapes.logEntry, true),
			same<Shape<T.Route>, typeof shapes.route>(shapes.route, true),
			same<Shape<T.RouteCheck>, typeof shapes.routeCheck>(shapes.routeCheck, true),
			same<Shape<T.RouteTarget>, typeof shapes.routeTarget>(shapes.routeTarget, true),
			same<Shape<T.KvCollection>, typeof shapes.kvCollection>(shapes.kvCollection, true),
			same<Shape<T.KvPage>, typeof shapes.kvPage>(shapes.kvPage, true),
			same<Shape<T.KvEntry>, typeof shapes.kvEntry>(shapes.kvEntry, true),
			same<Shape<T.KvItem>, typeof shapes.kvItem>(shapes.kvItem, true),
			same<Shape<T.Trigger>, typeof shapes.trigger>(shapes.trigger, true),
			same<Shape<T.TriggerStats>, typeof shapes.triggerStats>(shapes.triggerStats, true),
			same<Shape<T.Secret>, typeof shapes.secret>(shapes.secret, true),
			same<Shape<T.DeadLetter>, typeof shapes.deadLetter>(shapes.deadLetter, true),
			same<Shape<T.ApiToken>, typeof shapes.apiToken>(shapes.apiToken, true),
			same<Shape<T.CreatedToken>, typeof shapes.createdToken>(shapes.createdToken, true)
		];
		expect(pairs).toHaveLength(Object.keys(shapes).length);
	});

	it('says what does not fit', () => {
		expect(misfits('kvEntry', { key: 'k', value: 1 })).toEqual([]);
		expect(misfits('kvEntry', { key: 'k', extra: 1 })).toEqual([
			'kvEntry: no value',
			'kvEntry: unexpected extra'
		]);
		// Optional fields may be absent.
		expect(misfits('execution', { ...Object.fromEntries(
			Object.keys(shapes.execution)
				.filter((k) => !['event', 'outbound', 'request', 'replay_of', 'dry_run'].includes(k))
				.map((k) => [k, null])
		) })).toEqual([]);
		expect(misfits('app', null)).toEqual(['app: not an object']);
	});
});
