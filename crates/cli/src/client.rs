//! Talking to a server: where it is (`--url`, `PICLOUD_URL`, the saved
//! login), which token to send (`PICLOUD_TOKEN`, the saved login), and how
//! answers and transport errors become [`Failure`]s with their exit codes.
//! The saved login itself is `credentials.rs`.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::args::Common;
use crate::credentials::load_credentials;
use crate::failure::{Failure, Result};

/// `http(s)://host[:port][/prefix]`, without a trailing slash.
pub fn normalise_url(raw: &str) -> Result<String> {
    let url = raw.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        Failure::usage(format!(
            "{raw:?} is not a server URL ({e}); write it like http://localhost:8080"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Failure::usage(format!(
            "{raw:?} is not a server URL; write it like http://localhost:8080 or https://picloud.example.com"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Failure::usage(format!(
            "{raw:?}: a server URL has no query or fragment"
        )));
    }
    Ok(url.to_owned())
}

/// Characters left as they are in a path segment or query value.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment or query value.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A server and the token to send it.
pub struct Api {
    http: reqwest::Client,
    pub base: String,
    token: Option<String>,
}

/// An answer, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Api {
    /// The server from `--url`/`PICLOUD_URL`/the saved login, and a token
    /// from `PICLOUD_TOKEN` or the saved login. The saved token is sent only
    /// to the server it was issued by.
    pub fn from_common(common: &Common) -> Result<Api> {
        let env_token = std::env::var("PICLOUD_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        // The saved login is read only when it is needed.
        let saved = if common.url.is_some() && env_token.is_some() {
            None
        } else {
            load_credentials()?
        };
        let base = match (&common.url, &saved) {
            (Some(url), _) => normalise_url(url)?,
            (None, Some(creds)) => normalise_url(&creds.url)?,
            (None, None) => {
                return Err(Failure::usage(
                    "no server: pass --url URL, set PICLOUD_URL, or run `picloud login --url URL --username NAME`",
                ));
            }
        };
        let token = env_token.or_else(|| {
            saved
                .filter(|c| normalise_url(&c.url).is_ok_and(|u| u == base))
                .map(|c| c.token)
        });
        Api::new(base, token)
    }

    pub fn new(base: String, token: Option<String>) -> Result<Api> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("picloud-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // The longest a script may run (the built-in maximum of the
            // timeout ceiling), plus the server's own margin; nothing else
            // takes near this long.
            .timeout(
                Duration::from_millis(picloud_shared::SandboxLimits::MAX_CEILINGS.timeout_ms)
                    + Duration::from_secs(30),
            )
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Failure::error(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Api { http, base, token })
    }

    /// Fails unless there is a token to send.
    pub fn require_login(&self) -> Result<()> {
        if self.token.is_some() {
            Ok(())
        } else {
            Err(Failure::auth(format!(
                "not logged in to {}: run `picloud login --url {} --username NAME` or set PICLOUD_TOKEN",
                self.base, self.base
            )))
        }
    }

    /// Sends a request to `path` (from the server's root) and reads the
    /// answer whole. Transport failures become exit 3.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
        with_token: bool,
    ) -> Result<Reply> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if with_token && let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some((content_type, bytes)) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes);
        }
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| self.transport(e))?.to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn transport(&self, e: reqwest::Error) -> Failure {
        // reqwest's own line ("error sending request for url (...)") says
        // little; its causes say what went wrong.
        let mut causes: Vec<String> = Vec::new();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let m = s.to_string();
            if !causes.iter().any(|c| c.contains(&m)) {
                causes.push(m);
            }
            source = s.source();
        }
        let text = if causes.is_empty() {
            e.to_string()
        } else {
            causes.join(": ")
        };
        if e.is_builder() {
            Failure::usage(format!("bad request to {}: {text}", self.base))
        } else if e.is_connect() || e.is_timeout() || e.is_request() {
            Failure::unreachable(format!("cannot reach {}: {text}", self.base))
        } else {
            Failure::error(format!("talking to {}: {text}", self.base))
        }
    }

    /// An admin API call (`path` after `/api/v1/admin`) with the token,
    /// the answer as it came.
    async fn admin_reply(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        self.require_login()?;
        let body = body.map(|v| ("application/json", v.to_string().into_bytes()));
        self.send(
            method,
            &format!("{}/admin{path}", picloud_shared::version::api_prefix()),
            body,
            true,
        )
        .await
    }

    fn parse(&self, reply: &Reply) -> Result<Value> {
        if !reply.status.is_success() {
            return Err(answer_failure(reply.status, &reply.body));
        }
        if reply.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&reply.body).map_err(|e| {
            Failure::error(format!(
                "{} answered something that is not JSON ({e}); is it a PiCloud server?",
                self.base
            ))
        })
    }

    /// An admin API call: the JSON answer, `Value::Null` for 204. An error
    /// answer becomes a [`Failure`].
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let reply = self.admin_reply(method, path, body).await?;
        self.parse(&reply)
    }

    /// A GET whose 404 is an answer: `None`.
    pub async fn get_opt(&self, path: &str) -> Result<Option<Value>> {
        let reply = self.admin_reply(Method::GET, path, None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.parse(&reply).map(Some)
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.admin(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.admin(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.admin(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        self.admin(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        self.admin(Method::DELETE, path, None).await.map(drop)
    }

    /// `{"items": [...]}` → the items.
    pub async fn items(&self, path: &str) -> Result<Vec<Value>> {
        match self.get(path).await? {
            Value::Object(mut m) => match m.remove("items") {
                Some(Value::Array(items)) => Ok(items),
                _ => Err(Failure::error(format!("{path}: the answer has no items"))),
            },
            _ => Err(Failure::error(format!("{path}: the answer has no items"))),
        }
    }

    /// The id of the script `name` in `app`.
    pub async fn script_id(&self, app: &str, name: &str) -> Result<String> {
        let scripts = self.items(&format!("/scripts?app={}", enc(app))).await?;
        scripts
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| s["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                Failure::error(format!("there is no script named {name:?} in app {app:?}"))
            })
    }
}

/// An error answer as one line: the server's message and code, and for a
/// compile error its line and column. 401 and 403 are auth failures (exit 4).
pub fn answer_failure(status: StatusCode, body: &[u8]) -> Failure {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().map(|v| &v["error"]);
    let code = error.and_then(|e| e["code"].as_str());
    let message = error.and_then(|e| e["message"].as_str());
    let mut text = match (code, message) {
        (Some(code), Some(message)) => {
            let mut t = message.to_owned();
            if let (Some(line), Some(column)) = (
                error.and_then(|e| e["line"].as_u64()),
                error.and_then(|e| e["column"].as_u64()),
            ) {
                t = format!("{t} (line {line}, column {column})");
            }
            format!("{t} [{code}]")
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let short: String = text.chars().take(200).collect();
            if short.is_empty() {
                format!("the server answered {status}")
            } else {
                format!("the server answered {status}: {short}")
            }
        }
    };
    match status {
        StatusCode::UNAUTHORIZED => {
            if code != Some("invalid_credentials") {
                text = format!(
                    "the server did not accept the token: {text}; log in again with `picloud login` or check PICLOUD_TOKEN"
                );
            }
            Failure::auth(text)
        }
        StatusCode::FORBIDDEN => Failure::auth(text),
        _ => Failure::error(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(
            normalise_url("http://localhost:8080/").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            normalise_url("https://pi.example.com/picloud").unwrap(),
            "https://pi.example.com/picloud"
        );
        for bad in ["localhost:8080", "ftp://x", "", "http://x/?a=1"] {
            assert_eq!(
                normalise_url(bad).unwrap_err().exit,
                crate::failure::exit::USAGE
            );
        }
    }

    #[test]
    fn error_answers_become_one_line_with_the_right_exit() {
        let f = answer_failure(
            StatusCode::BAD_REQUEST,
            br#"{"error":{"code":"compile_error","message":"Undefined variable: b","line":2,"column":1}}"#,
        );
        assert_eq!(f.exit, 1);
        assert_eq!(
            f.message,
            "Undefined variable: b (line 2, column 1) [compile_error]"
        );
        let f = answer_failure(
            StatusCode::UNAUTHORIZED,
            br#"{"error":{"code":"unauthorized","message":"no session"}}"#,
        );
        assert_eq!(f.exit, 4);
        assert!(f.message.contains("picloud login"), "{}", f.message);
        assert_eq!(answer_failure(StatusCode::FORBIDDEN, b"").exit, 4);
        let f = answer_failure(StatusCode::BAD_GATEWAY, b"<html>\nbad\n</html>");
        assert_eq!(f.exit, 1);
        assert!(
            f.message.starts_with("the server answered 502"),
            "{}",
            f.message
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(enc("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(enc("o-1_x.y~"), "o-1_x.y~");
    }
}
