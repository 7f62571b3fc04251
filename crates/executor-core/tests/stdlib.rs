//! The standard library namespaces (contract.md, "What a script sees"):
//! known answers for every function, and a catchable error naming the
//! function for every kind of bad input.

mod common;

use common::*;
use picloud_executor_core::stdlib::{MAX_PATTERN_LEN, MAX_REGEX_WORK};
use picloud_shared::{ExecStatus, HttpRequest, SandboxOverrides};
use serde_json::{Value, json};

/// Runs `call` inside `try` and returns what `catch` caught (or "no error").
async fn caught(call: &str) -> String {
    let src = format!(
        "let r = \"no error\"; try {{ {call}; }} catch (e) {{ r = `${{type_of(e)}}: ${{e}}`; }} r"
    );
    match value(&src).await {
        Value::String(s) => s.strip_prefix("string: ").unwrap_or(&s).to_owned(),
        other => panic!("{call}: {other}"),
    }
}

async fn run_limited(
    src: &str,
    f: impl FnOnce(&mut SandboxOverrides),
) -> picloud_shared::ExecOutcome {
    let mut sandbox = SandboxOverrides::default();
    f(&mut sandbox);
    run_with(src, sandbox, HttpRequest::default()).await
}

// --- built-ins PiCloud replaces -------------------------------------------

#[test]
fn replaced_string_built_ins_answer_as_rhai_s_own() {
    // PiCloud replaces `sub_string`, `crop` and `index_of` from a position
    // (src/strings.rs: Rhai's copy the whole string into an array first).
    // On every string, start and length of this grid, in every form, the
    // sandbox's engine must answer exactly as Rhai's standard library.
    use rhai::{Dynamic, Engine, INT, Scope};
    let ours =
        picloud_executor_core::sandbox::build_engine(&picloud_shared::SandboxLimits::DEFAULTS);
    let rhai_s = Engine::new();
    let script = r#"
        let r = [];
        r.push(s.sub_string(a, b));
        r.push(s.sub_string(a));
        r.push(s.sub_string(a..b));
        r.push(s.sub_string(a..=b));
        let t = s; t.crop(a, b); r.push(t);
        let t = `${s}`; t.crop(a, b); r.push(t);
        let t = s; t.crop(a); r.push(t);
        let t = `${s}`; t.crop(a..b); r.push(t);
        let t = s; t.crop(a..=b); r.push(t);
        r.push(s.index_of("l", a));
        r.push(s.index_of("本語", a));
        r.push(s.index_of("", a));
        r.push(s.index_of('€', a));
        r.push(s.index_of('d', a));
        r
    "#;
    // The sandbox refuses undefined variables at compile time.
    let mut names = Scope::new();
    names.push("s", "").push("a", 0 as INT).push("b", 0 as INT);
    let ast = ours.compile_with_scope(&names, script).unwrap();
    let reference = rhai_s.compile(script).unwrap();
    let mut positions: Vec<INT> = (-12..=12).collect();
    positions.extend([INT::MIN, INT::MIN + 1, INT::MAX - 1, INT::MAX]);
    let mut compared = 0;
    for text in [
        "",
        "a",
        "ld",
        "héllo wörld",
        "日本語テキスト",
        "ab€cd€",
        "ab",
    ] {
        for &a in &positions {
            for &b in &positions {
                let eval = |engine: &Engine, ast| {
                    let mut scope = Scope::new();
                    scope.push("s", text).push("a", a).push("b", b);
                    let out: Dynamic = engine.eval_ast_with_scope(&mut scope, ast).unwrap();
                    format!("{out:?}")
                };
                assert_eq!(
                    eval(&ours, &ast),
                    eval(&rhai_s, &reference),
                    "s = {text:?}, a = {a}, b = {b}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 7 * 29 * 29);

    // And the sandbox's engine uses PiCloud's: asked for the whole string,
    // they hand back the same string where Rhai's build a copy.
    let whole = rhai::ImmutableString::from("héllo wörld");
    for src in [
        "s.sub_string(0)",
        "s.sub_string(-100, 100)",
        "let t = s; t.crop(0); t",
        "let t = s; t.crop(-100); t",
    ] {
        let mut scope = Scope::new();
        scope
            .push("s", whole.clone())
            .push("a", 0 as INT)
            .push("b", 0 as INT);
        let ast = ours.compile_with_scope(&scope, src).unwrap();
        let out: rhai::ImmutableString = ours.eval_ast_with_scope(&mut scope, &ast).unwrap();
        assert_eq!(out, whole, "{src}");
        assert!(out.ptr_eq(&whole), "{src}: Rhai's own answered");
    }
}

#[tokio::test]
async fn string_slices_count_characters() {
    for (call, want) in [
        (r#""héllo wörld".sub_string(1, 4)"#, json!("éllo")),
        (r#""héllo wörld".sub_string(-5)"#, json!("wörld")),
        (r#""héllo wörld".sub_string(7..=9)"#, json!("örl")),
        (
            r#"let s = "日本語テキスト"; s.crop(2, 3); s"#,
            json!("語テキ"),
        ),
        (r#"let s = "日本語テキスト"; s.crop(-2); s"#, json!("スト")),
        (r#""a€b€c".index_of('€', 2)"#, json!(3)),
        (r#""a€b€c".index_of("b", -3)"#, json!(2)),
        (r#""a€b€c".index_of("b", 3)"#, json!(-1)),
    ] {
        assert_eq!(value(call).await, want, "{call}");
    }
}

#[tokio::test]
async fn string_pad_pads_to_a_length_in_characters() {
    for (call, want) in [
        (r#"let s = "ab"; s.pad(5, '-'); s"#, "ab---"),
        (r#"let s = "ab"; s.pad(7, "xyz"); s"#, "abxyzxy"),
        (r#"let s = "é"; s.pad(4, "ñü"); s"#, "éñüñ"),
        (r#"let s = "ab"; s.pad(4, '€'); s"#, "ab€€"),
        // Already as long, or a length of zero or less (an empty padding:
        // tests/sandbox.rs).
        (r#"let s = "abc"; s.pad(2, '-'); s"#, "abc"),
        (r#"let s = "abc"; s.pad(-1, '-'); s"#, "abc"),
        (r#"let s = ""; s.pad(3, "ab"); s"#, "aba"),
    ] {
        assert_eq!(value(call).await, json!(want), "{call}");
    }
    // The string limit counts bytes: a result over it ends the script.
    assert_eq!(
        value(r#"let s = "a"; s.pad(1048576, '-'); s.len()"#).await,
        json!(1 << 20)
    );
    for call in [
        r#"let s = "a"; s.pad(1048577, '-')"#,
        r#"let s = "a"; s.pad(1048576, '€')"#,
    ] {
        let out = run(call).await;
        assert_eq!(out.status, ExecStatus::LimitExceeded, "{call}");
    }
}

// --- json -----------------------------------------------------------------

#[tokio::test]
async fn json_parse_keeps_json_fidelity() {
    let v = value(
        r#"let v = json::parse(`{"i": 1, "f": 1.5, "w": 2.0, "n": null, "s": "x", "a": [true, {"b": []}]}`);
           #{ v: v, types: [type_of(v.i), type_of(v.f), type_of(v.w), type_of(v.n), type_of(v.a)] }"#,
    )
    .await;
    assert_eq!(
        v["v"],
        json!({"i": 1, "f": 1.5, "w": 2.0, "n": null, "s": "x", "a": [true, {"b": []}]})
    );
    assert_eq!(v["types"], json!(["i64", "f64", "f64", "()", "array"]));
    assert_eq!(value("json::parse(\"42\")").await, json!(42));
    assert_eq!(value("json::parse(\"\\\"hi\\\"\")").await, json!("hi"));
}

#[tokio::test]
async fn json_stringify_and_pretty() {
    assert_eq!(
        value(r#"json::stringify(#{b: [1, 2.5, (), "x"], a: true})"#).await,
        json!(r#"{"a":true,"b":[1,2.5,null,"x"]}"#)
    );
    assert_eq!(value("json::stringify(\"q\\\"\")").await, json!(r#""q\"""#));
    assert_eq!(value("json::stringify(())").await, json!("null"));
    assert_eq!(value("json::stringify('c')").await, json!(r#""c""#));
    assert_eq!(
        value("json::pretty(#{a: [1]})").await,
        json!("{\n  \"a\": [\n    1\n  ]\n}")
    );
    // A round trip keeps ints and floats apart.
    assert_eq!(
        value(r#"json::stringify(json::parse(`{"i":1,"f":1.0}`))"#).await,
        json!(r#"{"f":1.0,"i":1}"#)
    );
}

#[tokio::test]
async fn json_bad_input_is_a_catchable_error() {
    assert_eq!(
        caught("json::parse(\"\")").await,
        "json::parse: EOF while parsing a value at line 1 column 0"
    );
    assert_eq!(
        caught("json::parse(\"{x}\")").await,
        "json::parse: key must be a string at line 1 column 2"
    );
    assert_eq!(
        caught("json::parse(\"[1] 2\")").await,
        "json::parse: trailing characters at line 1 column 5"
    );
    // serde_json's recursion limit bounds the nesting.
    let deep = format!("json::parse(\"{}\")", "[".repeat(200));
    assert_eq!(
        caught(&deep).await,
        "json::parse: recursion limit exceeded at line 1 column 128"
    );
    assert_eq!(
        caught("json::stringify(Fn(\"f\"))").await,
        "json::stringify: a value of type 'Fn' has no JSON form"
    );
    assert_eq!(
        caught("json::pretty(#{x: 0.0 / 0.0})").await,
        "json::pretty: the float NaN has no JSON form"
    );
    // Uncaught, it is a script error with the same message.
    // with the position of the call.
    let out = run("let x = 1;\n  x + json::parse(\"nope\")").await;
    let e = expect_status(&out, ExecStatus::Error, "script_error");
    assert_eq!(e.message, "json::parse: expected ident at line 1 column 2");
    assert_eq!((e.line, e.column), (Some(2), Some(13)));
}

#[test]
fn string_plus_integer_answers_as_rhai_s_own() {
    // PiCloud builds `string + integer` and `integer + string` itself
    // (src/strings.rs: Rhai's call `to_string` dynamically). Same text.
    use rhai::{Dynamic, Engine, INT, Scope};
    let ours =
        picloud_executor_core::sandbox::build_engine(&picloud_shared::SandboxLimits::DEFAULTS);
    let rhai_s = Engine::new();
    let script = r#"[s + n, n + s, s + n + s, `${s}` + n, n + `${s}`]"#;
    let mut names = Scope::new();
    names.push("s", "").push("n", 0 as INT);
    let ast = ours.compile_with_scope(&names, script).unwrap();
    let reference = rhai_s.compile(script).unwrap();
    let mut compared = 0;
    // "abc" + INT::MIN is 23 bytes, the most built on the stack (and kept
    // inline by Rhai); one more byte takes the other path.
    for text in ["", "item ", "日本語", "€", "abc", "abcd"] {
        for n in [0, 1, -1, 42, -1000, INT::MIN, INT::MAX] {
            let eval = |engine: &Engine, ast| {
                let mut scope = Scope::new();
                scope.push("s", text).push("n", n);
                let out: Dynamic = engine.eval_ast_with_scope(&mut scope, ast).unwrap();
                format!("{out:?}")
            };
            assert_eq!(
                eval(&ours, &ast),
                eval(&rhai_s, &reference),
                "s = {text:?}, n = {n}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 6 * 7);
}

#[tokio::test]
async fn string_plus_integer_respects_the_string_limit() {
    let limited = |o: &mut SandboxOverrides| o.max_string_size = Some(100);
    let ninety_nine = "let s = \"\"; for i in 0..99 { s += \"x\"; }";
    let out = run_limited(&format!("{ninety_nine} (s + 7).len()"), limited).await;
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!(100)),
        "{:?}",
        out.error
    );
    for tail in ["s + 42", "42 + s"] {
        let out = run_limited(&format!("{ninety_nine} {tail}"), limited).await;
        expect_status(&out, ExecStatus::LimitExceeded, "limit_exceeded");
    }
}

#[tokio::test]
async fn results_respect_the_sandbox_limits() {
    // Rhai checks what a native function returns against the array, map and
    // string limits, as for values the script builds itself.
    let limited = |o: &mut SandboxOverrides| {
        o.max_array_size = Some(10);
        o.max_map_size = Some(10);
        o.max_string_size = Some(100);
    };
    let nine = "let a = []; for i in 0..10 { a.push(\"123456789\"); }";
    for src in [
        "json::parse(\"[1,2,3,4,5,6,7,8,9,10,11]\")".to_owned(),
        "json::parse(\"[[1,2,3,4,5],[6,7,8,9,10,11]]\")".to_owned(),
        format!(
            "json::parse(`{{{}}}`)",
            (0..11)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        format!("{nine} json::stringify(a)"),
        format!("{nine} base64::encode(a.reduce(|s, x| s + x, \"\"))"),
    ] {
        let out = run_limited(&src, limited).await;
        expect_status(&out, ExecStatus::LimitExceeded, "limit_exceeded");
    }
    let out = run_limited(
        &format!("{nine} json::stringify(a.extract(0, 8)).len()"),
        limited,
    )
    .await;
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!(97)),
        "{:?}",
        out.error
    );
}

// --- base64 ---------------------------------------------------------------

#[tokio::test]
async fn base64_known_answers() {
    let v = value(
        r#"[base64::encode("hello"), base64::encode("Many hands make light work."),
            base64::encode(""), base64::encode("??>"), base64::encode_url("??>"),
            base64::encode("?"), base64::encode_url("?"),
            base64::encode(blob(3, 0xff)), base64::encode_url(blob(3, 0xff)),
            base64::decode("aGVsbG8="), base64::decode("aGVsbG8"), base64::decode(""),
            base64::decode_url("Pz8-"), base64::decode_url("Pw"), base64::decode_url("Pw=="),
            base64::decode(base64::encode("héllo ✓"))]"#,
    )
    .await;
    assert_eq!(
        v,
        json!([
            "aGVsbG8=",
            "TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsu",
            "",
            "Pz8+",
            "Pz8-",
            "Pw==",
            "Pw",
            "////",
            "____",
            "hello",
            "hello",
            "",
            "??>",
            "?",
            "?",
            "héllo ✓"
        ])
    );
}

#[tokio::test]
async fn base64_bad_input_is_a_catchable_error() {
    assert_eq!(
        caught("base64::decode(\"a*==\")").await,
        "base64::decode: invalid base64: Invalid symbol 42, offset 1."
    );
    // The URL alphabet and the standard one are not mixed.
    assert_eq!(
        caught("base64::decode(\"Pz8-\")").await,
        "base64::decode: invalid base64: Invalid symbol 45, offset 3."
    );
    assert_eq!(
        caught("base64::decode_url(\"Pz8+\")").await,
        "base64::decode_url: invalid base64: Invalid symbol 43, offset 3."
    );
    assert_eq!(
        caught("base64::decode(\"a\")").await,
        "base64::decode: invalid base64: Invalid input length: 1"
    );
    // Bytes that are not UTF-8 text cannot be a string.
    assert_eq!(
        caught("base64::decode(\"/w==\")").await,
        "base64::decode: the decoded bytes are not UTF-8 text"
    );
    assert_eq!(
        caught("base64::encode(42)").await,
        "base64::encode: expected a string or a blob, got i64"
    );
}

// --- crypto ---------------------------------------------------------------

#[tokio::test]
async fn crypto_hashes_match_known_digests() {
    let v = value(
        r#"[crypto::sha256("abc"), crypto::sha256(""), crypto::sha512("abc"),
            crypto::sha256("abc".to_blob()),
            crypto::hmac_sha256("Jefe", "what do ya want for nothing?"),
            crypto::hmac_sha256(blob(20, 0x0b), "Hi There")]"#,
    )
    .await;
    assert_eq!(
        v,
        json!([
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            // RFC 4231, test cases 2 and 1.
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ])
    );
}

#[tokio::test]
async fn crypto_random_hex_and_equal() {
    let v = value(
        r#"let a = crypto::random_hex(16);
           let b = crypto::random_hex(16);
           [a, b, crypto::random_hex(1).len(), crypto::random_hex(1024).len(),
            crypto::equal("abc", "abc"), crypto::equal("abc", "abd"), crypto::equal("abc", "ab"),
            crypto::equal("", ""), crypto::equal("abc".to_blob(), "abc")]"#,
    )
    .await;
    let (a, b) = (v[0].as_str().unwrap(), v[1].as_str().unwrap());
    assert_eq!(a.len(), 32);
    assert!(
        a.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
        "{a}"
    );
    assert_ne!(a, b);
    assert_eq!(v[2], 2);
    assert_eq!(v[3], 2048);
    assert_eq!(
        v.as_array().unwrap()[4..],
        [
            json!(true),
            json!(false),
            json!(false),
            json!(true),
            json!(true)
        ]
    );
}

#[tokio::test]
async fn crypto_bad_input_is_a_catchable_error() {
    for n in ["0", "-1", "1025"] {
        assert_eq!(
            caught(&format!("crypto::random_hex({n})")).await,
            format!("crypto::random_hex: n_bytes must be between 1 and 1024, got {n}")
        );
    }
    assert_eq!(
        caught("crypto::sha256(1.5)").await,
        "crypto::sha256: expected a string or a blob, got f64"
    );
    assert_eq!(
        caught("crypto::hmac_sha256(\"k\", [1])").await,
        "crypto::hmac_sha256: expected a string or a blob, got array"
    );
    assert_eq!(
        caught("crypto::equal((), \"a\")").await,
        "crypto::equal: expected a string or a blob, got ()"
    );
}

// --- uuid -----------------------------------------------------------------

#[tokio::test]
async fn uuids_have_their_version_and_v7_sorts_by_time() {
    let v = value(
        r#"let v7 = [];
           for i in 0..200 { v7.push(uuid::v7()); }
           let sorted = v7; sorted.sort();
           #{ v4: uuid::v4(), other_v4: uuid::v4(), v7: v7, in_order: v7 == sorted,
              valid: [uuid::is_valid(uuid::v4()), uuid::is_valid(uuid::v7()),
                      uuid::is_valid("67E55044-10B1-426F-9247-BB680E5FE0C8"),
                      uuid::is_valid("00000000-0000-0000-0000-000000000000")],
              invalid: [uuid::is_valid(""), uuid::is_valid("nope"),
                        uuid::is_valid("67e5504410b1426f9247bb680e5fe0c8"),
                        uuid::is_valid("{67e55044-10b1-426f-9247-bb680e5fe0c8}"),
                        uuid::is_valid("67e55044-10b1-426f-9247-bb680e5fe0cg")] }"#,
    )
    .await;
    let v4 = uuid::Uuid::parse_str(v["v4"].as_str().unwrap()).unwrap();
    assert_eq!(v4.get_version_num(), 4);
    assert_eq!(v4.to_string(), v["v4"], "lower-case hyphenated");
    assert_ne!(v["v4"], v["other_v4"]);
    let v7: Vec<_> = v["v7"].as_array().unwrap().iter().collect();
    for id in &v7 {
        assert_eq!(
            uuid::Uuid::parse_str(id.as_str().unwrap())
                .unwrap()
                .get_version_num(),
            7
        );
    }
    assert_eq!(v["in_order"], true, "v7 ids sort in creation order");
    let distinct: std::collections::HashSet<_> = v7.iter().collect();
    assert_eq!(distinct.len(), v7.len());
    assert_eq!(v["valid"], json!([true, true, true, true]));
    assert_eq!(v["invalid"], json!([false, false, false, false, false]));
}

// --- time -----------------------------------------------------------------

#[tokio::test]
async fn time_now_is_the_current_time() {
    let before = time::OffsetDateTime::now_utc();
    let v = value("[time::now(), time::now_iso(), type_of(time::now())]").await;
    let after = time::OffsetDateTime::now_utc();
    let ms = |t: time::OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap();
    let now = v[0].as_i64().unwrap();
    assert!((ms(before)..=ms(after)).contains(&now), "{now}");
    assert_eq!(v[2], "i64");
    let iso = v[1].as_str().unwrap();
    assert_eq!(iso.len(), "2024-01-01T00:00:00.000Z".len(), "{iso}");
    assert!(iso.ends_with('Z'), "{iso}");
    let parsed =
        time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(
        before - time::Duration::milliseconds(1) <= parsed && parsed <= after,
        "{iso}"
    );
}

#[tokio::test]
async fn time_format_and_parse() {
    let v = value(
        r#"[time::format(1700000000123, "%Y-%m-%d %H:%M:%S"),
            time::format(1700000000123, "%Y-%m-%dT%H:%M:%S%.3fZ"),
            time::format(1700000000123, "%a %d %b %Y, %A %B, %j %w %u %p %Z %z %s %%"),
            time::format(0, "%F %T"), time::format(-1, "%F %T%.3f"),
            time::parse("2023-11-14T22:13:20.123Z"), time::parse("2023-11-15T00:13:20.123+02:00"),
            time::parse("1970-01-01T00:00:00Z"), time::parse("1969-12-31T23:59:59.999Z"),
            time::parse(time::format(1700000000123, "%Y-%m-%dT%H:%M:%S%.3fZ")),
            time::parse(time::now_iso()) <= time::now()]"#,
    )
    .await;
    assert_eq!(
        v,
        json!([
            "2023-11-14 22:13:20",
            "2023-11-14T22:13:20.123Z",
            "Tue 14 Nov 2023, Tuesday November, 318 2 2 PM UTC +0000 1700000000 %",
            "1970-01-01 00:00:00",
            "1969-12-31 23:59:59.999",
            1_700_000_000_123_i64,
            1_700_000_000_123_i64,
            0,
            -1,
            1_700_000_000_123_i64,
            true
        ])
    );
}

#[tokio::test]
async fn time_bad_input_is_a_catchable_error() {
    assert_eq!(
        caught("time::format(0, \"%Y %!\")").await,
        "time::format: strftime formatting failed: found unrecognized specifier directive `!`"
    );
    assert_eq!(
        caught("time::format(0, \"%\")").await,
        "time::format: strftime formatting failed: invalid format string, \
         expected byte after `%`, but found end of format string"
    );
    // Years -9999..=9999 only.
    for ms in ["9223372036854775807", "253402300799999"] {
        let e = caught(&format!("time::format({ms}, \"%Y\")")).await;
        assert!(
            e.starts_with(
                "time::format: parameter 'Unix timestamp milliseconds' is not in the required range"
            ),
            "{e}"
        );
    }
    for (bad, why) in [
        ("", "expected four digit year"),
        ("yesterday", "failed to parse four digit integer as year"),
        ("2023-11-14", "failed to find time component"),
        ("2023-11-14T22:13:20", "failed to find offset component"),
        (
            "2023-13-14T22:13:20Z",
            "parameter 'month' is not in the required range of 1..=12",
        ),
    ] {
        let e = caught(&format!("time::parse(\"{bad}\")")).await;
        assert!(
            e.starts_with("time::parse: ") && e.contains(why),
            "{bad}: {e}"
        );
    }
}

// --- rand -----------------------------------------------------------------

#[tokio::test]
async fn rand_stays_in_its_ranges() {
    let v = value(
        r#"let ints = #{}; let lo = 100; let hi = -100; let f_lo = 1.0; let f_hi = 0.0;
           let picked = #{};
           for i in 0..2000 {
               let n = rand::int(1, 6);
               ints[`${n}`] = true;
               if n < lo { lo = n; } if n > hi { hi = n; }
               let f = rand::float();
               if f < f_lo { f_lo = f; } if f > f_hi { f_hi = f; }
               picked[rand::pick(["a", "b", "c"])] = true;
           }
           #{ lo: lo, hi: hi, kinds: ints.len(), f_lo: f_lo, f_hi: f_hi, picked: picked.keys(),
              same: rand::int(7, 7), wide: type_of(rand::int(-9223372036854775807 - 1, 9223372036854775807)),
              float_type: type_of(rand::float()), empty: rand::pick([]),
              constant: { const C = [5]; rand::pick(C) } }"#,
    )
    .await;
    assert_eq!((v["lo"].as_i64(), v["hi"].as_i64()), (Some(1), Some(6)));
    assert_eq!(v["kinds"], 6, "every value in 1..=6 came up");
    let (f_lo, f_hi) = (v["f_lo"].as_f64().unwrap(), v["f_hi"].as_f64().unwrap());
    assert!(
        (0.0..0.01).contains(&f_lo) && (0.99..1.0).contains(&f_hi),
        "{f_lo} {f_hi}"
    );
    let mut picked: Vec<_> = v["picked"].as_array().unwrap().clone();
    picked.sort_by_key(|p| p.to_string());
    assert_eq!(picked, [json!("a"), json!("b"), json!("c")]);
    assert_eq!(v["same"], 7);
    assert_eq!(v["wide"], "i64");
    assert_eq!(v["float_type"], "f64");
    assert_eq!(v["empty"], Value::Null, "pick of an empty array is ()");
    assert_eq!(v["constant"], 5);
}

#[tokio::test]
async fn rand_bad_input_is_a_catchable_error() {
    assert_eq!(
        caught("rand::int(2, 1)").await,
        "rand::int: lo (2) is greater than hi (1)"
    );
}

// --- regex ----------------------------------------------------------------

#[tokio::test]
async fn regex_functions_match_find_replace_capture_and_split() {
    let v = value(
        r##"#{
            is_match: [regex::is_match("^\\d+$", "123"), regex::is_match("^\\d+$", "12a")],
            find: [regex::find("\\d+", "ab 12 cd 345"), regex::find("\\d+", "none")],
            find_all: [regex::find_all("\\d+", "ab 12 cd 345"), regex::find_all("\\d+", "none")],
            replace: [regex::replace("\\d+", "a1b22c", "#"),
                      regex::replace("(\\w+)@(\\w+)", "x@y, p@q", "$2 at $1"),
                      regex::replace("(?P<k>\\w+)=", "a=1", "${k}:"),
                      regex::replace("a", "aaa", "$$"),
                      regex::replace("z", "abc", "y")],
            captures: [regex::captures("(\\d+)-(\\d+)?", "x 12- y"),
                       regex::captures("(?P<y>\\d{4})-(?P<m>\\d\\d)", "on 2024-06 ok"),
                       regex::captures("(\\d+)", "none")],
            split: [regex::split("\\s*,\\s*", "a , b,c"), regex::split(",", ""),
                    regex::split(",", "a,"), regex::split("x", "abc")],
            unicode: regex::find_all("\\w+", "héllo wörld ✓"),
        }"##,
    )
    .await;
    assert_eq!(v["is_match"], json!([true, false]));
    assert_eq!(v["find"], json!(["12", null]));
    assert_eq!(v["find_all"], json!([["12", "345"], []]));
    assert_eq!(
        v["replace"],
        json!(["a#b#c", "y at x, q at p", "a:1", "$$$", "abc"])
    );
    assert_eq!(
        v["captures"],
        json!([["12-", "12", null], ["2024-06", "2024", "06"], null])
    );
    assert_eq!(
        v["split"],
        json!([["a", "b", "c"], [""], ["a", ""], ["abc"]])
    );
    assert_eq!(v["unicode"], json!(["héllo", "wörld"]));
}

#[tokio::test]
async fn regex_bad_patterns_are_catchable_errors() {
    for func in ["is_match", "find", "find_all", "captures", "split"] {
        assert_eq!(
            caught(&format!("regex::{func}(\"(\", \"x\")")).await,
            format!("regex::{func}: invalid pattern: unclosed group")
        );
    }
    assert_eq!(
        caught("regex::replace(\"a{2,1}\", \"x\", \"y\")").await,
        "regex::replace: invalid pattern: invalid repetition count range, the start must be <= the end"
    );
    // Look-around is not supported by the linear-time engine.
    assert_eq!(
        caught("regex::is_match(\"a(?=b)\", \"ab\")").await,
        "regex::is_match: invalid pattern: look-around, including look-ahead and look-behind, is not supported"
    );
    // Patterns are bounded in length and in compiled size.
    let long = "a".repeat(MAX_PATTERN_LEN + 1);
    assert_eq!(
        caught(&format!("regex::is_match(\"{long}\", \"a\")")).await,
        format!(
            "regex::is_match: the pattern is {} bytes long; at most {MAX_PATTERN_LEN} are allowed",
            MAX_PATTERN_LEN + 1
        )
    );
    assert_eq!(
        caught("regex::is_match(\"\\\\w{1000}\", \"a\")").await,
        "regex::is_match: the pattern is too complex: it compiles to more than 1048576 bytes"
    );
    // A failed compile is not cached: the next call fails the same way.
    assert_eq!(
        caught("try { regex::find(\"[\", \"\") } catch {} regex::find(\"[\", \"\")").await,
        "regex::find: invalid pattern: unclosed character class"
    );
}

#[tokio::test]
async fn regex_work_is_bounded() {
    // One search: automaton states × text length. `\w` alone has hundreds
    // of states; a megabyte of text is past the bound for `(\w+)=(\w+)`.
    let src =
        "let s = \"a\"; while s.len() < 1000000 { s += s; } regex::find(\"(\\\\w+)=(\\\\w+)\", s)";
    let out = run_limited(src, |o| o.max_string_size = Some(2 << 20)).await;
    let e = expect_status(&out, ExecStatus::Error, "script_error");
    assert!(
        e.message
            .starts_with("regex::find: the pattern is too complex for a string of 1048576 bytes")
            && e.message.ends_with(&format!("at most {MAX_REGEX_WORK}")),
        "{e:?}"
    );
    // Iterating: `(?s)a.*x|a` rescans the rest of the text for every match;
    // the time budget stops it long before the quadratic end.
    let started = std::time::Instant::now();
    let src = "let s = \"a\"; while s.len() < 500000 { s += s; } regex::replace(\"(?s)a.*x|a\", s, \"b\").len()";
    let out = run(src).await;
    let e = expect_status(&out, ExecStatus::Error, "script_error");
    assert_eq!(
        e.message,
        "regex::replace: gave up after 1000 ms: the pattern is too slow on this string"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // A script whose own deadline comes before the regex budget ends as a
    // timeout, not with the regex error.
    let out = run_limited(src, |o| o.timeout_ms = Some(300)).await;
    expect_status(&out, ExecStatus::Timeout, "timeout");
}

#[tokio::test]
async fn regex_results_respect_the_sandbox_limits() {
    let limited = |o: &mut SandboxOverrides| {
        o.max_array_size = Some(10);
        o.max_string_size = Some(100);
    };
    // At the limit: fine.
    let out = run_limited("regex::find_all(\"a\", \"aaaaaaaaaa\").len()", limited).await;
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!(10)),
        "{:?}",
        out.error
    );
    // Past it: a sandbox limit, as for an array the script built itself.
    for src in [
        "regex::find_all(\"a\", \"aaaaaaaaaaa\")",
        "regex::split(\"a\", \"aaaaaaaaaaa\")",
        "regex::captures(\"(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)\", \"aaaaaaaaaaa\")",
        // Each group repeats the text: the strings together pass the string limit.
        "regex::captures(\"((((x*))))\", \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\")",
        // The result string would pass the string limit.
        "regex::replace(\"a\", \"aaaaaaaaaa\", \"0123456789ab\")",
        "regex::replace(\"a+\", \"aaaaaaaaaa\", \"$0$0$0$0$0$0$0$0$0$0$0\")",
    ] {
        let out = run_limited(src, limited).await;
        expect_status(&out, ExecStatus::LimitExceeded, "limit_exceeded");
    }
    // Many references to a long match are refused before they are expanded.
    let src = "let s = \"a\"; while s.len() < 1000 { s += s; } \
               let w = \"$0\"; while w.len() < 2000 { w += w; } regex::replace(\"a+\", s, w)";
    let out = run(src).await;
    expect_status(&out, ExecStatus::LimitExceeded, "limit_exceeded");
}

#[tokio::test]
async fn regex_compiles_are_cached_and_the_cache_stays_bounded() {
    // Hundreds of distinct patterns: the cache is cleared and refilled.
    let v = value(
        r#"let n = 0;
           for i in 0..300 { if regex::is_match(`^x${i}$`, `x${i}`) { n += 1; } }
           for i in 0..300 { if regex::is_match(`^x${i}$`, `x${i}`) { n += 1; } }
           n"#,
    )
    .await;
    assert_eq!(v, 600);
}
