//! The stateful part of the SDK: `kv::collection(name)` and its handle,
//! and `secrets::get(NAME)`.
//!
//! Services reach the executor as injected traits ([`SdkServices`]); the
//! executor never touches a database. A call into a service is async; the
//! script's thread blocks on it (after handing the runtime over if it is a
//! runtime thread: see runtime.rs), bounded by what is left of the
//! execution's time, so a slow store cannot hold a script past its deadline.
//!
//! Handles carry the call's [`SdkCallCx`]: the app a service acts on comes
//! from there and nowhere else.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use picloud_shared::kv::{KvListOptions, KvService, SdkCallCx};
use picloud_shared::{BoxFuture, ScriptResolver, SecretService};
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map, Module, Shared};
use tokio::runtime::Handle;

use crate::convert::{dynamic_to_json, json_to_dynamic};
use crate::sandbox;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// What scripts can reach beyond Rhai itself.
#[derive(Clone)]
pub struct SdkServices {
    pub kv: Arc<dyn KvService>,
    /// Finds the scripts `invoke` calls.
    pub scripts: Arc<dyn ScriptResolver>,
    /// The app's secrets; `None` where this executor cannot reach them.
    pub secrets: Option<Arc<dyn SecretService>>,
    /// Outbound HTTP (`http::request`); `None`: off.
    pub http: Option<Arc<crate::outbound::Outbound>>,
}

/// The services and the runtime their futures run on.
pub(crate) struct Connected {
    pub services: SdkServices,
    pub runtime: Handle,
    /// A dry run's: its KV store is an overlay (overlay.rs) and outbound
    /// calls are not sent.
    pub dry_run: bool,
}

impl Connected {
    /// The same services for one dry run: KV writes kept in an overlay of
    /// its own.
    pub(crate) fn dry_run(&self) -> Connected {
        Connected {
            services: SdkServices {
                kv: Arc::new(crate::overlay::DryRunKv::new(Arc::clone(&self.services.kv))),
                ..self.services.clone()
            },
            runtime: self.runtime.clone(),
            dry_run: true,
        }
    }
}

/// The SDK side of the current execution on this thread.
#[derive(Clone)]
pub(crate) struct CallSdk {
    pub cx: Arc<SdkCallCx>,
    pub connected: Option<Arc<Connected>>,
    /// The executor running the call, for `invoke`.
    pub executor: Arc<crate::Inner>,
}

thread_local! {
    static SDK: RefCell<Option<CallSdk>> = const { RefCell::new(None) };
}

/// Makes `sdk` the current execution's until the guard drops (which puts
/// back whatever was current before: calls nest).
pub(crate) fn enter(sdk: CallSdk) -> SdkGuard {
    SdkGuard(SDK.with(|s| s.replace(Some(sdk))))
}

pub(crate) struct SdkGuard(Option<CallSdk>);

impl Drop for SdkGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        SDK.with(|s| *s.borrow_mut() = previous);
    }
}

pub(crate) fn current() -> RhaiResult<CallSdk> {
    SDK.with(|s| s.borrow().clone())
        .ok_or_else(|| "the SDK is only available while a script runs".into())
}

impl CallSdk {
    fn connected(&self, what: &str) -> RhaiResult<&Connected> {
        self.connected
            .as_deref()
            .ok_or_else(|| format!("{what} is not available in this executor").into())
    }

    /// Waits for `future` to its end or to the execution's deadline (then
    /// the execution ends as a timeout, which the script cannot catch).
    pub(crate) fn wait<F: std::future::Future>(
        &self,
        what: &str,
        future: F,
    ) -> RhaiResult<F::Output> {
        let connected = self.connected(what)?;
        let left = sandbox::time_left();
        sandbox::before_blocking();
        // On a runtime thread (handed over above) this leaves the runtime's
        // context, where blocking on a future is refused; elsewhere it only
        // runs the closure.
        tokio::task::block_in_place(|| {
            connected
                .runtime
                .block_on(async { tokio::time::timeout(left, future).await })
        })
        .map_err(|_| sandbox::deadline_passed())
    }

    /// Runs a service call to its end or to the execution's deadline.
    pub(crate) fn block_on<'a, T>(
        &'a self,
        what: &str,
        call: impl FnOnce(&'a SdkServices, &'a SdkCallCx) -> BoxFuture<'a, picloud_shared::Result<T>>,
    ) -> RhaiResult<T> {
        let connected = self.connected(what)?;
        let answer = self.wait(what, call(&connected.services, &self.cx))?;
        service_answer(what, answer)
    }

    /// The outbound HTTP client, if this executor has one.
    pub(crate) fn http(&self) -> Option<Arc<crate::outbound::Outbound>> {
        self.connected.as_ref()?.services.http.clone()
    }

    /// Whether this is a dry run (outbound calls are not sent).
    pub(crate) fn dry_run(&self) -> bool {
        self.connected.as_ref().is_some_and(|c| c.dry_run)
    }
}

impl CallSdk {
    /// A service call that blocks this thread rather than waiting on a
    /// future (see `KvService::set_now`), bounded by the execution's
    /// deadline; `Ok(None)` when the service has no such call.
    fn blocking_now<T>(
        &self,
        what: &str,
        call: impl FnOnce(&SdkServices, &SdkCallCx, Instant) -> Option<picloud_shared::Result<T>>,
    ) -> RhaiResult<Option<RhaiResult<T>>> {
        let connected = self.connected(what)?;
        let deadline = Instant::now() + sandbox::time_left();
        sandbox::before_blocking();
        Ok(
            call(&connected.services, &self.cx, deadline).map(|answer| match answer {
                // Withdrawn at the deadline, or failed with no time left.
                Err(_) if sandbox::time_left().is_zero() => Err(sandbox::deadline_passed()),
                answer => service_answer(what, answer),
            }),
        )
    }
}

/// A service's answer as the script sees it.
fn service_answer<T>(what: &str, answer: picloud_shared::Result<T>) -> RhaiResult<T> {
    match answer {
        Ok(value) => Ok(value),
        Err(picloud_shared::Error::Invalid(message)) => Err(format!("{what}: {message}").into()),
        Err(e) => Err(format!("{what}: {e}").into()),
    }
}

// ----- kv -----

/// `kv::collection(name)`: a handle on one collection of the app's store.
#[derive(Clone)]
pub struct Collection {
    name: ImmutableString,
    sdk: CallSdk,
}

fn key_of(what: &str, key: &Dynamic) -> RhaiResult<ImmutableString> {
    key.clone()
        .into_immutable_string()
        .map_err(|ty| format!("{what}: a key is a string; got {ty}").into())
}

fn collection(name: &str) -> RhaiResult<Collection> {
    picloud_shared::kv::check_collection(name)
        .map_err(|e| Box::<EvalAltResult>::from(format!("kv::collection: {e}")))?;
    Ok(Collection {
        name: name.into(),
        sdk: current()?,
    })
}

fn kv_get(c: &mut Collection, key: Dynamic) -> RhaiResult<Dynamic> {
    let key = key_of("kv get", &key)?;
    let connected = c.sdk.connected("kv get")?;
    let value = match connected.services.kv.get_now(&c.sdk.cx, &c.name, &key) {
        Some(answer) => service_answer("kv get", answer)?,
        None => c
            .sdk
            .block_on("kv get", |s, cx| s.kv.get(cx, &c.name, &key))?,
    };
    Ok(value.as_ref().map_or(Dynamic::UNIT, json_to_dynamic))
}

fn kv_set(c: &mut Collection, key: Dynamic, value: Dynamic) -> RhaiResult<()> {
    let key = key_of("kv set", &key)?;
    let value =
        dynamic_to_json(&value).map_err(|e| format!("kv set: the value cannot be stored: {e}"))?;
    if let Some(answer) = c.sdk.blocking_now("kv set", |s, cx, deadline| {
        s.kv.set_now(cx, &c.name, &key, &value, deadline)
    })? {
        return answer;
    }
    c.sdk
        .block_on("kv set", |s, cx| s.kv.set(cx, &c.name, &key, value))
}

fn kv_has(c: &mut Collection, key: Dynamic) -> RhaiResult<bool> {
    let key = key_of("kv has", &key)?;
    let connected = c.sdk.connected("kv has")?;
    match connected.services.kv.has_now(&c.sdk.cx, &c.name, &key) {
        Some(answer) => service_answer("kv has", answer),
        None => c
            .sdk
            .block_on("kv has", |s, cx| s.kv.has(cx, &c.name, &key)),
    }
}

fn kv_delete(c: &mut Collection, key: Dynamic) -> RhaiResult<bool> {
    let key = key_of("kv delete", &key)?;
    if let Some(answer) = c.sdk.blocking_now("kv delete", |s, cx, deadline| {
        s.kv.delete_now(cx, &c.name, &key, deadline)
    })? {
        return answer;
    }
    c.sdk
        .block_on("kv delete", |s, cx| s.kv.delete(cx, &c.name, &key))
}

fn list_options(options: &Map) -> RhaiResult<KvListOptions> {
    let mut out = KvListOptions::default();
    for (name, value) in options {
        match name.as_str() {
            "cursor" if value.is_unit() => {}
            "cursor" => {
                out.cursor = Some(value.clone().into_string().map_err(|ty| {
                    format!("kv list: cursor is a string from a previous page; got {ty}")
                })?);
            }
            "prefix" if value.is_unit() => {}
            "prefix" => {
                out.prefix = Some(
                    value
                        .clone()
                        .into_string()
                        .map_err(|ty| format!("kv list: prefix is a string; got {ty}"))?,
                );
            }
            "limit" if value.is_unit() => {}
            "limit" => {
                let n = value
                    .as_int()
                    .map_err(|ty| format!("kv list: limit is an integer; got {ty}"))?;
                let n = picloud_shared::kv::check_limit(Some(n))
                    .map_err(|e| format!("kv list: {e}"))?;
                out.limit = Some(n);
            }
            other => {
                return Err(format!(
                    "kv list: unknown option {other:?}; the options are cursor, limit and prefix"
                )
                .into());
            }
        }
    }
    Ok(out)
}

fn kv_list(c: &mut Collection, options: Map) -> RhaiResult<Map> {
    let options = list_options(&options)?;
    let page = c
        .sdk
        .block_on("kv list", |s, cx| s.kv.list(cx, &c.name, options))?;
    let items: Array = page
        .items
        .into_iter()
        .map(|entry| {
            let mut item = Map::new();
            item.insert("key".into(), Dynamic::from(entry.key));
            item.insert("value".into(), json_to_dynamic(&entry.value));
            Dynamic::from_map(item)
        })
        .collect();
    let mut out = Map::new();
    out.insert("items".into(), Dynamic::from_array(items));
    out.insert(
        "cursor".into(),
        page.cursor.map_or(Dynamic::UNIT, Dynamic::from),
    );
    Ok(out)
}

// ----- secrets -----

/// `secrets::get(NAME)`: the value of the app's secret, or `()` when it has
/// none of that name. The value is remembered for the execution, which
/// redacts it from its logs and errors (see `sandbox::saw_secret`).
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
    let value = sdk.block_on(WHAT, |_, cx| secrets.get(cx, &name))?;
    Ok(match value {
        Some(value) => {
            sandbox::saw_secret(&name, &value);
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

/// The `kv` namespace: `kv::collection(name)`.
pub(crate) fn kv_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            m.set_native_fn("collection", |name: &str| collection(name));
            m.build_index();
            m.into()
        })
        .clone()
}

/// The methods of a collection handle (global, so `c.get(k)` finds them).
pub(crate) fn handle_methods() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            m.set_native_fn("get", kv_get);
            m.set_native_fn("set", kv_set);
            m.set_native_fn("has", kv_has);
            m.set_native_fn("delete", kv_delete);
            m.set_native_fn("list", |c: &mut Collection| kv_list(c, Map::new()));
            m.set_native_fn("list", kv_list);
            let describe = |c: &mut Collection| -> RhaiResult<String> {
                Ok(format!("kv::collection({:?})", c.name.as_str()))
            };
            m.set_native_fn("to_string", describe);
            m.set_native_fn("to_debug", describe);
            m.build_index();
            m.into()
        })
        .clone()
}
