//! The bytes of request bodies a process holds while they arrive, all
//! requests together: a script's request body and an admin call's are
//! each read whole before anything runs, at a pace their client chooses.
//! Without a bound across requests, every allowed connection could hold a
//! body just short of the limit (measured: 300 connections held 320 MiB;
//! the default 4,096 would hold 4 GiB, more than a small machine has).
//! Past the budget a body is refused, never waited for.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A budget of bytes for bodies being read (see the module).
pub struct BodyBudget(Arc<Semaphore>);

/// The answer to a body refused for want of budget: 503 `overloaded`,
/// the connection closed (the body is left unread).
pub fn spent() -> crate::api_error::ApiError {
    crate::api_error::ApiError::new(
        crate::api_error::ErrorCode::Overloaded,
        "too many request bodies are arriving at once; retry in a second",
    )
    .closing()
}

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// Over the limit.
    TooLarge,
    /// The budget is spent: the body was left unread.
    Spent,
    /// The body could not be read (its client paused too long or left).
    Failed(axum::Error),
}

impl BodyBudget {
    /// The least budget, whatever the body limit.
    pub const MIN_BYTES: usize = 64 << 20;

    /// The budget for bodies of at most `limit` bytes each: four of them,
    /// and at least [`BodyBudget::MIN_BYTES`].
    pub fn for_limit(limit: usize) -> Self {
        Self::of(
            limit
                .saturating_mul(4)
                .clamp(Self::MIN_BYTES, Semaphore::MAX_PERMITS),
        )
    }

    /// A budget of exactly `bytes`.
    pub fn of(bytes: usize) -> Self {
        BodyBudget(Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))))
    }

    /// Bytes not held by a body being read.
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }

    /// Reads a body of at most `limit` bytes, each chunk counted against
    /// the budget from its arrival until the whole body is read (or the
    /// read fails).
    pub async fn read(&self, mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
        let mut held: Option<OwnedSemaphorePermit> = None;
        // One chunk (most bodies) is kept as it came; more are joined.
        let mut first: Option<Bytes> = None;
        let mut joined: Vec<u8> = Vec::new();
        let mut len = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(chunk) = frame.map_err(BodyError::Failed)?.into_data() else {
                // Trailers: nobody reads them.
                continue;
            };
            if chunk.is_empty() {
                continue;
            }
            len = len.saturating_add(chunk.len());
            if len > limit {
                return Err(BodyError::TooLarge);
            }
            let n = u32::try_from(chunk.len()).map_err(|_| BodyError::TooLarge)?;
            let more = Arc::clone(&self.0)
                .try_acquire_many_owned(n)
                .map_err(|_| BodyError::Spent)?;
            match &mut held {
                Some(held) => held.merge(more),
                None => held = Some(more),
            }
            match first.take() {
                None if joined.is_empty() => first = Some(chunk),
                None => joined.extend_from_slice(&chunk),
                Some(one) => {
                    joined.reserve(len);
                    joined.extend_from_slice(&one);
                    joined.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| Bytes::from(joined)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that arrives as the test sends it.
    fn arriving(
        budget: &Arc<BodyBudget>,
    ) -> (
        http_body_util::channel::Sender<Bytes, std::io::Error>,
        tokio::task::JoinHandle<Result<Bytes, BodyError>>,
    ) {
        let (sender, body) = http_body_util::channel::Channel::new(4);
        let budget = Arc::clone(budget);
        let read = tokio::spawn(async move { budget.read(Body::new(body), 1000).await });
        (sender, read)
    }

    async fn until_available(budget: &BodyBudget, bytes: usize) {
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while budget.available() != bytes {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("reached in time");
    }

    #[tokio::test]
    async fn bodies_being_read_share_one_budget() {
        let budget = Arc::new(BodyBudget::of(100));
        // A body arriving slowly holds what has arrived of it.
        let (mut slow, reading) = arriving(&budget);
        slow.send_data(Bytes::from(vec![b'x'; 80])).await.unwrap();
        until_available(&budget, 20).await;

        // Another that does not fit is refused.
        let refused = budget.read(Body::from(vec![b'y'; 30]), 1000).await;
        assert!(matches!(refused, Err(BodyError::Spent)), "{refused:?}");
        // One that fits is read, and gives its bytes back once read.
        let read = budget.read(Body::from(vec![b'z'; 20]), 1000).await;
        assert_eq!(read.unwrap().len(), 20);
        assert_eq!(budget.available(), 20);

        // The slow body ends: whole, and its bytes back.
        slow.send_data(Bytes::from(vec![b'x'; 10])).await.unwrap();
        drop(slow);
        let whole = reading.await.unwrap().unwrap();
        assert_eq!(whole, vec![b'x'; 90]);
        assert_eq!(budget.available(), 100);

        // A client that goes mid-body gives its bytes back too.
        let (mut gone, reading) = arriving(&budget);
        gone.send_data(Bytes::from(vec![b'x'; 50])).await.unwrap();
        until_available(&budget, 50).await;
        gone.abort(std::io::Error::other("the client went"));
        let failed = reading.await.unwrap();
        assert!(matches!(failed, Err(BodyError::Failed(_))), "{failed:?}");
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_too_large() {
        let budget = BodyBudget::of(1 << 20);
        let e = budget.read(Body::from(vec![b'x'; 1001]), 1000).await;
        assert!(matches!(e, Err(BodyError::TooLarge)), "{e:?}");
        assert_eq!(budget.available(), 1 << 20);
        let ok = budget.read(Body::from(vec![b'x'; 1000]), 1000).await;
        assert_eq!(ok.unwrap().len(), 1000);
    }

    #[test]
    fn the_budget_is_four_bodies_and_at_least_64_mib() {
        assert_eq!(BodyBudget::for_limit(1 << 20).available(), 64 << 20);
        assert_eq!(BodyBudget::for_limit(100 << 20).available(), 400 << 20);
    }
}
