// The hand-written API types of $lib/types, checked against the types
// generated from the server's OpenAPI document (schema.d.ts): svelte-check
// fails when they part. Answers: what the server sends must fit what the
// dashboard reads. Request bodies: what the dashboard sends must fit what
// the server takes. Nothing imports this module; it only type-checks.
import type * as T from '$lib/types';
import type { components } from './schema';

type S = components['schemas'];

/** A type with absent and null taken as one (every key present, `null`
 *  for "none") and every string as `string`. The document marks every
 *  `Option` field optional and nullable (utoipa), and the server sends
 *  `null`; it types several fields the dashboard knows the values of
 *  (`kind`, `invocation_type`, `outcome`, `window`) as plain strings. What
 *  is checked is the shape: every field the dashboard reads is there, with
 *  a type that fits. */
type Norm<T> = T extends null | undefined
	? null
	: T extends string
		? string
		: T extends readonly (infer U)[]
		? Norm<U>[]
		: T extends object
			? { [K in keyof T]-?: Norm<T[K]> }
			: T;

/** `true` when every `A` is a `B`, absent and null aside: every field `B`
 *  has, `A` has, with a type that fits. */
type Fits<A, B> = [Norm<A>] extends [Norm<B>] ? true : false;

/** Compiles only for `true`. */
function holds<_ extends true>(): void {}

// ----- answers: server → dashboard -----
holds<Fits<S['User'], T.User>>();
holds<Fits<S['Grant'], T.Grant>>();
holds<Fits<S['LoginAnswer'], T.LoginResponse>>();
holds<Fits<S['MeAnswer'], T.Me>>();
holds<Fits<S['App'], T.App>>();
holds<Fits<S['Domain'], T.Domain>>();
holds<Fits<S['Member'], T.Member>>();
holds<Fits<S['Script'], T.Script>>();
holds<Fits<S['ScriptStats'], T.ScriptStats>>();
holds<Fits<S['Percentiles'], T.Percentiles>>();
holds<Fits<S['DayUsage'], T.DayUsage>>();
holds<Fits<S['HourCount'], T.HourCount>>();
holds<Fits<S['UsagePoint'], T.UsagePoint>>();
holds<Fits<S['UsageSeries'], T.UsageSeries>>();
holds<Fits<S['ScriptSummary'], T.ScriptSummary>>();
holds<Fits<S['ScriptVersionSummary'], T.ScriptVersionSummary>>();
holds<Fits<S['ScriptVersion'], T.ScriptVersion>>();
holds<Fits<S['ExecStatus'], T.ExecStatus>>();
holds<Fits<S['LogLevel'], T.LogLevel>>();
holds<Fits<S['LogEntry'], T.LogEntry>>();
// The document leaves out a kept request's own fields (`RecordedRequest`
// flattens `HttpRequest`, which utoipa does not show): only the fields it
// adds are checked, and records are checked without it.
holds<Fits<S['ExecutionRecord'], Omit<T.Execution, 'request'>>>();
holds<Fits<S['RecordedRequest'], Pick<T.RecordedRequest, 'redacted_headers' | 'body_dropped'>>>();
holds<Fits<S['Replay']['response'], T.Replay['response']>>();
holds<Fits<S['ReplayResponse'], T.ReplayResponse>>();
holds<Fits<S['OutboundCall'], T.OutboundCall>>();
holds<Fits<S['Route'], T.Route>>();
holds<Fits<S['RouteTarget'], T.RouteTarget>>();
holds<Fits<S['RouteCheck'], T.RouteCheck>>();
holds<Fits<S['KvCollection'], T.KvCollection>>();
holds<Fits<S['KvEntry'], T.KvEntry>>();
holds<Fits<S['KvPage'], T.KvPage>>();
holds<Fits<S['KvItem'], T.KvItem>>();
holds<Fits<S['SecretInfo'], T.Secret>>();
holds<Fits<S['TriggerStats'], T.TriggerStats>>();
holds<Fits<S['Trigger'], T.Trigger>>();
holds<Fits<S['DeadLetter'], T.DeadLetter>>();
holds<Fits<S['ApiToken'], T.ApiToken>>();
holds<Fits<S['CreatedToken'], T.CreatedToken>>();
holds<Fits<S['ReleasedScript'], T.ReleasedScript>>();
holds<Fits<S['Snapshot'], T.ReleaseSnapshot>>();
holds<Fits<S['Release'], T.Release>>();
holds<Fits<S['Error'], T.ErrorBody>>();
holds<Fits<S['Items_App'], T.ItemList<T.App>>>();

// ----- request bodies: dashboard → server -----
holds<Fits<T.AppChange, S['AppUpdate']>>();
holds<Fits<T.NewApp, S['CreateAppBody']>>();
holds<Fits<T.NewScript, S['CreateScriptBody']>>();
holds<Fits<T.ScriptChange, S['UpdateScriptBody']>>();
holds<Fits<T.ReplayOptions, S['ReplayOptions']>>();
holds<Fits<T.NewRoute, S['CreateRouteBody']>>();
holds<Fits<T.NewTrigger, S['NewTrigger']>>();
holds<Fits<T.NewUser, S['CreateUserBody']>>();
holds<Fits<T.SandboxOverrides, S['SandboxOverrides']>>();
