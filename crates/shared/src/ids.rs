//! Distinct id types, so an `AppId` can never be passed where a `ScriptId`
//! is meant. All are UUIDs; new ones are v7 (time-ordered), so ordering by id
//! is ordering by creation on both database backends.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// An app: the unit of ownership and isolation.
    AppId
);
id_type!(
    /// A script, stable across versions.
    ScriptId
);
id_type!(
    /// One run of a script.
    ExecutionId
);
id_type!(
    /// One incoming request; nested executions share it.
    RequestId
);
id_type!(
    /// An admin user.
    UserId
);
id_type!(
    /// A user route (path pattern → script).
    RouteId
);
id_type!(
    /// A domain claim of an app.
    DomainId
);
id_type!(
    /// A KV or cron trigger of an app.
    TriggerId
);
id_type!(
    /// An event that failed every attempt, kept for a look and a retry.
    DeadLetterId
);
