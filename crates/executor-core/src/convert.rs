//! Conversions between JSON and Rhai values, and the `ctx` map.
//!
//! JSON fidelity: integers stay integers, floats stay floats, null is `()`.
//! Values that have no JSON form (function pointers, timestamps, custom
//! types, non-finite floats) are refused with a message naming the type.

use std::collections::BTreeMap;

use picloud_shared::{
    ExecutionId, HttpRequest, Invocation, InvocationType, RequestBody, RequestId, Returned, Script,
    version::SDK_VERSION,
};
use rhai::{Array, Blob, Dynamic, ImmutableString, Map};
use serde_json::{Number, Value};

/// JSON → Rhai.
pub fn json_to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            // Integers beyond i64 become floats, as in JavaScript.
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(items) => {
            Dynamic::from_array(items.iter().map(json_to_dynamic).collect::<Array>())
        }
        Value::Object(map) => Dynamic::from_map(
            map.iter()
                .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
                .collect::<Map>(),
        ),
    }
}

/// JSON → Rhai, taking the value: its strings and keys move into Rhai's
/// values uncopied. The same value as [`json_to_dynamic`].
pub fn json_into_dynamic(value: Value) -> Dynamic {
    match value {
        Value::String(s) => Dynamic::from(s),
        Value::Array(items) => {
            Dynamic::from_array(items.into_iter().map(json_into_dynamic).collect::<Array>())
        }
        Value::Object(map) => Dynamic::from_map(
            map.into_iter()
                .map(|(k, v)| (k.into(), json_into_dynamic(v)))
                .collect::<Map>(),
        ),
        scalar => json_to_dynamic(&scalar),
    }
}

/// JSON text → Rhai, read straight into Rhai's values: the same value as
/// [`json_to_dynamic`] of the text parsed into a `serde_json::Value`, and
/// the same errors (serde_json's, its 128 levels of nesting included),
/// without building and dropping that tree.
pub fn json_text_to_dynamic(text: &str) -> serde_json::Result<Dynamic> {
    use serde::de::DeserializeSeed as _;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = ToDynamic.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Reads any JSON value as a [`Dynamic`] (see [`json_text_to_dynamic`]).
#[derive(Clone, Copy)]
struct ToDynamic;

impl<'de> serde::de::DeserializeSeed<'de> for ToDynamic {
    type Value = Dynamic;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Dynamic, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ToDynamic {
    type Value = Dynamic;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Dynamic, E> {
        Ok(Dynamic::UNIT)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Dynamic, E> {
        Ok(Dynamic::from_bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Dynamic, E> {
        Ok(Dynamic::from_int(i))
    }

    /// Integers beyond i64 become floats, as in JavaScript.
    fn visit_u64<E>(self, u: u64) -> Result<Dynamic, E> {
        Ok(i64::try_from(u).map_or_else(|_| Dynamic::from_float(u as f64), Dynamic::from_int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Dynamic, E> {
        Ok(Dynamic::from_float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Dynamic, E> {
        Ok(Dynamic::from(ImmutableString::from(s)))
    }

    fn visit_string<E>(self, s: String) -> Result<Dynamic, E> {
        Ok(Dynamic::from(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Dynamic, A::Error> {
        let mut items = Array::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Dynamic::from_array(items))
    }

    /// A key given twice keeps its last value, as a `serde_json::Map` does.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Dynamic, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = map.next_value_seed(self)?;
            out.insert(key.as_ref().into(), value);
        }
        Ok(Dynamic::from_map(out))
    }
}

/// Rhai → JSON, refusing values nested deeper than
/// [`MAX_JSON_DEPTH`](crate::limits::MAX_JSON_DEPTH) levels (their
/// conversion, serialisation and drop would all recurse that deep).
pub fn dynamic_to_json(value: &Dynamic) -> Result<Value, String> {
    to_json(value, 0)
}

fn too_deep() -> String {
    format!(
        "the value is nested more than {} levels deep",
        crate::limits::MAX_JSON_DEPTH
    )
}

fn no_json_form(value: &Dynamic) -> String {
    format!("a value of type '{}' has no JSON form", value.type_name())
}

fn to_json(value: &Dynamic, depth: usize) -> Result<Value, String> {
    if depth > crate::limits::MAX_JSON_DEPTH {
        return Err(too_deep());
    }
    // No value is shared: Rhai is built without closures (`no_closure`).
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(f) = value.as_float() {
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("the float {f} has no JSON form"));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if value.is_string() {
        return Ok(Value::String(
            value
                .read_lock::<ImmutableString>()
                .map_or_else(String::new, |s| s.as_str().to_owned()),
        ));
    }
    if value.is_array() {
        let array = value.read_lock::<Array>().expect("checked is_array");
        return array
            .iter()
            .map(|v| to_json(v, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if value.is_map() {
        let map = value.read_lock::<Map>().expect("checked is_map");
        let mut out = serde_json::Map::with_capacity(map.len());
        for (k, v) in map.iter() {
            // `as_str().to_owned()`: a copy; `to_string()` would go through
            // `Display`'s formatter for every key and string.
            out.insert(k.as_str().to_owned(), to_json(v, depth + 1)?);
        }
        return Ok(Value::Object(out));
    }
    if value.is_blob() {
        let blob = value.read_lock::<Blob>().expect("checked is_blob");
        return Ok(Value::Array(blob.iter().map(|&b| Value::from(b)).collect()));
    }
    Err(no_json_form(value))
}

/// Rhai → JSON text, written straight from the value: the same JSON, and
/// the same refusals, as serialising [`dynamic_to_json`]'s `Value`, without
/// building and dropping that tree (for a script that answers a list of
/// maps, most of the cost of its answer; docs/performance.md).
struct AsJson<'a> {
    value: &'a Dynamic,
    depth: usize,
}

impl<'a> AsJson<'a> {
    fn nested(&self, value: &'a Dynamic) -> Self {
        AsJson {
            value,
            depth: self.depth + 1,
        }
    }
}

impl serde::Serialize for AsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        let value = self.value;
        if self.depth > crate::limits::MAX_JSON_DEPTH {
            return Err(S::Error::custom(too_deep()));
        }
        // No value is shared: Rhai is built without closures (`no_closure`).
        // Each `is_` is a match on the value's tag; the `as_` and
        // `read_lock` after it cannot fail (a failing `as_` names the type,
        // which costs more than the check). Most frequent first.
        if value.is_map() {
            if let Some(map) = value.read_lock::<Map>() {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k.as_str(), &self.nested(v))?;
                }
                return out.end();
            }
        } else if value.is_string() {
            if let Some(text) = value.read_lock::<ImmutableString>() {
                return s.serialize_str(text.as_str());
            }
        } else if value.is_int() {
            if let Ok(i) = value.as_int() {
                return s.serialize_i64(i);
            }
        } else if value.is_array() {
            if let Some(array) = value.read_lock::<Array>() {
                let mut seq = s.serialize_seq(Some(array.len()))?;
                for item in array.iter() {
                    seq.serialize_element(&self.nested(item))?;
                }
                return seq.end();
            }
        } else if value.is_bool() {
            if let Ok(b) = value.as_bool() {
                return s.serialize_bool(b);
            }
        } else if value.is_unit() {
            return s.serialize_unit();
        } else if value.is_float() {
            if let Ok(f) = value.as_float() {
                return if f.is_finite() {
                    s.serialize_f64(f)
                } else {
                    Err(S::Error::custom(format!("the float {f} has no JSON form")))
                };
            }
        } else if value.is_char() {
            if let Ok(c) = value.as_char() {
                return s.serialize_char(c);
            }
        } else if value.is_blob()
            && let Some(blob) = value.read_lock::<Blob>()
        {
            return s.collect_seq(blob.iter());
        }
        Err(S::Error::custom(no_json_form(value)))
    }
}

fn as_json(value: &Dynamic) -> AsJson<'_> {
    AsJson { value, depth: 0 }
}

/// Rhai → compact JSON text (`json::stringify`), as [`AsJson`] writes it.
pub fn json_text(value: &Dynamic) -> Result<String, String> {
    serde_json::to_string(&as_json(value)).map_err(|e| e.to_string())
}

/// Rhai → indented JSON text (`json::pretty`).
pub fn json_text_pretty(value: &Dynamic) -> Result<String, String> {
    serde_json::to_string_pretty(&as_json(value)).map_err(|e| e.to_string())
}

/// A script's return value as the executor hands it back: a string as its
/// text, anything else as JSON text, refused as [`dynamic_to_json`] refuses.
pub fn returned(value: &Dynamic) -> Result<Returned, String> {
    if value.is_string()
        && let Some(text) = value.read_lock::<ImmutableString>()
    {
        return Ok(Returned::Text(text.as_str().to_owned()));
    }
    if value.is_char()
        && let Ok(c) = value.as_char()
    {
        return Ok(Returned::Text(c.to_string()));
    }
    serde_json::value::to_raw_value(&as_json(value))
        .map(Returned::Json)
        .map_err(|e| e.to_string())
}

fn string_map(map: BTreeMap<String, String>) -> Dynamic {
    Dynamic::from_map(
        map.into_iter()
            .map(|(k, v)| (k.into(), Dynamic::from(v)))
            .collect::<Map>(),
    )
}

fn request_map(req: HttpRequest) -> Dynamic {
    let body = match req.body {
        RequestBody::Empty => Dynamic::UNIT,
        RequestBody::Json(v) => json_into_dynamic(v),
        RequestBody::Text(s) => Dynamic::from(s),
        RequestBody::Bytes(b) => Dynamic::from_blob(b),
    };
    let mut m = Map::new();
    m.insert("method".into(), Dynamic::from(req.method));
    m.insert("path".into(), Dynamic::from(req.path));
    m.insert("headers".into(), string_map(req.headers));
    m.insert("query".into(), string_map(req.query));
    m.insert("params".into(), string_map(req.params));
    m.insert("rest".into(), Dynamic::from(req.rest));
    m.insert("host".into(), Dynamic::from(req.host));
    m.insert("host_params".into(), string_map(req.host_params));
    m.insert("ip".into(), Dynamic::from(req.ip));
    m.insert("body".into(), body);
    Dynamic::from_map(m)
}

/// The entries of `ctx` that are the same for every execution of a script
/// version; built once, when it is compiled.
pub fn ctx_base(script: &Script) -> Map {
    let mut m = Map::new();
    m.insert("sdk_version".into(), Dynamic::from(SDK_VERSION));
    m.insert("script_id".into(), Dynamic::from(script.id.to_string()));
    m.insert("app_id".into(), Dynamic::from(script.app_id.to_string()));
    m.insert("script_name".into(), Dynamic::from(script.name.to_string()));
    m
}

fn ctx_common(
    base: &Map,
    execution_id: ExecutionId,
    request_id: RequestId,
    invocation_type: InvocationType,
) -> Map {
    let mut m = base.clone();
    m.insert(
        "execution_id".into(),
        Dynamic::from(execution_id.to_string()),
    );
    m.insert("request_id".into(), Dynamic::from(request_id.to_string()));
    m.insert(
        "invocation_type".into(),
        Dynamic::from(invocation_type.as_str()),
    );
    m
}

/// The `ctx` of a script called by `invoke(name, args)`: invocation type
/// `"function"`, the caller's request id, and `args` as the caller passed
/// them.
pub fn function_ctx(
    base: &Map,
    execution_id: ExecutionId,
    request_id: RequestId,
    args: Dynamic,
) -> Dynamic {
    let mut m = ctx_common(base, execution_id, request_id, InvocationType::Function);
    m.insert("args".into(), args);
    Dynamic::from_map(m)
}

/// The `ctx` map of SDK 1.0 (contract.md, "What a script sees"): `base`
/// (from [`ctx_base`]) and the execution's own entries. It takes the
/// invocation by value: its strings move into the map, uncopied.
pub fn ctx_map(
    base: &Map,
    execution_id: ExecutionId,
    request_id: RequestId,
    invocation: Invocation,
) -> Dynamic {
    let mut m = ctx_common(base, execution_id, request_id, invocation.invocation_type());
    match invocation {
        Invocation::Http(http) => {
            m.insert("request".into(), request_map(http));
        }
        Invocation::Trigger { event, .. } | Invocation::Scheduled { event } => {
            m.insert("event".into(), json_into_dynamic(event));
        }
    }
    Dynamic::from_map(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_with_fidelity() {
        let v = json!({"i": 1, "f": 1.5, "whole_float": 2.0, "n": null, "s": "x",
                       "a": [1, [2, {"b": true}]], "big": 18446744073709551615u64});
        let back = dynamic_to_json(&json_to_dynamic(&v)).unwrap();
        assert_eq!(back["i"], json!(1));
        assert!(back["i"].is_i64());
        assert!(back["whole_float"].is_f64());
        assert_eq!(back["f"], json!(1.5));
        assert_eq!(back["n"], Value::Null);
        assert_eq!(back["a"], json!([1, [2, {"b": true}]]));
        assert!(back["big"].is_f64());
    }

    #[test]
    fn values_without_a_json_form_are_refused() {
        let err = dynamic_to_json(&Dynamic::from_float(f64::NAN)).unwrap_err();
        assert!(err.contains("no JSON form"), "{err}");
        let fnptr = Dynamic::from(rhai::FnPtr::new("f").unwrap());
        assert!(dynamic_to_json(&fnptr).unwrap_err().contains("Fn"));
    }

    /// Values as scripts make them, of every JSON-able type.
    fn samples() -> Vec<Dynamic> {
        let mut nested = Map::new();
        nested.insert("z".into(), Dynamic::from_int(-1));
        nested.insert("a \"quoted\"\n key".into(), Dynamic::from("tab\there é 😀"));
        nested.insert(
            "list".into(),
            Dynamic::from_array(vec![Dynamic::UNIT, Dynamic::TRUE]),
        );
        nested.insert("blob".into(), Dynamic::from_blob(vec![0, 7, 255]));
        nested.insert("c".into(), Dynamic::from_char('\u{1}'));
        let mut samples = vec![
            Dynamic::UNIT,
            Dynamic::FALSE,
            Dynamic::from_int(i64::MIN),
            Dynamic::from_float(2.0),
            Dynamic::from_float(-0.1),
            Dynamic::from_float(1e300),
            Dynamic::from_char('"'),
            Dynamic::from(""),
            Dynamic::from("<p>\u{7f}</p>"),
            Dynamic::from_array(vec![]),
            Dynamic::from_map(Map::new()),
            Dynamic::from_map(nested.clone()),
        ];
        let mut deep = Dynamic::from_map(nested);
        // The deepest a value may be: its list's items at the limit.
        for _ in 0..crate::limits::MAX_JSON_DEPTH - 2 {
            deep = Dynamic::from_array(vec![deep]);
        }
        samples.push(deep);
        samples
    }

    #[test]
    fn json_written_straight_is_the_values_json() {
        for value in samples() {
            let json = dynamic_to_json(&value).unwrap();
            assert_eq!(json_text(&value).unwrap(), json.to_string());
            assert_eq!(
                json_text_pretty(&value).unwrap(),
                serde_json::to_string_pretty(&json).unwrap()
            );
            let returned = returned(&value).unwrap();
            assert_eq!(returned, json);
            // Strings as their text, the rest as the same JSON text.
            match (&returned, &json) {
                (Returned::Text(text), Value::String(s)) => assert_eq!(text, s),
                (Returned::Json(raw), other) => {
                    assert!(!other.is_string());
                    assert_eq!(raw.get(), other.to_string());
                }
                (r, j) => panic!("{r:?} for {j}"),
            }
        }
    }

    #[test]
    fn json_read_straight_is_the_values_reading() {
        let mut texts: Vec<String> = [
            "null",
            "true",
            "-9223372036854775808",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "-0",
            "-0.0",
            "2.0",
            "0.1",
            "1.7976931348623157e308",
            "\"\"",
            r#""tab\there \u00e9 \ud83d\ude00 \"q\" \\""#,
            "[]",
            "{}",
            r#"{"b": [1, 2.5, null, {"c": "d"}], "a": true, "a": false}"#,
            " [ 1 , { \"k\" : [ ] } ] ",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        texts.push(nested(127));
        for text in &texts {
            let value = serde_json::from_str::<Value>(text).unwrap();
            let via_value = json_to_dynamic(&value);
            let straight = json_text_to_dynamic(text).unwrap();
            let moved = json_into_dynamic(value);
            // Same types and values, compared through their JSON.
            for other in [&straight, &moved] {
                assert_eq!(other.type_name(), via_value.type_name(), "{text}");
                assert_eq!(
                    dynamic_to_json(other).unwrap(),
                    dynamic_to_json(&via_value).unwrap(),
                    "{text}"
                );
            }
        }
        // Integers stay integers, floats floats.
        assert!(json_text_to_dynamic("3").unwrap().is_int());
        assert!(json_text_to_dynamic("3.0").unwrap().is_float());
        assert!(
            json_text_to_dynamic("9223372036854775808")
                .unwrap()
                .is_float()
        );
        // The same errors, word for word.
        for bad in [
            "",
            "nul",
            "[1,]",
            "{\"a\" 1}",
            "1 2",
            "1e400",
            "\"\\ud800\"",
            nested(129).as_str(),
        ] {
            let want = serde_json::from_str::<Value>(bad).unwrap_err().to_string();
            assert_eq!(
                json_text_to_dynamic(bad).unwrap_err().to_string(),
                want,
                "{bad}"
            );
        }
    }

    #[test]
    fn json_written_straight_refuses_what_dynamic_to_json_refuses() {
        let mut too_deep = Dynamic::from_int(1);
        for _ in 0..=crate::limits::MAX_JSON_DEPTH {
            too_deep = Dynamic::from_array(vec![too_deep]);
        }
        let mut in_a_map = Map::new();
        in_a_map.insert("f".into(), Dynamic::from(rhai::FnPtr::new("f").unwrap()));
        for value in [
            Dynamic::from_float(f64::NAN),
            Dynamic::from_float(f64::NEG_INFINITY),
            Dynamic::from(rhai::FnPtr::new("f").unwrap()),
            Dynamic::from_array(vec![
                Dynamic::from_int(1),
                Dynamic::from_float(f64::INFINITY),
            ]),
            Dynamic::from_map(in_a_map),
            too_deep,
        ] {
            let refused = dynamic_to_json(&value).unwrap_err();
            assert_eq!(json_text(&value).unwrap_err(), refused);
            assert_eq!(json_text_pretty(&value).unwrap_err(), refused);
            assert_eq!(returned(&value).unwrap_err(), refused);
        }
    }
}
