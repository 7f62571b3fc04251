//! The standard library namespaces of SDK 1.0 (contract.md, "What a script
//! sees"): `json`, `base64`, `crypto`, `uuid`, `time`, `rand` and `regex`.
//!
//! Each namespace is a static module built once and shared by every engine.
//! Bad input is a catchable script error that names the function and has the
//! call's position (`json::parse: expected value at line 1 column 1`);
//! nothing here panics on anything a script controls. Results that could
//! outgrow the sandbox's array or string limits are checked while they are
//! built, so an oversized result is refused before it fills memory.
//! docs/stdlib-reference.md is the script author's reference.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use rand::Rng;
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, FLOAT, FuncRegistration, INT, ImmutableString, Module,
    NativeCallContext, Shared,
};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::convert::{json_text, json_text_pretty, json_text_to_dynamic};
use crate::frame::before_long_call;

/// `crypto::random_hex(n)` accepts `1..=MAX_RANDOM_BYTES`.
pub const MAX_RANDOM_BYTES: INT = 1024;
/// The longest regex pattern, in bytes.
pub const MAX_PATTERN_LEN: usize = 4 << 10;
/// The most memory a compiled regex may take (`RegexBuilder::size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The lazy DFA cache of one compiled regex (`RegexBuilder::dfa_size_limit`).
const REGEX_DFA_SIZE_LIMIT: usize = 256 << 10;
/// The work one regex search may need at worst: automaton states × bytes of
/// text. The slowest searches measured took ~10 ns a unit: about a second.
pub const MAX_REGEX_WORK: usize = 100_000_000;
/// The time one call may spend iterating over matches (`find_all`, `split`,
/// `replace`), checked between matches.
pub const REGEX_TIME_BUDGET: Duration = Duration::from_secs(1);
/// Compiled regexes kept per script thread, and the automaton states they
/// may hold in all (a bound on the cache's memory); it is cleared when full.
const REGEX_CACHE_ENTRIES: usize = 64;
const REGEX_CACHE_STATES: usize = 100_000;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Registers the seven namespaces on an engine.
pub fn register(engine: &mut Engine) {
    static MODULES: OnceLock<[Shared<Module>; 7]> = OnceLock::new();
    let modules = MODULES.get_or_init(|| {
        [
            json_module(),
            base64_module(),
            crypto_module(),
            uuid_module(),
            time_module(),
            rand_module(),
            regex_module(),
        ]
    });
    for module in modules {
        let name = module.id().unwrap_or_default();
        engine.register_static_module(name, module.clone());
    }
}

/// Finishes a namespace. Its id is its name: errors use it (see [`fail`]).
fn namespace(name: &str, mut m: Module) -> Shared<Module> {
    m.set_id(name);
    m.build_index();
    m.into()
}

/// A catchable script error at the call: `"{namespace}::{function}: {what}"`.
fn fail(ctx: &NativeCallContext, what: impl Display) -> Box<EvalAltResult> {
    let message = format!(
        "{}::{}: {what}",
        ctx.fn_source().unwrap_or_default(),
        ctx.fn_name()
    );
    EvalAltResult::ErrorRuntime(message.into(), ctx.call_position()).into()
}

/// A sandbox limit error, reported like Rhai's own (`limit_exceeded`).
fn too_large(ctx: &NativeCallContext, what: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorDataTooLarge(what.into(), ctx.call_position()).into()
}

/// Calls `f` with the bytes of a string (UTF-8) or a blob.
fn with_bytes<T>(ctx: &NativeCallContext, value: &Dynamic, f: impl FnOnce(&[u8]) -> T) -> Res<T> {
    if let Ok(s) = value.as_immutable_string_ref() {
        before_long_call(s.len());
        return Ok(f(s.as_bytes()));
    }
    if let Ok(b) = value.as_blob_ref() {
        before_long_call(b.len());
        return Ok(f(&b));
    }
    Err(fail(
        ctx,
        format_args!("expected a string or a blob, got {}", value.type_name()),
    ))
}

// ---------------------------------------------------------------------------
// json

fn json_module() -> Shared<Module> {
    let mut m = Module::new();
    m.set_native_fn("parse", |ctx: NativeCallContext, s: ImmutableString| {
        before_long_call(s.len());
        // serde_json refuses nesting deeper than 128 levels.
        json_text_to_dynamic(&s).map_err(|e| fail(&ctx, e))
    });
    m.set_native_fn("stringify", |ctx: NativeCallContext, v: Dynamic| {
        json_text(&v).map_err(|e| fail(&ctx, e))
    });
    m.set_native_fn("pretty", |ctx: NativeCallContext, v: Dynamic| {
        json_text_pretty(&v).map_err(|e| fail(&ctx, e))
    });
    namespace("json", m)
}

// ---------------------------------------------------------------------------
// base64

/// Decoding accepts input with or without its `=` padding.
const fn lenient(alphabet: &base64::alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}
const STANDARD_DECODE: GeneralPurpose = lenient(&base64::alphabet::STANDARD);
const URL_SAFE_DECODE: GeneralPurpose = lenient(&base64::alphabet::URL_SAFE);

fn decode(ctx: &NativeCallContext, engine: &GeneralPurpose, s: &str) -> Res<String> {
    let bytes = engine
        .decode(s)
        .map_err(|e| fail(ctx, format_args!("invalid base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| fail(ctx, "the decoded bytes are not UTF-8 text"))
}

fn base64_module() -> Shared<Module> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let mut m = Module::new();
    m.set_native_fn("encode", |ctx: NativeCallContext, v: Dynamic| {
        with_bytes(&ctx, &v, |b| STANDARD.encode(b))
    });
    m.set_native_fn("encode_url", |ctx: NativeCallContext, v: Dynamic| {
        with_bytes(&ctx, &v, |b| URL_SAFE_NO_PAD.encode(b))
    });
    m.set_native_fn("decode", |ctx: NativeCallContext, s: ImmutableString| {
        decode(&ctx, &STANDARD_DECODE, &s)
    });
    m.set_native_fn(
        "decode_url",
        |ctx: NativeCallContext, s: ImmutableString| decode(&ctx, &URL_SAFE_DECODE, &s),
    );
    namespace("base64", m)
}

// ---------------------------------------------------------------------------
// crypto

fn crypto_module() -> Shared<Module> {
    let mut m = Module::new();
    m.set_native_fn("sha256", |ctx: NativeCallContext, v: Dynamic| {
        with_bytes(&ctx, &v, |b| hex::encode(Sha256::digest(b)))
    });
    m.set_native_fn("sha512", |ctx: NativeCallContext, v: Dynamic| {
        with_bytes(&ctx, &v, |b| hex::encode(Sha512::digest(b)))
    });
    m.set_native_fn(
        "hmac_sha256",
        |ctx: NativeCallContext, key: Dynamic, msg: Dynamic| {
            let mut mac = with_bytes(&ctx, &key, Hmac::<Sha256>::new_from_slice)?
                .map_err(|e| fail(&ctx, e))?;
            with_bytes(&ctx, &msg, |b| mac.update(b))?;
            Ok(hex::encode(mac.finalize().into_bytes()))
        },
    );
    // Constant time in the contents; the lengths are compared first.
    m.set_native_fn("equal", |ctx: NativeCallContext, a: Dynamic, b: Dynamic| {
        with_bytes(&ctx, &a, |a| {
            with_bytes(&ctx, &b, |b| bool::from(a.ct_eq(b)))
        })?
    });
    FuncRegistration::new("random_hex")
        .with_volatility(true)
        .set_into_module(&mut m, |ctx: NativeCallContext, n: INT| {
            let Some(len) = usize::try_from(n)
                .ok()
                .filter(|_| (1..=MAX_RANDOM_BYTES).contains(&n))
            else {
                return Err(fail(
                    &ctx,
                    format_args!("n_bytes must be between 1 and {MAX_RANDOM_BYTES}, got {n}"),
                ));
            };
            // ThreadRng is a CSPRNG seeded from the operating system.
            let mut bytes = vec![0u8; len];
            rand::rng().fill(&mut bytes[..]);
            Ok(hex::encode(bytes))
        });
    namespace("crypto", m)
}

// ---------------------------------------------------------------------------
// uuid

fn uuid_module() -> Shared<Module> {
    let mut m = Module::new();
    FuncRegistration::new("v4")
        .with_volatility(true)
        .set_into_module(&mut m, || uuid::Uuid::new_v4().to_string());
    // Ordered by creation within the process.
    FuncRegistration::new("v7")
        .with_volatility(true)
        .set_into_module(&mut m, || uuid::Uuid::now_v7().to_string());
    // The hyphenated form only (36 characters), any version, either case.
    FuncRegistration::new("is_valid").set_into_module(&mut m, |s: ImmutableString| {
        s.len() == 36 && uuid::Uuid::try_parse(&s).is_ok()
    });
    namespace("uuid", m)
}

// ---------------------------------------------------------------------------
// time

fn utc(ts: jiff::Timestamp) -> jiff::ZonedDateTime {
    ts.to_zoned_datetime(jiff::tz::TimeZone::UTC)
}

fn time_module() -> Shared<Module> {
    let mut m = Module::new();
    FuncRegistration::new("now")
        .with_volatility(true)
        .set_into_module(&mut m, || -> INT {
            jiff::Timestamp::now().as_millisecond()
        });
    FuncRegistration::new("now_iso")
        .with_volatility(true)
        .set_into_module(&mut m, |ctx: NativeCallContext| {
            let now = utc(jiff::Timestamp::now());
            jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%S%.3fZ", &now).map_err(|e| fail(&ctx, e))
        });
    m.set_native_fn(
        "format",
        |ctx: NativeCallContext, ms: INT, fmt: ImmutableString| {
            let ts = jiff::Timestamp::from_millisecond(ms).map_err(|e| fail(&ctx, e))?;
            jiff::fmt::strtime::format(fmt.as_bytes(), &utc(ts)).map_err(|e| fail(&ctx, e))
        },
    );
    m.set_native_fn("parse", |ctx: NativeCallContext, s: ImmutableString| {
        s.parse::<jiff::Timestamp>()
            .map(jiff::Timestamp::as_millisecond)
            .map_err(|e| fail(&ctx, e))
    });
    namespace("time", m)
}

// ---------------------------------------------------------------------------
// rand

fn rand_module() -> Shared<Module> {
    let mut m = Module::new();
    FuncRegistration::new("int")
        .with_volatility(true)
        .set_into_module(&mut m, |ctx: NativeCallContext, lo: INT, hi: INT| {
            if lo > hi {
                return Err(fail(
                    &ctx,
                    format_args!("lo ({lo}) is greater than hi ({hi})"),
                ));
            }
            Ok(rand::rng().random_range(lo..=hi))
        });
    FuncRegistration::new("float")
        .with_volatility(true)
        .set_into_module(&mut m, || -> FLOAT { rand::rng().random() });
    // `&mut`: a variable is passed by reference, not copied.
    FuncRegistration::new("pick")
        .with_volatility(true)
        .set_into_module(&mut m, |items: &mut Array| {
            if items.is_empty() {
                return Dynamic::UNIT;
            }
            items[rand::rng().random_range(0..items.len())].clone()
        });
    namespace("rand", m)
}

// ---------------------------------------------------------------------------
// regex
//
// The regex crate guarantees linear-time searches, but the constant is the
// size of the pattern's automaton: a crafted pattern within the size limit
// can take seconds per MiB of text in one search, and iterating over matches
// can be quadratic (`(?s)a.*x|a` on a long run of `a`s). The sandbox's
// deadline cannot interrupt a native function, so each call is bounded here:
// one search by automaton states × text length, an iteration by time.

/// A compiled pattern and the number of states of its automaton.
struct Pattern {
    regex: regex::Regex,
    states: usize,
}

#[derive(Default)]
struct PatternCache {
    patterns: HashMap<ImmutableString, Pattern>,
    states: usize,
}

thread_local! {
    /// Compiled patterns, per script thread: no lock shared between scripts.
    static PATTERNS: RefCell<PatternCache> = RefCell::new(PatternCache::default());
}

fn compile_pattern(ctx: &NativeCallContext, pattern: &str) -> Res<Pattern> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(fail(
            ctx,
            format_args!(
                "the pattern is {} bytes long; at most {MAX_PATTERN_LEN} are allowed",
                pattern.len()
            ),
        ));
    }
    let regex = regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| fail(ctx, regex_error(&e)))?;
    // The automaton the regex crate falls back to, built to count its states.
    let nfa = regex_automata::nfa::thompson::NFA::compiler()
        .configure(
            regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(REGEX_SIZE_LIMIT)),
        )
        .build(pattern)
        .map_err(|e| fail(ctx, format_args!("invalid pattern: {e}")))?;
    Ok(Pattern {
        regex,
        states: nfa.states().len(),
    })
}

fn regex_error(e: &regex::Error) -> String {
    match e {
        // The message draws the pattern with a caret; its last line says what is wrong.
        regex::Error::Syntax(msg) => {
            let what = msg.rsplit("error: ").next().unwrap_or(msg).trim();
            format!("invalid pattern: {what}")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("the pattern is too complex: it compiles to more than {limit} bytes")
        }
        other => format!("invalid pattern: {other}"),
    }
}

/// Calls `f` with the compiled pattern (compiled and cached if needed),
/// after checking that one search of `text` stays within [`MAX_REGEX_WORK`].
fn with_regex<T>(
    ctx: &NativeCallContext,
    pattern: &ImmutableString,
    text: &str,
    f: impl FnOnce(&regex::Regex) -> Res<T>,
) -> Res<T> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.patterns.contains_key(pattern) {
            let compiled = compile_pattern(ctx, pattern)?;
            if cache.patterns.len() >= REGEX_CACHE_ENTRIES
                || cache.states + compiled.states > REGEX_CACHE_STATES
            {
                *cache = PatternCache::default();
            }
            cache.states += compiled.states;
            cache.patterns.insert(pattern.clone(), compiled);
        }
        let Some(compiled) = cache.patterns.get(pattern) else {
            return Err(fail(ctx, "the pattern cache lost an entry"));
        };
        if compiled.states.saturating_mul(text.len()) > MAX_REGEX_WORK {
            return Err(fail(
                ctx,
                format_args!(
                    "the pattern is too complex for a string of {} bytes: its automaton has {} \
                     states, and states × bytes may be at most {MAX_REGEX_WORK}",
                    text.len(),
                    compiled.states
                ),
            ));
        }
        before_long_call(compiled.states.saturating_mul(text.len()));
        f(&compiled.regex)
    })
}

/// The time a call has spent iterating over matches: at most
/// [`REGEX_TIME_BUDGET`], and never past the script's own deadline (which
/// then ends the script as a timeout).
struct TimeBudget {
    started: Instant,
    left: Duration,
}

impl TimeBudget {
    fn start() -> Self {
        TimeBudget {
            started: Instant::now(),
            left: crate::frame::time_left(),
        }
    }

    fn check(&self, ctx: &NativeCallContext) -> Res<()> {
        let elapsed = self.started.elapsed();
        if elapsed >= self.left {
            return Err(crate::frame::deadline_passed());
        }
        if elapsed > REGEX_TIME_BUDGET {
            return Err(fail(
                ctx,
                format_args!(
                    "gave up after {} ms: the pattern is too slow on this string",
                    REGEX_TIME_BUDGET.as_millis()
                ),
            ));
        }
        Ok(())
    }
}

/// An array of strings (or `()` for `None`), refused as soon as it grows past
/// the sandbox's array size or its strings past the string size, or when the
/// search takes longer than [`REGEX_TIME_BUDGET`].
fn limited_array<'s>(
    ctx: &NativeCallContext,
    items: impl Iterator<Item = Option<&'s str>>,
) -> Res<Array> {
    let budget = TimeBudget::start();
    let max_items = ctx.engine().max_array_size();
    let max_bytes = ctx.engine().max_string_size();
    let (mut out, mut bytes) = (Array::new(), 0usize);
    for item in items {
        budget.check(ctx)?;
        if max_items > 0 && out.len() >= max_items {
            return Err(too_large(ctx, "Size of array/BLOB"));
        }
        out.push(match item {
            Some(s) => {
                bytes = bytes.saturating_add(s.len());
                if max_bytes > 0 && bytes > max_bytes {
                    return Err(too_large(ctx, "Length of string"));
                }
                s.into()
            }
            None => Dynamic::UNIT,
        });
    }
    Ok(out)
}

/// Replaces every match, expanding `$1`, `${name}` and `$$` in `with`.
fn replace_all(ctx: &NativeCallContext, re: &regex::Regex, s: &str, with: &str) -> Res<String> {
    let budget = TimeBudget::start();
    let max = match ctx.engine().max_string_size() {
        0 => usize::MAX,
        max => max,
    };
    // `expand` cannot be stopped as it writes: `$0` repeated in `with` on a
    // long match would grow without bound. A reference expands to at most the
    // whole match, so refuse a match whose expansion could pass the limit.
    let references = with.bytes().filter(|&b| b == b'$').count();
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        budget.check(ctx)?;
        let m = caps.get_match();
        let bound = with
            .len()
            .saturating_add(references.saturating_mul(m.len()));
        if bound > max {
            return Err(too_large(ctx, "Length of string"));
        }
        out.push_str(&s[last..m.start()]);
        caps.expand(with, &mut out);
        if out.len() > max {
            return Err(too_large(ctx, "Length of string"));
        }
        last = m.end();
    }
    out.push_str(&s[last..]);
    if out.len() > max {
        return Err(too_large(ctx, "Length of string"));
    }
    Ok(out)
}

fn regex_module() -> Shared<Module> {
    let mut m = Module::new();
    m.set_native_fn(
        "is_match",
        |ctx: NativeCallContext, re: ImmutableString, s: ImmutableString| {
            with_regex(&ctx, &re, &s, |re| Ok(re.is_match(&s)))
        },
    );
    m.set_native_fn(
        "find",
        |ctx: NativeCallContext, re: ImmutableString, s: ImmutableString| {
            with_regex(&ctx, &re, &s, |re| {
                Ok(re.find(&s).map_or(Dynamic::UNIT, |m| m.as_str().into()))
            })
        },
    );
    m.set_native_fn(
        "find_all",
        |ctx: NativeCallContext, re: ImmutableString, s: ImmutableString| {
            with_regex(&ctx, &re, &s, |re| {
                limited_array(&ctx, re.find_iter(&s).map(|m| Some(m.as_str())))
            })
        },
    );
    m.set_native_fn(
        "replace",
        |ctx: NativeCallContext, re: ImmutableString, s: ImmutableString, with: ImmutableString| {
            with_regex(&ctx, &re, &s, |re| replace_all(&ctx, re, &s, &with))
        },
    );
    m.set_native_fn(
        "captures",
        |ctx: NativeCallContext, re: ImmutableString, s: ImmutableString| {
            with_regex(&ctx, &re, &s, |re| match re.captures(&s) {
                None => Ok(Dynamic::UNIT),
                Some(caps) => {
                    let groups = caps.iter().map(|g| g.map(|g| g.as_str()));
                    limited_array(&ctx, groups).map(Dynamic::from_array)
                }
            })
        },
    );
    m.set_native_fn(
        "split",
        |ctx: NativeCallContext, re: ImmutableString, s: ImmutableString| {
            with_regex(&ctx, &re, &s, |re| {
                limited_array(&ctx, re.split(&s).map(Some))
            })
        },
    );
    namespace("regex", m)
}
