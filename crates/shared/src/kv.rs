//! The key-value store scripts reach through `kv::collection(name)`, and
//! the per-call context every data-plane service takes.
//!
//! The rules (names, sizes, paging) live here so the executor can refuse bad
//! input early and the store enforces the same rules authoritatively: a
//! remote executor is not trusted to have checked.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AppId, BoxFuture, ExecutionId, RequestId, Result, ScriptId};

/// Who is calling a data-plane service: one execution of one script. The
/// app a service acts on is `app_id`, always; no argument a script passes
/// can name another app. This is the isolation boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdkCallCx {
    pub app_id: AppId,
    pub script_id: ScriptId,
    pub execution_id: ExecutionId,
    pub request_id: RequestId,
    /// The trigger depth of the execution: 0 for a request, the event's
    /// depth for a trigger handler. Events its KV writes fire are one deeper.
    pub depth: u32,
    /// The execution's grant ([`crate::ExecRequest::grant`]): what a remote
    /// service believes about `app_id` and `depth`. `None` in one process.
    pub grant: Option<String>,
}

/// Longest collection name, in bytes (they are ASCII).
pub const MAX_COLLECTION_LEN: usize = 64;
/// Longest key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value, in bytes of its JSON text.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Entries in a page of `list` when no limit is given.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// Most entries in a page of `list`.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// A collection name: 1–64 of `[A-Za-z0-9_.-]`.
pub fn check_collection(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_COLLECTION_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else if name.is_empty() {
        Err("a collection name cannot be empty".into())
    } else if name.len() > MAX_COLLECTION_LEN {
        Err(format!(
            "a collection name is at most {MAX_COLLECTION_LEN} characters; got {}",
            name.chars().count()
        ))
    } else {
        Err(format!(
            "a collection name is made of A-Z, a-z, 0-9, '_', '.' and '-'; got {name:?}"
        ))
    }
}

/// A key: a non-empty string of at most 512 bytes.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        Err("a key cannot be empty".into())
    } else if key.len() > MAX_KEY_BYTES {
        Err(format!(
            "a key is at most {MAX_KEY_BYTES} bytes; got {}",
            key.len()
        ))
    } else {
        Ok(())
    }
}

/// A text checked once, where it comes in, so what holds one needs no
/// check again.
macro_rules! checked_text {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `text`; the error says why it is refused, for the
            /// script or the caller.
            pub fn parse(text: &str) -> Result<Self, String> {
                $check(text)?;
                Ok($name(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                $check(&text)?;
                Ok($name(text))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_text!(
    /// A collection name ([`check_collection`]).
    CollectionName,
    check_collection
);

checked_text!(
    /// A key ([`check_key`]).
    KvKey,
    check_key
);

/// A value's JSON text: at most 1 MiB.
pub fn check_value_size(json_len: usize) -> Result<(), String> {
    if json_len > MAX_VALUE_BYTES {
        Err(format!(
            "a value is at most {MAX_VALUE_BYTES} bytes as JSON; got {json_len}"
        ))
    } else {
        Ok(())
    }
}

/// A page size: 1..=1000, 100 when absent.
pub fn check_limit(limit: Option<i64>) -> Result<u32, String> {
    match limit {
        None => Ok(DEFAULT_LIST_LIMIT),
        Some(n) if (1..=i64::from(MAX_LIST_LIMIT)).contains(&n) => {
            Ok(u32::try_from(n).unwrap_or(DEFAULT_LIST_LIMIT))
        }
        Some(n) => Err(format!("limit is 1 to {MAX_LIST_LIMIT}; got {n}")),
    }
}

/// What `list` is asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvListOptions {
    /// From a previous page; `None` starts at the first key.
    pub cursor: Option<String>,
    /// Checked with [`check_limit`].
    pub limit: Option<u32>,
    /// Only keys that start with this.
    pub prefix: Option<String>,
}

/// One entry of a page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KvEntry {
    pub key: String,
    pub value: Value,
}

/// A page of `list`: keys ascending (byte order of their UTF-8), and the
/// cursor of the next page, if there is one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KvPage {
    pub items: Vec<KvEntry>,
    pub cursor: Option<String>,
}

/// The store behind `kv::collection(name)`. Every method acts on the app of
/// `cx` and nothing else. Bad input (names, keys, sizes, cursors) is
/// [`Error::Invalid`](crate::Error::Invalid) with a message for the script.
pub trait KvService: Send + Sync + 'static {
    fn get<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>>>;

    /// [`KvService::get`] answered on the calling thread, when the store
    /// can do that without waiting on anything (the local SQLite file: one
    /// indexed read): the script then needs no hand-off. `None`: take the
    /// async path (which also reports bad input). When `Some`, it is
    /// exactly what `get` would answer.
    fn get_now(
        &self,
        _cx: &SdkCallCx,
        _collection: &str,
        _key: &str,
    ) -> Option<Result<Option<Value>>> {
        None
    }

    /// [`KvService::get_now`]'s answer as the value's stored JSON text,
    /// for a caller that reads it straight into its own values (the local
    /// executor, into Rhai's: no `Value` between). `None`: ask `get_now`.
    /// A store that keeps no text, or a wrapper that changes what a read
    /// sees (a dry run's overlay), leaves this `None`.
    fn get_json_now(
        &self,
        _cx: &SdkCallCx,
        _collection: &str,
        _key: &str,
    ) -> Option<Result<Option<std::sync::Arc<str>>>> {
        None
    }

    /// [`KvService::has`] answered on the calling thread; as `get_now`.
    fn has_now(&self, _cx: &SdkCallCx, _collection: &str, _key: &str) -> Option<Result<bool>> {
        None
    }

    /// [`KvService::set`] on the calling thread, which it blocks until the
    /// write is committed (the local SQLite file: no task or driver thread
    /// between the script and the commit). A write still waiting for its
    /// turn when `deadline` passes is withdrawn, not made, and answered
    /// with an error. `None`: take the async path.
    fn set_now(
        &self,
        _cx: &SdkCallCx,
        _collection: &str,
        _key: &str,
        _value: &Value,
        _deadline: std::time::Instant,
    ) -> Option<Result<()>> {
        None
    }

    /// [`KvService::delete`] on the calling thread; as `set_now`.
    fn delete_now(
        &self,
        _cx: &SdkCallCx,
        _collection: &str,
        _key: &str,
        _deadline: std::time::Instant,
    ) -> Option<Result<bool>> {
        None
    }

    /// Creates or replaces.
    fn set<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
        value: Value,
    ) -> BoxFuture<'a, Result<()>>;

    fn has<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Whether the key was there.
    fn delete<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool>>;

    fn list<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        options: KvListOptions,
    ) -> BoxFuture<'a, Result<KvPage>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keys_sizes_and_limits() {
        assert!(check_collection("orders.v2_x-1").is_ok());
        assert!(check_collection(&"a".repeat(64)).is_ok());
        assert!(check_collection("").unwrap_err().contains("empty"));
        assert!(
            check_collection(&"a".repeat(65))
                .unwrap_err()
                .contains("65")
        );
        assert!(check_collection("a/b").unwrap_err().contains("\"a/b\""));
        assert!(check_collection("café").is_err());
        assert!(check_key("k").is_ok());
        assert!(check_key(&"é".repeat(256)).is_ok());
        assert!(check_key(&"é".repeat(257)).unwrap_err().contains("514"));
        assert!(check_key("").is_err());
        assert!(check_value_size(MAX_VALUE_BYTES).is_ok());
        assert!(check_value_size(MAX_VALUE_BYTES + 1).is_err());
        assert_eq!(check_limit(None), Ok(100));
        assert_eq!(check_limit(Some(1000)), Ok(1000));
        assert!(check_limit(Some(0)).is_err());
        assert!(check_limit(Some(1001)).is_err());
    }

    #[test]
    fn checked_names_and_keys_hold_only_what_the_rules_allow() {
        assert_eq!(CollectionName::parse("orders").unwrap().as_str(), "orders");
        assert!(
            CollectionName::parse("a/b")
                .unwrap_err()
                .contains("\"a/b\"")
        );
        assert!(KvKey::parse("").is_err());
        let name: CollectionName = serde_json::from_str("\"orders.v2\"").unwrap();
        assert_eq!(&*name, "orders.v2");
        assert!(serde_json::from_str::<CollectionName>("\"a b\"").is_err());
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"orders.v2\"");
    }
}
