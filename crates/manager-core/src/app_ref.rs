//! An app as the admin API names it, by id or by name: parsed once, where
//! the request is read, and resolved (and checked against the caller's
//! rights) once, by [`Manager::app_for`](crate::Manager::app_for).

use std::fmt;

use picloud_shared::AppId;
use serde::{Deserialize, Deserializer};

/// An app id or an app name. Any text is one or the other: a name that is
/// not an app's finds nothing (404), like an unknown id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppRef {
    Id(AppId),
    Name(String),
}

impl AppRef {
    /// The app a call that names none acts on.
    pub const DEFAULT: AppRef = AppRef::Id(crate::repo::DEFAULT_APP_ID);

    pub fn parse(text: &str) -> AppRef {
        match text.parse::<AppId>() {
            Ok(id) => AppRef::Id(id),
            Err(_) => AppRef::Name(text.to_owned()),
        }
    }
}

impl From<&str> for AppRef {
    fn from(text: &str) -> AppRef {
        AppRef::parse(text)
    }
}

impl fmt::Display for AppRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppRef::Id(id) => write!(f, "{id}"),
            AppRef::Name(name) => f.write_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for AppRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AppRef, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(AppRef::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_an_id_and_anything_else_a_name() {
        let id = AppId(uuid::Uuid::now_v7());
        assert_eq!(AppRef::parse(&id.to_string()), AppRef::Id(id));
        assert_eq!(AppRef::parse("shop"), AppRef::Name("shop".into()));
        assert_eq!(AppRef::parse("shop").to_string(), "shop");
        let parsed: AppRef = serde_json::from_str(&format!("\"{id}\"")).unwrap();
        assert_eq!(parsed, AppRef::Id(id));
    }
}
