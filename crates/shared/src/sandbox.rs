//! Sandbox limits: the defaults every script runs with, the per-script
//! overrides a script may carry, and the operator's ceilings that bound them.
//!
//! The rule (contract.md, Sandbox): a script's `sandbox` object may set any
//! of the keys below up to the ceiling; above one is refused. Defaults are
//! never above the ceilings, and raising a ceiling does not raise a default.

use serde::{Deserialize, Serialize};

/// A script's requested limits. Unknown keys are refused when parsing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SandboxOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_operations: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_call_levels: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_expr_depth: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_string_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_array_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_map_size: Option<u64>,
}

/// A complete set of limits: what a script actually runs with, and also the
/// shape of the defaults and of the ceilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SandboxLimits {
    /// Rhai operations (roughly: evaluated nodes) per execution.
    pub max_operations: u64,
    /// Wall-clock limit per execution, in milliseconds.
    pub timeout_ms: u64,
    /// Nested function calls.
    pub max_call_levels: u64,
    /// Expression nesting, checked when compiling (also inside functions).
    pub max_expr_depth: u64,
    /// Bytes in one string.
    pub max_string_size: u64,
    /// Elements in one array (nested arrays count) or bytes in one blob.
    pub max_array_size: u64,
    /// Entries in one object map (nested maps count).
    pub max_map_size: u64,
}

/// The limit names, in the order of the fields, as scripts and env vars name them.
pub const LIMIT_KEYS: [&str; 7] = [
    "max_operations",
    "timeout_ms",
    "max_call_levels",
    "max_expr_depth",
    "max_string_size",
    "max_array_size",
    "max_map_size",
];

impl SandboxLimits {
    /// The limits a script gets when its `sandbox` sets nothing.
    pub const DEFAULTS: SandboxLimits = SandboxLimits {
        max_operations: 10_000_000,
        timeout_ms: 5_000,
        max_call_levels: 32,
        max_expr_depth: 64,
        max_string_size: 1 << 20,
        max_array_size: 10_000,
        max_map_size: 10_000,
    };

    /// The ceilings when the operator sets none (`PICLOUD_SANDBOX_MAX_*`
    /// unset): what a script may ask for out of the box.
    pub const DEFAULT_CEILINGS: SandboxLimits = SandboxLimits {
        max_operations: 1_000_000_000,
        timeout_ms: 60_000,
        max_call_levels: 128,
        max_expr_depth: 128,
        max_string_size: 16 << 20,
        max_array_size: 10_000,
        max_map_size: 10_000,
    };

    /// The most an operator may set a ceiling to: big enough for real
    /// workloads (a sieve of a million numbers, a 50,000-row export, a map
    /// of 200,000 keys). Call levels and expression depth stay where the
    /// stacks of the threads scripts run on provably hold them; data nested
    /// deep under raised size ceilings gets a stack of its own (see
    /// `executor-core`'s `deep.rs`). Each maximum is tested at its value
    /// (`executor-core/tests/sandbox.rs`).
    pub const MAX_CEILINGS: SandboxLimits = SandboxLimits {
        max_operations: 1_000_000_000_000,
        timeout_ms: 300_000,
        max_call_levels: 128,
        max_expr_depth: 128,
        max_string_size: 256 << 20,
        max_array_size: 10_000_000,
        max_map_size: 1_000_000,
    };

    fn as_array(&self) -> [u64; 7] {
        [
            self.max_operations,
            self.timeout_ms,
            self.max_call_levels,
            self.max_expr_depth,
            self.max_string_size,
            self.max_array_size,
            self.max_map_size,
        ]
    }

    fn from_array(a: [u64; 7]) -> Self {
        SandboxLimits {
            max_operations: a[0],
            timeout_ms: a[1],
            max_call_levels: a[2],
            max_expr_depth: a[3],
            max_string_size: a[4],
            max_array_size: a[5],
            max_map_size: a[6],
        }
    }

    /// Each limit the smaller of the two.
    pub fn min(&self, other: &SandboxLimits) -> SandboxLimits {
        let (a, b) = (self.as_array(), other.as_array());
        Self::from_array(std::array::from_fn(|i| a[i].min(b[i])))
    }
}

impl SandboxOverrides {
    fn as_array(&self) -> [Option<u64>; 7] {
        [
            self.max_operations,
            self.timeout_ms,
            self.max_call_levels,
            self.max_expr_depth,
            self.max_string_size,
            self.max_array_size,
            self.max_map_size,
        ]
    }
}

/// The operator's ceilings (`PICLOUD_SANDBOX_MAX_*`) and the defaults derived
/// from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxCeilings {
    ceilings: SandboxLimits,
}

/// Why a script's `sandbox` object was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "sandbox.{key} = {value} is above the ceiling of {ceiling} set by PICLOUD_SANDBOX_{env}"
    )]
    AboveCeiling {
        key: &'static str,
        env: String,
        value: u64,
        ceiling: u64,
    },
    #[error("sandbox.{key} must be at least 1")]
    Zero { key: &'static str },
}

impl Default for SandboxCeilings {
    fn default() -> Self {
        SandboxCeilings {
            ceilings: SandboxLimits::DEFAULT_CEILINGS,
        }
    }
}

impl SandboxCeilings {
    /// Ceilings as configured. Values above the built-in maxima are refused
    /// by the configuration layer before this is built; they are clamped here
    /// as a second line of defence.
    pub fn new(ceilings: SandboxLimits) -> Self {
        SandboxCeilings {
            ceilings: ceilings.min(&SandboxLimits::MAX_CEILINGS),
        }
    }

    pub fn ceilings(&self) -> SandboxLimits {
        self.ceilings
    }

    /// The limits a script with no overrides runs with: the defaults, lowered
    /// to a ceiling where an operator set one below them.
    pub fn defaults(&self) -> SandboxLimits {
        SandboxLimits::DEFAULTS.min(&self.ceilings)
    }

    /// Checks a script's overrides against the ceilings (at upload).
    pub fn validate(&self, overrides: &SandboxOverrides) -> Result<(), SandboxError> {
        let ceilings = self.ceilings.as_array();
        for (i, value) in overrides.as_array().into_iter().enumerate() {
            let Some(value) = value else { continue };
            let key = LIMIT_KEYS[i];
            if value == 0 {
                return Err(SandboxError::Zero { key });
            }
            if value > ceilings[i] {
                return Err(SandboxError::AboveCeiling {
                    key,
                    env: format!("MAX_{}", key.trim_start_matches("max_").to_uppercase()),
                    value,
                    ceiling: ceilings[i],
                });
            }
        }
        Ok(())
    }

    /// The limits a script runs with. Overrides are clamped to the current
    /// ceilings, so lowering a ceiling after a script was saved lowers its
    /// limits too instead of failing it.
    pub fn resolve(&self, overrides: &SandboxOverrides) -> SandboxLimits {
        let defaults = self.defaults().as_array();
        let ceilings = self.ceilings.as_array();
        let wanted = overrides.as_array();
        SandboxLimits::from_array(std::array::from_fn(|i| {
            wanted[i].map_or(defaults[i], |v| v.clamp(1, ceilings[i]))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_the_default_ceilings_within_the_built_in_maxima() {
        assert_eq!(
            SandboxLimits::DEFAULTS.min(&SandboxLimits::DEFAULT_CEILINGS),
            SandboxLimits::DEFAULTS
        );
        assert_eq!(
            SandboxLimits::DEFAULT_CEILINGS.min(&SandboxLimits::MAX_CEILINGS),
            SandboxLimits::DEFAULT_CEILINGS
        );
    }

    #[test]
    fn an_operator_may_raise_the_ceilings_to_real_workloads() {
        let m = SandboxLimits::MAX_CEILINGS;
        assert!(m.max_operations >= 100_000_000_000);
        assert!(m.timeout_ms >= 300_000);
        assert!(m.max_array_size >= 10_000_000);
        assert!(m.max_map_size >= 1_000_000);
        assert!(m.max_string_size >= 256 << 20);
        let raised = SandboxCeilings::new(m);
        assert_eq!(raised.ceilings(), m);
        // Raising a ceiling does not raise a default.
        assert_eq!(raised.defaults(), SandboxLimits::DEFAULTS);
        let o = SandboxOverrides {
            max_array_size: Some(10_000_000),
            timeout_ms: Some(300_000),
            ..Default::default()
        };
        assert_eq!(raised.validate(&o), Ok(()));
        assert!(SandboxCeilings::default().validate(&o).is_err());
    }

    #[test]
    fn lowering_a_ceiling_lowers_the_default_but_raising_it_does_not_raise_it() {
        let mut low = SandboxLimits::MAX_CEILINGS;
        low.timeout_ms = 100;
        assert_eq!(SandboxCeilings::new(low).defaults().timeout_ms, 100);
        assert_eq!(
            SandboxCeilings::default().defaults().timeout_ms,
            SandboxLimits::DEFAULTS.timeout_ms
        );
    }

    #[test]
    fn overrides_above_a_ceiling_are_refused_with_the_env_name() {
        let c = SandboxCeilings::default();
        let o = SandboxOverrides {
            timeout_ms: Some(60_001),
            ..Default::default()
        };
        let err = c.validate(&o).unwrap_err();
        assert!(
            err.to_string().contains("PICLOUD_SANDBOX_MAX_TIMEOUT_MS"),
            "{err}"
        );
        let o = SandboxOverrides {
            max_operations: Some(0),
            ..Default::default()
        };
        assert_eq!(
            c.validate(&o),
            Err(SandboxError::Zero {
                key: "max_operations"
            })
        );
    }

    #[test]
    fn unknown_override_keys_are_refused() {
        let err = serde_json::from_str::<SandboxOverrides>(r#"{"max_fun": 3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `max_fun`"), "{err}");
    }

    #[test]
    fn resolve_applies_overrides_and_clamps_to_ceilings() {
        let mut low = SandboxLimits::MAX_CEILINGS;
        low.max_call_levels = 10;
        let c = SandboxCeilings::new(low);
        let o = SandboxOverrides {
            max_call_levels: Some(50),
            timeout_ms: Some(250),
            ..Default::default()
        };
        let r = c.resolve(&o);
        assert_eq!(r.max_call_levels, 10);
        assert_eq!(r.timeout_ms, 250);
        assert_eq!(r.max_operations, SandboxLimits::DEFAULTS.max_operations);
    }
}
