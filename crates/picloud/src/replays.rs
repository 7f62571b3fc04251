//! Replays run on this process's data plane: the manager's `Replayer`,
//! implemented by the orchestrator of the same process.

use std::sync::Arc;

use picloud_orchestrator_core::Orchestrator;

/// Replays run on this process's data plane (its executors, its slots).
pub(crate) struct Replays(pub(crate) Arc<Orchestrator>);

/// The most of a replayed response's body the answer shows.
const REPLAY_BODY_LIMIT: usize = 1 << 20;

impl picloud_manager_core::replay::Replayer for Replays {
    fn replay(
        &self,
        script: Arc<picloud_shared::Script>,
        invocation: picloud_shared::Invocation,
        dry_run: bool,
        of: picloud_shared::ExecutionId,
    ) -> picloud_shared::BoxFuture<
        '_,
        Result<picloud_manager_core::replay::Replay, picloud_shared::api_error::ApiError>,
    > {
        Box::pin(async move {
            use base64::Engine as _;
            use picloud_manager_core::replay::{Replay, ReplayResponse};
            let replayed = self.0.replay(script, invocation, dry_run, of).await?;
            let response = match replayed.response {
                None => None,
                Some(response) => {
                    let (parts, body) = response.into_parts();
                    let mut headers = std::collections::BTreeMap::<String, String>::new();
                    for (name, value) in &parts.headers {
                        let value = String::from_utf8_lossy(value.as_bytes());
                        headers
                            .entry(name.as_str().to_owned())
                            .and_modify(|v| {
                                v.push_str(", ");
                                v.push_str(&value);
                            })
                            .or_insert_with(|| value.into_owned());
                    }
                    let bytes = axum::body::to_bytes(body, REPLAY_BODY_LIMIT)
                        .await
                        .unwrap_or_default();
                    let (body, body_base64) = match std::str::from_utf8(&bytes) {
                        Ok(text) => (Some(text.to_owned()), None),
                        Err(_) => (
                            None,
                            Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
                        ),
                    };
                    Some(ReplayResponse {
                        status: parts.status.as_u16(),
                        headers,
                        body,
                        body_base64,
                    })
                }
            };
            Ok(Replay {
                execution: replayed.record,
                response,
            })
        })
    }
}
