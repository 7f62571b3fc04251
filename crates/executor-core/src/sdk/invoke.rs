//! `invoke(name, args)`: a script calls another script of its own app,
//! in-process, and gets its value back as is. The executor runs the call
//! (nested.rs, behind [`Nest`](crate::context::Nest)).

use std::sync::OnceLock;

use rhai::{Dynamic, Module, Shared};

use crate::context::{RhaiResult, current};

/// `invoke(name, args)`, a global function.
pub(crate) fn invoke_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            m.set_native_fn("invoke", |name: &str, args: Dynamic| invoke(name, args));
            m.build_index();
            m.into()
        })
        .clone()
}

fn invoke(name: &str, args: Dynamic) -> RhaiResult<Dynamic> {
    let caller = current()?;
    let what = format!("invoke({name:?})");
    let script = caller
        .block_on(&what, |s, cx| s.scripts.resolve_for(cx, name))?
        .filter(|s| s.app_id == caller.cx.app_id)
        .ok_or_else(|| format!("{what}: there is no script named {name:?} in this app"))?;
    let executor = std::sync::Arc::clone(&caller.executor);
    executor.call(&caller, &what, script, args)
}
