//! `secrets::get(NAME)`.

use std::sync::OnceLock;

use rhai::{Dynamic, Module, Shared};

use crate::context::{RhaiResult, current};
use crate::frame;

/// `secrets::get(NAME)`: the value of the app's secret, or `()` when it has
/// none of that name. The value is remembered for the execution, which
/// redacts it from its logs and errors (see `frame::saw_secret`).
fn secrets_get(name: Dynamic) -> RhaiResult<Dynamic> {
    const WHAT: &str = "secrets::get";
    let name = name
        .into_immutable_string()
        .map_err(|t| format!("{WHAT}: a secret name is a string, not {t}"))?;
    picloud_shared::secrets::check_secret_name(&name).map_err(|e| format!("{WHAT}: {e}"))?;
    let sdk = current()?;
    let secrets = sdk
        .connected(WHAT)?
        .services
        .secrets
        .clone()
        .ok_or_else(|| format!("{WHAT} is not available in this executor"))?;
    let value = match secrets.get_now(&sdk.cx, &name) {
        Some(answer) => crate::context::service_answer(WHAT, answer)?,
        None => sdk.block_on(WHAT, |_, cx| secrets.get(cx, &name))?,
    };
    Ok(match value {
        Some(value) => {
            frame::saw_secret(&name, &value);
            value.into()
        }
        None => Dynamic::UNIT,
    })
}

pub(crate) fn secrets_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            m.set_native_fn("get", secrets_get);
            m.build_index();
            m.into()
        })
        .clone()
}
