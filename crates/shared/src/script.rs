//! The `Script` type and its name rules.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AppId, SandboxOverrides, ScriptId};

/// A script name: 1–64 characters of `[a-z0-9_-]`, unique within an app.
/// Parsed once at the edge; past it, code takes this type and never re-checks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ScriptName(String);

/// Why a script name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("script names are 1 to 64 characters of a-z, 0-9, '_' and '-'; got {0}")]
pub struct InvalidScriptName(String);

impl ScriptName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(name: &str) -> Result<Self, InvalidScriptName> {
        let ok = !name.is_empty()
            && name.len() <= Self::MAX_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(ScriptName(name.to_owned()))
        } else {
            let shown = if name.is_empty() {
                "an empty name".to_owned()
            } else if name.chars().count() > Self::MAX_LEN {
                format!("{} characters", name.chars().count())
            } else {
                format!("{name:?}")
            };
            Err(InvalidScriptName(shown))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ScriptName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some("^[a-z0-9_-]{1,64}$"))
            .min_length(Some(1))
            .max_length(Some(Self::MAX_LEN))
            .description(Some("1 to 64 characters of a-z, 0-9, '_' and '-'"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ScriptName {
    fn name() -> std::borrow::Cow<'static, str> {
        "ScriptName".into()
    }
}

impl<'de> Deserialize<'de> for ScriptName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ScriptName::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ScriptName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One version of a script, as stored and as executed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Script {
    pub id: ScriptId,
    pub app_id: AppId,
    pub name: ScriptName,
    pub source: String,
    /// Starts at 1; every update adds one. Compiled ASTs are cached per version.
    pub version: i64,
    pub description: String,
    pub sandbox: SandboxOverrides,
    #[serde(with = "crate::timestamp")]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::timestamp")]
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules() {
        for ok in ["a", "hello", "my-script_2", &"x".repeat(64)] {
            assert!(ScriptName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Hello", "a b", "a/b", "é", "a.b", &"x".repeat(65)] {
            assert!(ScriptName::parse(bad).is_err(), "{bad}");
        }
    }
}
