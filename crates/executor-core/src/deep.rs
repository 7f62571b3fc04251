//! Deeply nested data: what keeps a script's arrays and maps, nested as
//! deep as its limits let it, from overflowing the stack of the thread it
//! runs on.
//!
//! Rhai walks nested data recursively: to check sizes, clone, drop, hash,
//! format and compare it. The nesting a script can build is bounded two
//! ways: by its size limits (nested elements count towards
//! `max_array_size` and `max_map_size`), and by time, since every level a
//! script adds makes Rhai walk every level below it (its size check), so
//! building `D` levels takes `D²/2` steps. [`nesting_bound`] takes the
//! lower of the two, and [`stack_for`] sizes a stack for it.
//!
//! Most of Rhai's walks take a few hundred bytes of stack per level. Two
//! take about 1.8 KiB: formatting (`to_string`, `to_debug`, `print`,
//! `debug`, string interpolation) and comparing (`==`, `!=`, and through
//! them `contains`, `in`, `index_of`, `dedup`). PiCloud's versions of
//! those ([`register`]) answer as Rhai's do, and grow the stack as they go
//! deeper (`stacker`), so no depth is too deep for them.

use picloud_shared::SandboxLimits;
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map, Module, NativeCallContext};

use crate::pool::SCRIPT_STACK_SIZE;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Stack one level of nesting takes in the walks left to Rhai (the size
/// check, cloning, dropping, hashing): measured at 130 to 360 bytes a level
/// in a release build and up to 610 in a debug one (maps cost most).
const STACK_PER_LEVEL: u64 = 768;

/// The evaluator's own recursion (call levels × expression depth at their
/// ceilings) and everything else on the stack.
const STACK_BASE: u64 = 16 << 20;

/// An upper bound on how fast Rhai walks nested data when it checks sizes,
/// in levels visited per second. Measured at 3 to 5 × 10⁷ on the project's
/// 2-core machine; this allows for one ten times faster.
const WALK_RATE: f64 = 5e8;

/// Stack left at which PiCloud's own walks continue on a new segment, and
/// the size of that segment.
const RED_ZONE: usize = 256 << 10;
const SEGMENT: usize = 4 << 20;

/// The deepest nesting a script with these limits can build: its size
/// limits allow at most one level per array element and map entry, and
/// its time limit at most `√(2 · WALK_RATE · timeout)` levels (building
/// `D` levels makes Rhai walk `D²/2` of them).
pub fn nesting_bound(limits: &SandboxLimits) -> u64 {
    let by_size = limits.max_array_size.saturating_add(limits.max_map_size);
    let seconds = limits.timeout_ms as f64 / 1000.0;
    let by_time = (2.0 * WALK_RATE * seconds).sqrt().ceil() as u64;
    by_size.min(by_time)
}

/// The stack an execution with these limits needs, when that is more than
/// a script thread has ([`SCRIPT_STACK_SIZE`]): the executor then runs it
/// on a stack of this size of its own (`stacker`: address space, of which
/// only the pages used take memory). `None` for every limit up to the
/// default ceilings.
pub fn stack_for(limits: &SandboxLimits) -> Option<usize> {
    let need = nesting_bound(limits)
        .saturating_mul(STACK_PER_LEVEL)
        .saturating_add(STACK_BASE);
    let need = usize::try_from(need).unwrap_or(usize::MAX);
    // In whole MiB.
    (need > SCRIPT_STACK_SIZE).then(|| need.div_ceil(1 << 20) << 20)
}

/// Runs `f`, on a new stack segment when little of this one is left.
fn deeper<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

// ----- formatting -----

/// An element as Rhai shows it inside an array or map: its `to_debug`,
/// written out here for arrays and maps.
fn write_debug(ctx: &NativeCallContext, out: &mut String, x: &mut Dynamic) {
    if x.is_array() {
        if let Ok(mut a) = x.as_array_mut() {
            deeper(|| write_array(ctx, out, &mut a));
        }
        return;
    }
    if x.is_map() {
        if let Ok(mut m) = x.as_map_mut() {
            deeper(|| write_map(ctx, out, &mut m));
        }
        return;
    }
    // As Rhai's `print_with_func` turns the answer into text.
    match ctx.call_native_fn_raw("to_debug", true, &mut [x]) {
        Ok(s) if s.is_string() => out.push_str(&s.into_immutable_string().unwrap_or_default()),
        Ok(other) => out.push_str(ctx.engine().map_type_name(other.type_name())),
        Err(_) => out.push_str(ctx.engine().map_type_name(&format!("{x:?}"))),
    }
}

/// Rhai's `format_array`: `[a, b]`, each element by its `to_debug`.
fn write_array(ctx: &NativeCallContext, out: &mut String, array: &mut Array) {
    out.push('[');
    for (i, x) in array.iter_mut().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_debug(ctx, out, x);
    }
    out.push(']');
}

/// Rhai's `format_map`: `#{"k": v}`, each value by its `to_debug`.
fn write_map(ctx: &NativeCallContext, out: &mut String, map: &mut Map) {
    out.push_str("#{");
    for (i, (k, v)) in map.iter_mut().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("{k:?}: "));
        write_debug(ctx, out, v);
    }
    out.push('}');
}

fn format_array(ctx: NativeCallContext, array: &mut Array) -> ImmutableString {
    let mut out = String::new();
    write_array(&ctx, &mut out, array);
    out.into()
}

fn format_map(ctx: NativeCallContext, map: &mut Map) -> ImmutableString {
    let mut out = String::new();
    write_map(&ctx, &mut out, map);
    out.into()
}

/// A value as a message: a string as it is, anything else as Rhai shows
/// it (for thrown values and log messages). No depth is too deep.
pub fn describe(value: &Dynamic) -> String {
    if value.is_string() {
        return value.clone().into_string().unwrap_or_default();
    }
    let mut out = String::new();
    write_plain(&mut out, value, true);
    out
}

/// Rhai's `Display` (`top`) or `Debug` of a value, written out for arrays
/// and maps.
fn write_plain(out: &mut String, x: &Dynamic, top: bool) {
    if let Ok(a) = x.as_array_ref() {
        out.push('[');
        for (i, e) in a.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            deeper(|| write_plain(out, e, false));
        }
        out.push(']');
    } else if let Ok(m) = x.as_map_ref() {
        out.push_str("#{");
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("{k:?}: "));
            deeper(|| write_plain(out, v, false));
        }
        out.push('}');
    } else if top {
        out.push_str(&x.to_string());
    } else {
        out.push_str(&format!("{x:?}"));
    }
}

// ----- comparing -----

/// `a == b` as Rhai answers it for two elements of an array (`in_array`)
/// or two values of a map.
fn elements_equal(
    ctx: &NativeCallContext,
    a: &mut Dynamic,
    b: &mut Dynamic,
    in_array: bool,
) -> RhaiResult<bool> {
    if a.is_array() && b.is_array() {
        let (Ok(mut x), Ok(mut y)) = (a.as_array_mut(), b.as_array_mut()) else {
            return Ok(false);
        };
        return deeper(|| arrays_equal(ctx, &mut x, &mut y));
    }
    if a.is_map() && b.is_map() {
        let (Ok(mut x), Ok(mut y)) = (a.as_map_mut(), b.as_map_mut()) else {
            return Ok(false);
        };
        return deeper(|| maps_equal(ctx, &mut x, &mut y));
    }
    let same_type = a.type_id() == b.type_id();
    match ctx.call_native_fn_raw("==", true, &mut [a, b]) {
        Ok(v) => Ok(v.as_bool().unwrap_or(false)),
        // Rhai's array comparison: no `==` for two different types is
        // `false`; for one type, an error. Its map comparison: an error.
        Err(e)
            if in_array
                && !same_type
                && matches!(&*e, EvalAltResult::ErrorFunctionNotFound(sig, ..) if sig.starts_with("==")) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

fn arrays_equal(ctx: &NativeCallContext, a: &mut Array, b: &mut Array) -> RhaiResult<bool> {
    if a.len() != b.len() {
        return Ok(false);
    }
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        if !elements_equal(ctx, x, y, true)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn maps_equal(ctx: &NativeCallContext, a: &mut Map, b: &mut Map) -> RhaiResult<bool> {
    if a.len() != b.len() {
        return Ok(false);
    }
    for (k, x) in a.iter_mut() {
        let Some(y) = b.get_mut(k) else {
            return Ok(false);
        };
        if !elements_equal(ctx, x, y, false)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// PiCloud's formatting and comparing of arrays and maps, in place of
/// Rhai's (registered after the standard library, so they shadow it).
pub(crate) fn register(m: &mut Module) {
    for name in ["print", "to_string", "debug", "to_debug"] {
        m.set_native_fn(name, |ctx: NativeCallContext, a: &mut Array| {
            Ok(format_array(ctx, a))
        });
        m.set_native_fn(name, |ctx: NativeCallContext, map: &mut Map| {
            Ok(format_map(ctx, map))
        });
    }
    m.set_native_fn(
        "==",
        |ctx: NativeCallContext, a: &mut Array, mut b: Array| arrays_equal(&ctx, a, &mut b),
    );
    m.set_native_fn(
        "!=",
        |ctx: NativeCallContext, a: &mut Array, mut b: Array| {
            arrays_equal(&ctx, a, &mut b).map(|eq| !eq)
        },
    );
    m.set_native_fn("==", |ctx: NativeCallContext, a: &mut Map, mut b: Map| {
        maps_equal(&ctx, a, &mut b)
    });
    m.set_native_fn("!=", |ctx: NativeCallContext, a: &mut Map, mut b: Map| {
        maps_equal(&ctx, a, &mut b).map(|eq| !eq)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ceilings_need_no_stack_of_their_own() {
        assert_eq!(stack_for(&SandboxLimits::DEFAULT_CEILINGS), None);
        assert_eq!(stack_for(&SandboxLimits::DEFAULTS), None);
    }

    #[test]
    fn raised_ceilings_get_a_stack_for_the_deepest_nesting_they_reach() {
        let max = SandboxLimits::MAX_CEILINGS;
        // Building D levels takes D²/2 walk steps: in 300 s at most
        // √(2 · 5e8 · 300) ≈ 548,000 levels, far fewer than the sizes allow.
        let bound = nesting_bound(&max);
        assert!((540_000..560_000).contains(&bound), "{bound}");
        let stack = stack_for(&max).expect("a stack of its own");
        assert!(stack as u64 >= bound * STACK_PER_LEVEL, "{stack}");
        assert!(stack <= 512 << 20, "{stack}");
        // Raised sizes but a short timeout: the time bounds the depth.
        let short = SandboxLimits {
            timeout_ms: 1_000,
            ..max
        };
        assert!(nesting_bound(&short) < 40_000);
        assert_eq!(stack_for(&short), None);
        // Long timeouts but small sizes: the sizes bound it.
        let small = SandboxLimits {
            max_array_size: 100,
            max_map_size: 100,
            ..max
        };
        assert_eq!(nesting_bound(&small), 200);
    }
}
