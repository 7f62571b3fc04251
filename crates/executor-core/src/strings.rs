//! PiCloud's own versions of Rhai string built-ins that hang or are slow.
//!
//! They take the same arguments and give the same answers as Rhai's
//! (`tests/stdlib.rs` compares them on a grid of inputs), but:
//! - `pad` with an empty padding does nothing instead of never returning;
//! - `sub_string`, `crop` and `index_of` from a position find their place
//!   by walking the string's characters once, where Rhai's first copy every
//!   character of the string into a new array (and `index_of` into a new
//!   string). On 1 MiB that was up to 50 ms in one native call, which no
//!   operation limit can interrupt, and a loop of `sub_string(i, 1)` over a
//!   string cost time in the square of its length.
//!
//! And one that is only slow: `string + integer` and `integer + string`
//! give Rhai's text, built directly, where Rhai's own look up and call
//! `to_string` for the integer through a dynamic call on every use (a
//! tenth of a script that builds `"item " + i` strings in a loop;
//! docs/performance.md).
//!
//! Registered in the sandbox's override module, after the standard library,
//! so they shadow it.

use std::ops::Range;

use rhai::{EvalAltResult, INT, ImmutableString, Module, NativeCallContext, Position};

/// Rhai's `start..end` and `start..=end` values.
type ExclusiveRange = Range<INT>;
type InclusiveRange = std::ops::RangeInclusive<INT>;

/// Adds the replacements to `m`.
pub(crate) fn register(m: &mut Module) {
    m.set_native_fn("+", |s: ImmutableString, n: INT| Ok(with_int(&s, n, true)));
    m.set_native_fn("+", |n: INT, s: ImmutableString| Ok(with_int(&s, n, false)));

    m.set_native_fn(
        "pad",
        |ctx: NativeCallContext, s: &mut ImmutableString, len: INT, with: ImmutableString| {
            pad(&ctx, s, len, &with)
        },
    );
    m.set_native_fn(
        "pad",
        |ctx: NativeCallContext, s: &mut ImmutableString, len: INT, with: char| {
            pad(&ctx, s, len, with.encode_utf8(&mut [0; 4]))
        },
    );

    m.set_native_fn("sub_string", |s: ImmutableString, start: INT, len: INT| {
        Ok(sub_string(&s, start, len))
    });
    m.set_native_fn("sub_string", |s: ImmutableString, start: INT| {
        Ok(sub_string(&s, start, INT::MAX))
    });
    m.set_native_fn("sub_string", |s: ImmutableString, r: ExclusiveRange| {
        let (start, len) = exclusive(&r);
        Ok(sub_string(&s, start, len))
    });
    m.set_native_fn("sub_string", |s: ImmutableString, r: InclusiveRange| {
        let (start, len) = inclusive(&r);
        Ok(sub_string(&s, start, len))
    });

    m.set_native_fn("crop", |s: &mut ImmutableString, start: INT, len: INT| {
        crop(s, start, len);
        Ok(())
    });
    m.set_native_fn("crop", |s: &mut ImmutableString, start: INT| {
        crop(s, start, INT::MAX);
        Ok(())
    });
    m.set_native_fn("crop", |s: &mut ImmutableString, r: ExclusiveRange| {
        let (start, len) = exclusive(&r);
        crop(s, start, len);
        Ok(())
    });
    m.set_native_fn("crop", |s: &mut ImmutableString, r: InclusiveRange| {
        let (start, len) = inclusive(&r);
        crop(s, start, len);
        Ok(())
    });

    m.set_native_fn(
        "index_of",
        |s: ImmutableString, find: ImmutableString, start: INT| {
            Ok(index_of(&s, start, |rest| rest.find(find.as_str())))
        },
    );
    m.set_native_fn("index_of", |s: ImmutableString, find: char, start: INT| {
        Ok(index_of(&s, start, |rest| rest.find(find)))
    });
}

/// `s.pad(len, with)`: appends `with` (cut short at the end if need be)
/// until `s` is `len` characters long. Does nothing when `s` is that long
/// already or `with` is empty (as JavaScript's `padEnd`), and refuses a
/// result longer than the string limit before building it.
fn pad(
    ctx: &NativeCallContext,
    s: &mut ImmutableString,
    len: INT,
    with: &str,
) -> Result<(), Box<EvalAltResult>> {
    let too_large = || EvalAltResult::ErrorDataTooLarge("Length of string".into(), Position::NONE);
    if len <= 0 || with.is_empty() {
        return Ok(());
    }
    let max = ctx.engine().max_string_size();
    let len = usize::try_from(len).map_err(|_| too_large())?;
    if max > 0 && len > max {
        return Err(too_large().into());
    }
    let Some(missing) = len.checked_sub(s.chars().count()).filter(|&n| n > 0) else {
        return Ok(());
    };
    let per_copy = with.chars().count();
    let (copies, rest) = (missing / per_copy, missing % per_copy);
    // `rest` < `per_copy`: the first `rest` characters of `with`.
    let tail = &with[..byte_of_char(with, rest).unwrap_or(0)];
    let bytes = s.len() + copies * with.len() + tail.len();
    if max > 0 && bytes > max {
        return Err(too_large().into());
    }
    let out = s.make_mut();
    // `repeat` copies in doubling blocks: 1 MiB takes well under a millisecond.
    out.push_str(&with.repeat(copies));
    out.push_str(tail);
    Ok(())
}

/// The byte where the `n`th character (from 0) starts; `None` past the end.
fn byte_of_char(s: &str, n: usize) -> Option<usize> {
    // Where the text before is ASCII (checked many bytes at a time), a
    // character is a byte.
    if n < s.len() && s.as_bytes()[..n].is_ascii() {
        return Some(n);
    }
    s.char_indices().nth(n).map(|(byte, _)| byte)
}

/// The byte where the `back`th character from the end (from 1) starts, or
/// 0 when `s` has fewer characters: Rhai's negative positions.
fn byte_of_char_from_end(s: &str, back: u64) -> usize {
    // No more characters than bytes.
    let Some(back) = usize::try_from(back).ok().filter(|&back| back <= s.len()) else {
        return 0;
    };
    let at = s.len() - back;
    if s.as_bytes()[at..].is_ascii() {
        return at;
    }
    s.char_indices()
        .rev()
        .nth(back - 1)
        .map_or(0, |(byte, _)| byte)
}

/// The byte where character `start` begins, by Rhai's rules: a negative
/// `start` counts from the end (before the first character is the first
/// character); `None` past the end.
fn start_byte(s: &str, start: INT) -> Option<usize> {
    match usize::try_from(start) {
        Ok(start) => byte_of_char(s, start),
        Err(_) if start >= 0 => None, // beyond a 32-bit address space
        Err(_) => Some(byte_of_char_from_end(s, start.unsigned_abs())),
    }
}

/// Where in `s` the characters `start..start + len` are, by Rhai's rules
/// ([`start_byte`]; a `start` past the end or a `len` ≤ 0 is nothing, and a
/// `len` past the end stops at the end). `None` for nothing.
fn char_span(s: &str, start: INT, len: INT) -> Option<Range<usize>> {
    if s.is_empty() || len <= 0 {
        return None;
    }
    let first = start_byte(s, start)?;
    let rest = &s[first..];
    // No more characters than bytes: a length of at least the bytes left
    // needs no walk.
    let end = usize::try_from(len)
        .ok()
        .filter(|&len| len < rest.len())
        .and_then(|len| byte_of_char(rest, len))
        .unwrap_or(rest.len());
    Some(first..first + end)
}

/// Rhai's reading of `start..end` as a start and a length.
fn exclusive(r: &ExclusiveRange) -> (INT, INT) {
    let start = r.start.max(0);
    (start, r.end.max(start) - start)
}

/// Rhai's reading of `start..=end` as a start and a length.
fn inclusive(r: &InclusiveRange) -> (INT, INT) {
    let start = (*r.start()).max(0);
    let end = (*r.end()).max(start).min(INT::MAX - 1);
    (start, end - start + 1)
}

fn sub_string(s: &ImmutableString, start: INT, len: INT) -> ImmutableString {
    match char_span(s, start, len) {
        Some(span) if span.len() == s.len() => s.clone(),
        Some(span) => (&s[span]).into(),
        None => ImmutableString::new(),
    }
}

fn crop(s: &mut ImmutableString, start: INT, len: INT) {
    match char_span(s, start, len) {
        Some(span) if span.len() == s.len() => {}
        Some(span) => match s.get_mut() {
            Some(own) => {
                own.truncate(span.end);
                own.drain(..span.start);
            }
            None => *s = (&s[span]).into(),
        },
        None if s.is_empty() => {}
        None => *s = ImmutableString::new(),
    }
}

/// `s.index_of(x, start)`: the character position of the first `x` at or
/// after character `start` (negative counts from the end, before the start
/// is the start), or -1. `find` gives a byte offset into the rest.
fn index_of(s: &str, start: INT, find: impl Fn(&str) -> Option<usize>) -> INT {
    if s.is_empty() {
        return -1;
    }
    let Some(first) = start_byte(s, start) else {
        return -1;
    };
    find(&s[first..])
        .and_then(|at| INT::try_from(s[..first + at].chars().count()).ok())
        .unwrap_or(-1)
}

/// `s` with the decimal text of `n` after it (`after`) or before it.
/// Written without `core::fmt`, and a short result (the usual `"item " + i`)
/// built on the stack: Rhai keeps strings of up to 23 bytes inline, so the
/// result's one allocation is its shared box (docs/performance.md).
fn with_int(s: &str, n: INT, after: bool) -> ImmutableString {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    let (head, tail) = if after { (s, digits) } else { (digits, s) };
    let len = head.len() + tail.len();
    let mut short = [0u8; 23];
    if let Some(buf) = short.get_mut(..len) {
        buf[..head.len()].copy_from_slice(head.as_bytes());
        buf[head.len()..].copy_from_slice(tail.as_bytes());
        // Two whole strings joined: valid UTF-8, so never the fallback.
        if let Ok(text) = std::str::from_utf8(buf) {
            return text.into();
        }
    }
    let mut out = String::with_capacity(len);
    out.push_str(head);
    out.push_str(tail);
    out.into()
}
