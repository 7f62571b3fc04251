//! The file as written: what TOML deserializes into, before any check.

use std::fmt;

use picloud_shared::SandboxOverrides;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub(super) app: RawApp,
    #[serde(default)]
    pub(super) scripts: Vec<RawScript>,
    #[serde(default)]
    pub(super) triggers: Vec<Spanned<RawTrigger>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApp {
    pub(super) name: Spanned<String>,
    pub(super) domains: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) secrets: Vec<Spanned<String>>,
    pub(super) record_requests: Option<Spanned<String>>,
    pub(super) redact_headers: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScript {
    pub(super) name: Spanned<String>,
    pub(super) file: Spanned<String>,
    #[serde(default)]
    pub(super) routes: Vec<Spanned<RawRoute>>,
    pub(super) sandbox: Option<Spanned<SandboxOverrides>>,
    pub(super) description: Option<String>,
}

/// One trigger, flat, so that every key keeps its position; which keys a
/// kind takes is checked after parsing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrigger {
    pub(super) kind: Spanned<String>,
    pub(super) script: Spanned<String>,
    pub(super) collection: Option<Spanned<String>>,
    pub(super) events: Option<Spanned<Vec<String>>>,
    pub(super) max_attempts: Option<Spanned<u32>>,
    pub(super) dead_letter_script: Option<Spanned<String>>,
    pub(super) schedule: Option<Spanned<String>>,
}

/// A route: `"/path"` or `{ path = "/path", methods = ["GET"] }`.
pub(super) struct RawRoute {
    pub(super) path: String,
    pub(super) methods: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for RawRoute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            path: String,
            methods: Option<Vec<String>>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRoute;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    r#"a path like "/users/:id" or { path = "/users/:id", methods = ["GET"] }"#,
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRoute, E> {
                Ok(RawRoute {
                    path: v.to_owned(),
                    methods: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRoute, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawRoute {
                    path: full.path,
                    methods: full.methods,
                })
            }
        }
        d.deserialize_any(V)
    }
}
