//! [`RemoteServices`]: what scripts on a remote executor reach, over the
//! wire to the manager: the KV store, the app's secrets and `invoke`'s
//! lookup of scripts. Each
//! call presents the execution's grant; the manager acts on the app the
//! grant names.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use picloud_shared::kv::KvListOptions;
use picloud_shared::routing::Routing;
use picloud_shared::version::WIRE_VERSION;
use picloud_shared::wire::{
    CallCx, KvCall, KvOp, KvReply, ResolveCall, ResolveReply, SecretCall, SecretReply, WIRE_HEADER,
    WireError,
};
use picloud_shared::{
    AppId, BoxFuture, Error, KvPage, KvService, Result, Script, ScriptId, ScriptResolver,
    SdkCallCx, SecretService,
};
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The manager's services, over the wire.
pub struct RemoteServices {
    client: reqwest::Client,
    kv: String,
    secret_url: String,
    resolve: String,
    secret: Arc<str>,
    /// Scripts `invoke` found, by app and name: asked for again each time,
    /// but sent again only when the manager has a newer version.
    known: RwLock<HashMap<(AppId, String), Arc<Script>>>,
}

/// Scripts remembered for `invoke` (past it, the map restarts).
const KNOWN_SCRIPTS: usize = 10_000;

fn call_cx(cx: &SdkCallCx) -> Result<CallCx> {
    Ok(CallCx {
        app_id: cx.app_id,
        script_id: cx.script_id,
        execution_id: cx.execution_id,
        request_id: cx.request_id,
        depth: cx.depth,
        grant: cx
            .grant
            .clone()
            .ok_or_else(|| Error::Backend("this execution carries no grant".into()))?,
    })
}

impl RemoteServices {
    /// The manager at `manager` (`http://host:port`).
    pub fn new(manager: &str, secret: Arc<str>) -> Self {
        let base = format!(
            "{}{}",
            manager.trim_end_matches('/'),
            picloud_shared::wire::prefix()
        );
        RemoteServices {
            client: super::client(),
            kv: format!("{base}/kv"),
            secret_url: format!("{base}/secret"),
            resolve: format!("{base}/resolve"),
            secret,
            known: RwLock::new(HashMap::new()),
        }
    }

    async fn post<B: Serialize, R: DeserializeOwned>(&self, url: &str, body: &B) -> Result<R> {
        let answer = self
            .client
            .post(url)
            .bearer_auth(&*self.secret)
            .header(WIRE_HEADER, WIRE_VERSION)
            .json(body)
            .send()
            .await
            .map_err(|e| {
                Error::Backend(format!("the manager cannot be reached ({e}); try again"))
            })?;
        let status = answer.status();
        if status == StatusCode::OK {
            return answer
                .json()
                .await
                .map_err(|e| Error::Backend(format!("the manager's reply was cut: {e}")));
        }
        let error = answer.json::<WireError>().await.unwrap_or(WireError {
            code: "backend".into(),
            message: format!("the manager answered {status}"),
        });
        Err(match error.code.as_str() {
            // A script's own mistake (a bad key, a value too large): its
            // message is for the script, as in one process.
            "invalid" => Error::Invalid(error.message),
            _ => Error::Backend(error.message),
        })
    }

    async fn kv(&self, cx: &SdkCallCx, collection: &str, op: KvOp) -> Result<KvReply> {
        let call = KvCall {
            cx: call_cx(cx)?,
            collection: collection.to_owned(),
            op,
        };
        self.post(&self.kv, &call).await
    }
}

/// One KV call whose reply must be of the kind `pick` takes.
async fn kv_as<T>(
    services: &RemoteServices,
    cx: &SdkCallCx,
    collection: &str,
    op: KvOp,
    pick: fn(KvReply) -> std::result::Result<T, KvReply>,
) -> Result<T> {
    pick(services.kv(cx, collection, op).await?)
        .map_err(|other| Error::Backend(format!("the manager answered a KV call with {other:?}")))
}

impl SecretService for RemoteServices {
    fn get<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let call = SecretCall {
                cx: call_cx(cx)?,
                name: name.to_owned(),
            };
            let reply: SecretReply = self.post(&self.secret_url, &call).await?;
            Ok(reply.value)
        })
    }
}

impl KvService for RemoteServices {
    fn get<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        let op = KvOp::Get {
            key: key.to_owned(),
        };
        Box::pin(kv_as(self, cx, collection, op, |r| match r {
            KvReply::Value(v) => Ok(v),
            other => Err(other),
        }))
    }

    fn set<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
        value: Value,
    ) -> BoxFuture<'a, Result<()>> {
        let op = KvOp::Set {
            key: key.to_owned(),
            value,
        };
        Box::pin(kv_as(self, cx, collection, op, |r| match r {
            KvReply::Done => Ok(()),
            other => Err(other),
        }))
    }

    fn has<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
        let op = KvOp::Has {
            key: key.to_owned(),
        };
        Box::pin(kv_as(self, cx, collection, op, bool_reply))
    }

    fn delete<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
        let op = KvOp::Delete {
            key: key.to_owned(),
        };
        Box::pin(kv_as(self, cx, collection, op, bool_reply))
    }

    fn list<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        options: KvListOptions,
    ) -> BoxFuture<'a, Result<KvPage>> {
        Box::pin(kv_as(
            self,
            cx,
            collection,
            KvOp::List { options },
            |r| match r {
                KvReply::Page(page) => Ok(page),
                other => Err(other),
            },
        ))
    }
}

fn bool_reply(reply: KvReply) -> std::result::Result<bool, KvReply> {
    match reply {
        KvReply::Bool(b) => Ok(b),
        other => Err(other),
    }
}

impl ScriptResolver for RemoteServices {
    /// An executor runs what it is sent; it looks scripts up only by name,
    /// for `invoke`, with a grant ([`ScriptResolver::resolve_for`]).
    fn resolve(&self, _id: ScriptId) -> BoxFuture<'_, Result<Option<Arc<Script>>>> {
        Box::pin(async {
            Err(Error::Backend(
                "an executor looks scripts up only for invoke".into(),
            ))
        })
    }

    fn resolve_name<'a>(
        &'a self,
        _app: AppId,
        _name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Script>>>> {
        Box::pin(async {
            Err(Error::Backend(
                "an executor looks scripts up only for a running execution".into(),
            ))
        })
    }

    fn resolve_for<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Script>>>> {
        Box::pin(async move {
            let key = (cx.app_id, name.to_owned());
            let known = self
                .known
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&key)
                .cloned();
            let call = ResolveCall {
                cx: call_cx(cx)?,
                name: name.to_owned(),
                have: known.as_ref().map(|s| (s.id, s.version)),
            };
            let reply: ResolveReply = self.post(&self.resolve, &call).await?;
            let mut map = self.known.write().unwrap_or_else(|p| p.into_inner());
            match reply {
                ResolveReply::Missing => {
                    map.remove(&key);
                    Ok(None)
                }
                ResolveReply::Same => Ok(known),
                ResolveReply::Script(script) => {
                    let script: Arc<Script> = Arc::from(script);
                    if map.len() >= KNOWN_SCRIPTS {
                        map.clear();
                    }
                    map.insert(key, Arc::clone(&script));
                    Ok(Some(script))
                }
            }
        })
    }

    /// An executor routes nothing.
    fn routing(&self) -> Arc<Routing> {
        Arc::new(Routing::empty(AppId(uuid::Uuid::nil())))
    }
}
