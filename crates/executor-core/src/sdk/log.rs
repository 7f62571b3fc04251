//! The `log` namespace: `log::trace|info|warn|error(message[, data])`.
//! Entries are kept with the execution's record, within its log budget
//! (frame.rs), with the secrets it has read redacted.

use std::sync::OnceLock;

use picloud_shared::LogLevel;
use rhai::{Dynamic, EvalAltResult, Module, Shared};

use crate::convert::dynamic_to_json;
use crate::frame;
use crate::limits::MAX_LOG_MESSAGE;

fn push_log(
    level: LogLevel,
    message: Dynamic,
    data: Option<Dynamic>,
) -> Result<(), Box<EvalAltResult>> {
    let mut message = crate::deep::describe(&message);
    // Before the message is cut: a cut could leave part of a value that
    // no longer matches whole.
    frame::redact_secrets(&mut message);
    if message.len() > MAX_LOG_MESSAGE {
        let mut cut = MAX_LOG_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    let data = match data {
        None => None,
        Some(d) => Some(dynamic_to_json(&d).map_err(|e| format!("log data: {e}"))?),
    };
    frame::push_log(level, message, data);
    Ok(())
}

/// The `log` namespace: `log::trace|info|warn|error(message[, data])`.
pub(crate) fn log_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            for (name, level) in [
                ("trace", LogLevel::Trace),
                ("info", LogLevel::Info),
                ("warn", LogLevel::Warn),
                ("error", LogLevel::Error),
            ] {
                m.set_native_fn(name, move |msg: Dynamic| push_log(level, msg, None));
                m.set_native_fn(name, move |msg: Dynamic, data: Dynamic| {
                    push_log(level, msg, Some(data))
                });
            }
            m.build_index();
            m.into()
        })
        .clone()
}
