//! The hardened Rhai engine: the limits, the refused features, the
//! namespaces scripts see, compiling, and how Rhai's errors map to
//! PiCloud's statuses. The deadline and the budget an execution spends are
//! checked in frame.rs, through the engine's `on_progress` hook.
//!
//! Every guard here answers one of the escapes listed in the design's
//! rhai-notes.md; tests/sandbox.rs has a test for each.

use std::sync::{Arc, OnceLock};

use picloud_shared::{ExecStatus, SandboxLimits, ScriptError};
use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, EvalAltResult, INT, Module, OptimizationLevel, Position, Shared};

use crate::frame::{OPERATIONS_TOKEN, TIMEOUT_TOKEN};
use crate::limits as fixed;

/// Rhai's standard library, built once and shared by every engine.
fn std_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| StandardPackage::new().as_shared_module())
        .clone()
}

/// Replacements for built-ins that escape the sandbox. Registered after the
/// standard library, so they shadow it.
fn overrides_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            // Rhai's `sleep` blocks the thread where `on_progress` cannot
            // interrupt it, and `sleep(1e300)` panics: scripts cannot sleep.
            let refuse = "sleep() is not available in PiCloud scripts";
            m.set_native_fn("sleep", move |_: INT| -> Result<(), Box<EvalAltResult>> {
                Err(refuse.into())
            });
            m.set_native_fn(
                "sleep",
                move |_: rhai::FLOAT| -> Result<(), Box<EvalAltResult>> { Err(refuse.into()) },
            );
            // Rhai string built-ins that hang or are slow.
            crate::strings::register(&mut m);
            // Formatting and comparing arrays and maps, with no depth too
            // deep for the stack.
            crate::deep::register(&mut m);
            m.build_index();
            m.into()
        })
        .clone()
}

/// Builds an engine for one set of limits. Cheap (no standard library is
/// built here); the executor caches one per distinct set of limits.
pub fn build_engine(limits: &SandboxLimits) -> Engine {
    let mut e = Engine::new_raw();
    e.register_global_module(std_module());
    e.register_global_module(overrides_module());
    crate::sdk::register(&mut e);
    crate::stdlib::register(&mut e);

    // `import` is refused at compile time; no resolver and no modules back it up.
    e.set_module_resolver(DummyModuleResolver::new());
    e.set_max_modules(0);
    e.disable_symbol("import");
    // `eval` would bring unbounded compile work back to run time.
    e.disable_symbol("eval");
    // `curry` binds values inside a function pointer, where no size limit
    // counts them: chained in a loop, they nest without bound and dropping
    // the chain overflows the stack. Capturing closures do the same and are
    // compiled out (Rhai's `no_closure`).
    e.disable_symbol("curry");
    // print and debug are accepted and print nothing.
    e.on_print(|_| {});
    e.on_debug(|_, _, _| {});
    // Keep Simple: Full calls registered functions with constant arguments
    // at compile time.
    e.set_optimization_level(OptimizationLevel::Simple);
    // Undefined variables are reported at upload (the compile scope has `ctx`).
    e.set_strict_variables(true);
    // One interner per engine is a lock shared by every concurrent call.
    e.set_max_strings_interned(0);

    let usize_of = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    e.set_max_operations(limits.max_operations);
    e.set_max_call_levels(usize_of(limits.max_call_levels));
    e.set_max_expr_depths(
        usize_of(limits.max_expr_depth),
        usize_of(limits.max_expr_depth),
    );
    e.set_max_string_size(usize_of(limits.max_string_size));
    e.set_max_array_size(usize_of(limits.max_array_size));
    e.set_max_map_size(usize_of(limits.max_map_size));
    e.set_max_variables(fixed::MAX_VARIABLES);
    e.set_max_functions(fixed::MAX_FUNCTIONS);
    e.on_progress(crate::frame::progress);
    e
}

/// Counts declarations without a full parse: whole-word `let`, `const` and
/// `for` anywhere (inside strings and comments too, which only errs on the
/// safe side). Returns the count and the line and column (1-based) of the
/// first declaration past `limit`, if any.
pub fn count_declarations(source: &str, limit: usize) -> (usize, Option<(u32, u32)>) {
    let bytes = source.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let (mut count, mut first_over) = (0, None);
    let (mut line, mut line_start) = (1u32, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            if matches!(&bytes[start..i], b"let" | b"const" | b"for") {
                count += 1;
                if count == limit + 1 {
                    let column = source[line_start..start].chars().count() + 1;
                    first_over = Some((line, u32::try_from(column).unwrap_or(u32::MAX)));
                }
            }
        } else {
            if bytes[i] == b'\n' {
                line += 1;
                line_start = i + 1;
            }
            i += 1;
        }
    }
    (count, first_over)
}

/// Compiles a source with the engine it will run on.
pub fn compile(engine: &Engine, source: &str) -> Result<rhai::AST, ScriptError> {
    let (declarations, first_over) = count_declarations(source, fixed::MAX_DECLARATIONS);
    if let Some((line, column)) = first_over {
        let mut err = ScriptError::new(
            "compile_error",
            format!(
                "the script declares {declarations} variables (let, const, for); at most {} are allowed",
                fixed::MAX_DECLARATIONS
            ),
        );
        err.line = Some(line);
        err.column = Some(column);
        return Err(err);
    }
    let mut scope = rhai::Scope::new();
    scope.push("ctx", Dynamic::UNIT);
    engine.compile_with_scope(&scope, source).map_err(|e| {
        let mut err = ScriptError::new("compile_error", explain(&e, source));
        set_position(&mut err, e.position());
        err
    })
}

/// Rhai's message for a compile error, with PiCloud's reason where the
/// error comes from a refused feature.
fn explain(e: &rhai::ParseError, source: &str) -> String {
    use rhai::ParseErrorType as P;
    let message = e.err_type().to_string();
    let at = |pos: Position| -> Option<&str> {
        let (line, col) = (pos.line()?, pos.position()?);
        let text = source.lines().nth(line - 1)?;
        let start = text.char_indices().nth(col - 1).map(|(i, _)| i)?;
        Some(&text[start..])
    };
    match e.err_type() {
        P::BadInput(_) if message.contains("'curry'") => {
            "`curry` is not available in PiCloud scripts: it nests values inside a function \
             pointer without bound; pass the values as arguments of `call`"
                .to_owned()
        }
        // `f.curry(x)`: Rhai reports a missing property at `curry`.
        P::PropertyExpected if at(e.position()).is_some_and(|t| t.starts_with("curry")) => {
            "`curry` is not available in PiCloud scripts: it nests values inside a function \
             pointer without bound; pass the values as arguments of `call`"
                .to_owned()
        }
        // A closure that uses a variable from outside: capturing is off.
        P::VariableUndefined(name) if declared(source, name) => format!(
            "{message} (a closure cannot use `{name}` from outside it: closures do not capture \
             variables in PiCloud scripts; use a `for` loop, or a script function called with \
             `{name}` as an argument)"
        ),
        _ => message,
    }
}

/// Whether `name` is declared somewhere in `source` (`let`, `const`, a
/// `for` variable or a parameter), so an "undefined" use of it is a capture.
fn declared(source: &str, name: &str) -> bool {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = source.as_bytes();
    source.match_indices(name).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + name.len()).copied();
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            return false;
        }
        let head = source[..i].trim_end();
        head.ends_with("let")
            || head.ends_with("const")
            || head.ends_with("for")
            || head.ends_with('(')
            || head.ends_with(',')
            || head.ends_with('|')
    })
}

fn set_position(err: &mut ScriptError, pos: Position) {
    if let (Some(line), Some(col)) = (pos.line(), pos.position()) {
        err.line = u32::try_from(line).ok();
        err.column = u32::try_from(col).ok();
    } else if let Some(line) = pos.line() {
        err.line = u32::try_from(line).ok();
    }
}

/// Maps a Rhai runtime error to PiCloud's status and error.
pub fn classify(err: &EvalAltResult, limits: &SandboxLimits) -> (ExecStatus, ScriptError) {
    let inner = err.unwrap_inner();
    // The innermost error has the real position (inside a function).
    let pos = if inner.position().is_none() {
        err.position()
    } else {
        inner.position()
    };
    let (status, code, message) = match inner {
        EvalAltResult::ErrorTerminated(token, _)
            if token.clone().into_string().ok().as_deref() == Some(TIMEOUT_TOKEN) =>
        {
            (
                ExecStatus::Timeout,
                "timeout",
                format!("the script ran longer than {} ms", limits.timeout_ms),
            )
        }
        EvalAltResult::ErrorTerminated(token, _)
            if token.clone().into_string().ok().as_deref() == Some(OPERATIONS_TOKEN) =>
        {
            (
                ExecStatus::LimitExceeded,
                "limit_exceeded",
                format!(
                    "the script and the scripts it invoked ran more than {} operations",
                    limits.max_operations
                ),
            )
        }
        EvalAltResult::ErrorTooManyOperations(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!(
                "the script ran more than {} operations",
                limits.max_operations
            ),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!(
                "function calls nested deeper than {} levels",
                limits.max_call_levels
            ),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!("{what} grew past the sandbox limit"),
        ),
        EvalAltResult::ErrorTooManyVariables(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!("more than {} variables in scope", fixed::MAX_VARIABLES),
        ),
        EvalAltResult::ErrorTooManyModules(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            "modules cannot be loaded".to_owned(),
        ),
        EvalAltResult::ErrorRuntime(value, _) => (
            ExecStatus::Error,
            "script_error",
            // A thrown value may be nested as deep as the limits allow.
            crate::deep::describe(value),
        ),
        other => (ExecStatus::Error, "script_error", other.to_string()),
    };
    let mut e = ScriptError::new(code, strip_position(&message));
    set_position(&mut e, pos);
    (status, e)
}

/// Rhai appends " (line L, position P)" to some messages; the position is
/// reported in its own fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

/// A shared engine per distinct set of limits.
#[derive(Default)]
pub struct EngineCache {
    engines: std::sync::RwLock<foldhash::HashMap<SandboxLimits, Arc<Engine>>>,
}

impl EngineCache {
    pub fn get(&self, limits: &SandboxLimits) -> Arc<Engine> {
        if let Some(e) = self
            .engines
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(limits)
        {
            return Arc::clone(e);
        }
        let engine = Arc::new(build_engine(limits));
        let mut engines = self.engines.write().unwrap_or_else(|p| p.into_inner());
        Arc::clone(engines.entry(*limits).or_insert(engine))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_keep_the_guards_from_rhai_notes() {
        let e = build_engine(&SandboxLimits::DEFAULTS);
        // Full optimisation would call registered functions at compile time.
        assert_eq!(e.optimization_level(), OptimizationLevel::Simple);
        // The string interner is one lock shared by every call on the engine.
        assert_eq!(e.max_strings_interned(), 0);
        assert_eq!(e.max_modules(), 0);
        assert_eq!(e.max_call_levels(), 32);
        assert_eq!(e.max_expr_depth(), 64);
        assert_eq!(e.max_function_expr_depth(), 64);
    }

    #[test]
    fn declarations_are_counted_with_the_position_past_the_limit() {
        assert_eq!(count_declarations("let a = 1; const b = 2;", 5), (2, None));
        assert_eq!(count_declarations("letter = 1; // forget", 5), (0, None));
        assert_eq!(
            count_declarations("let a = 1;\n  let b = 2;", 1),
            (2, Some((2, 3)))
        );
    }
}
