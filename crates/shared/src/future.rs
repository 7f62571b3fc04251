//! The one future type of the seams.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: the seams' traits are used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
