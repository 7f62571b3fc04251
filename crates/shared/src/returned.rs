//! A script's return value as it leaves the executor: JSON text made once,
//! straight from the script's value, that the HTTP response takes as its
//! body without building a `serde_json::Value` tree, serialising it and
//! dropping it (docs/performance.md, 2026-12-06 "a script's value written
//! once").
//!
//! On the wire it is the value's JSON, as a `serde_json::Value` was: the
//! split layout's messages are unchanged.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// See the module's documentation.
#[derive(Clone)]
pub enum Returned {
    /// A string, as its text (a response body as is: no JSON escaping of it
    /// and no parsing back).
    Text(String),
    /// Any other value, as compact JSON text (`null` for `()`).
    Json(Box<RawValue>),
}

impl Returned {
    /// The value parsed (tests; serde_json refuses values nested deeper
    /// than 128 levels, which scripts may return: those are `Err`).
    pub fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        match self {
            Returned::Text(s) => Ok(serde_json::Value::String(s.clone())),
            Returned::Json(raw) => serde_json::from_str(raw.get()),
        }
    }

    /// From a parsed value (tests, and values not made by a script).
    pub fn from_value(value: &serde_json::Value) -> Self {
        match value {
            serde_json::Value::String(s) => Returned::Text(s.clone()),
            // A `Value` always serialises (its map keys are strings).
            other => Returned::Json(
                serde_json::value::to_raw_value(other)
                    .unwrap_or_else(|_| RawValue::NULL.to_owned()),
            ),
        }
    }
}

/// Equal when their JSON is: compared as text, which serde_json writes the
/// same for the same value (compact, map keys in order), at any depth.
impl PartialEq for Returned {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Returned::Text(a), Returned::Text(b)) => a == b,
            (Returned::Json(a), Returned::Json(b)) => a.get() == b.get(),
            _ => false,
        }
    }
}

impl PartialEq<serde_json::Value> for Returned {
    fn eq(&self, other: &serde_json::Value) -> bool {
        match (self, other) {
            (Returned::Text(a), serde_json::Value::String(b)) => a == b,
            (Returned::Json(a), other) => {
                // Its JSON text (`Value`'s own `==` with a `str` would
                // compare a JSON string with it).
                let json = serde_json::to_string(other).unwrap_or_default();
                !other.is_string() && a.get() == json
            }
            _ => false,
        }
    }
}

impl fmt::Debug for Returned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Returned::Text(s) => fmt::Debug::fmt(s, f),
            Returned::Json(raw) => f.write_str(raw.get()),
        }
    }
}

impl Serialize for Returned {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Returned::Text(s) => serializer.serialize_str(s),
            Returned::Json(raw) => raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Returned {
    /// Read as a `Value` and written again: a wire message is read through
    /// serde's buffering (`ExecuteReply` is an internally tagged enum),
    /// where a `RawValue` cannot be captured. The same work as when the
    /// outcome held a `Value` (parsed here, serialised for the response).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer).map(|value| match value {
            // Moved, not copied.
            serde_json::Value::String(s) => Returned::Text(s),
            other => Returned::from_value(&other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_wire_form_is_the_values_json() {
        for value in [
            json!(null),
            json!("a \"quoted\" line\n"),
            json!(42),
            json!(1.5),
            json!([1, "two", {"three": 3}]),
            json!({"b": [true, false], "a": null}),
        ] {
            let returned = Returned::from_value(&value);
            let text = serde_json::to_string(&returned).unwrap();
            assert_eq!(text, value.to_string());
            let back: Returned = serde_json::from_str(&text).unwrap();
            assert_eq!(back, returned);
            assert_eq!(back.to_value().unwrap(), value);
            assert_eq!(back, value);
            // Inside a message.
            let message = json!({ "value": value });
            #[derive(Deserialize)]
            struct Message {
                value: Returned,
            }
            let read: Message = serde_json::from_str(&message.to_string()).unwrap();
            assert_eq!(read.value, value);
            let read: Message = serde_json::from_value(message).unwrap();
            assert_eq!(read.value, value);
        }
        assert!(matches!(
            serde_json::from_str::<Returned>("\"hi\"").unwrap(),
            Returned::Text(s) if s == "hi"
        ));
        assert_eq!(Returned::from_value(&json!(null)), json!(null));
        assert_ne!(Returned::Text("1".into()), json!(1));
    }
}
