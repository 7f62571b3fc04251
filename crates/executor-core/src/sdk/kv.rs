//! `kv::collection(name)` and the methods of its handle.

use std::sync::OnceLock;

use picloud_shared::kv::{CollectionName, KvListOptions};
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map, Module, Shared};

use crate::context::{CallSdk, RhaiResult, current, service_answer};
use crate::convert::{dynamic_to_json, json_into_dynamic, json_text_to_dynamic};

/// `kv::collection(name)`: a handle on one collection of the app's store.
#[derive(Clone)]
pub struct Collection {
    name: CollectionName,
    sdk: CallSdk,
}

/// A key a script passed; the store checks it (it is the authority: a
/// remote executor is not trusted to have checked).
fn key_of(what: &str, key: &Dynamic) -> RhaiResult<ImmutableString> {
    key.clone()
        .into_immutable_string()
        .map_err(|ty| format!("{what}: a key is a string; got {ty}").into())
}

fn collection(name: &str) -> RhaiResult<Collection> {
    let name = CollectionName::parse(name)
        .map_err(|e| Box::<EvalAltResult>::from(format!("kv::collection: {e}")))?;
    Ok(Collection {
        name,
        sdk: current()?,
    })
}

fn kv_get(c: &mut Collection, key: Dynamic) -> RhaiResult<Dynamic> {
    let key = key_of("kv get", &key)?;
    let connected = c.sdk.connected("kv get")?;
    // The stored JSON read straight into Rhai's values, when the store
    // answers here with its text (the local SQLite file).
    if let Some(answer) = connected.services.kv.get_json_now(&c.sdk.cx, &c.name, &key) {
        return match service_answer("kv get", answer)? {
            None => Ok(Dynamic::UNIT),
            Some(json) => json_text_to_dynamic(&json)
                .map_err(|e| format!("kv get: a stored KV value is not JSON: {e}").into()),
        };
    }
    let value = match connected.services.kv.get_now(&c.sdk.cx, &c.name, &key) {
        Some(answer) => service_answer("kv get", answer)?,
        None => c
            .sdk
            .block_on("kv get", |s, cx| s.kv.get(cx, &c.name, &key))?,
    };
    Ok(value.map_or(Dynamic::UNIT, json_into_dynamic))
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
            item.insert("value".into(), json_into_dynamic(entry.value));
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
