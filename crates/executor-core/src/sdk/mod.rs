//! What a script reaches beyond Rhai itself: the `log`, `kv`, `secrets` and
//! `http` namespaces and `invoke`. Each is a static module built once and
//! shared by every engine; what it acts on comes from the execution's
//! context (context.rs), never from the script.

mod http;
mod invoke;
mod kv;
mod log;
mod secrets;

use rhai::Engine;

pub use crate::context::SdkServices;

/// Registers the SDK's namespaces and types on an engine.
pub(crate) fn register(e: &mut Engine) {
    e.register_static_module("log", log::log_module());
    e.register_static_module("kv", kv::kv_module());
    e.register_static_module("secrets", secrets::secrets_module());
    e.register_static_module("http", http::http_module());
    e.register_global_module(kv::handle_methods());
    e.register_global_module(invoke::invoke_module());
    e.register_type_with_name::<kv::Collection>("kv::Collection");
}
