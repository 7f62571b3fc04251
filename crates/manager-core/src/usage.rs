//! What each script's executions cost over time: per minute, how many ran,
//! how many failed, and histograms of their durations and Rhai operations,
//! kept for a day (`script_buckets`). The execution-record writer adds each
//! batch in the transaction that writes its records, so every execution is
//! counted, also past the records' retention. The dashboard's charts and
//! the scripts list's percentiles are read from here.
//!
//! The table's statements are in `repo/buckets.rs`.
//!
//! A histogram bucket spans a quarter of a doubling (a factor of 2^¼ ≈
//! 1.19), so a percentile read from it is within 10% of the true value.

use std::collections::{BTreeMap, HashMap};

use picloud_shared::{AppId, ExecStatus, ExecutionRecord, ScriptId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::db::Db;
use crate::error::Result;
use crate::repo::BucketsOf;

/// Minutes of buckets kept per script: a day.
pub const KEPT_MINUTES: i64 = 24 * 60;

/// Buckets per doubling of a measure.
const PER_DOUBLING: f64 = 4.0;

/// What a row counts (`metric`).
const EXECUTIONS: &str = "n";
const ERRORS: &str = "e";
/// Durations in microseconds, bucketed.
const DURATION: &str = "d";
/// Rhai operations, bucketed.
const OPERATIONS: &str = "o";

/// The bucket of a measure: 0 below 1, then a quarter of a doubling each.
fn bucket_of(x: f64) -> i64 {
    if x.is_finite() && x >= 1.0 {
        // At most 4 × 1024 + 1 for any f64: the cast cannot overflow.
        (x.log2() * PER_DOUBLING).floor() as i64 + 1
    } else {
        0
    }
}

/// The value a bucket stands for: its geometric middle (0 for bucket 0).
fn value_of(bucket: i64) -> f64 {
    if bucket <= 0 {
        0.0
    } else {
        (((bucket - 1) as f64 + 0.5) / PER_DOUBLING).exp2()
    }
}

/// Minutes since the Unix epoch.
fn minute_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(60)
}

/// One row's share of a batch: `count` to add.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BucketCount {
    pub script_id: ScriptId,
    pub minute: i64,
    pub metric: &'static str,
    pub bucket: i64,
    pub app_id: AppId,
    pub count: i64,
}

/// A batch of records as the rows it adds to, in key order (so concurrent
/// writers on PostgreSQL take the rows' locks in the same order).
pub(crate) fn batch_buckets(batch: &[ExecutionRecord]) -> Vec<BucketCount> {
    // Every record of a batch passes here (not only those its script
    // keeps): a fast hash of our own ids, not SipHash.
    let mut counts: foldhash::HashMap<(ScriptId, i64, &'static str, i64), (AppId, i64)> =
        foldhash::HashMapExt::with_capacity(64);
    for r in batch {
        let minute = minute_of(r.started_at);
        let mut add = |metric, bucket| {
            counts
                .entry((r.script_id, minute, metric, bucket))
                .or_insert((r.app_id, 0))
                .1 += 1;
        };
        add(EXECUTIONS, 0);
        if r.status != ExecStatus::Ok {
            add(ERRORS, 0);
        }
        add(DURATION, bucket_of(r.duration_ms * 1000.0));
        if let Some(ops) = r.operations {
            add(OPERATIONS, bucket_of(ops as f64));
        }
    }
    let mut rows: Vec<BucketCount> = counts
        .into_iter()
        .map(
            |((script_id, minute, metric, bucket), (app_id, count))| BucketCount {
                script_id,
                minute,
                metric,
                bucket,
                app_id,
                count,
            },
        )
        .collect();
    rows.sort_unstable();
    rows
}

/// The first minute kept when writing at `now`.
pub(crate) fn first_kept(now: OffsetDateTime) -> i64 {
    minute_of(now) - KEPT_MINUTES + 1
}

/// How far back a series looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// 60 points, a minute each.
    #[default]
    Hour,
    /// 96 points, a quarter of an hour each.
    Day,
}

impl Window {
    /// Minutes per point and points.
    fn shape(self) -> (i64, i64) {
        match self {
            Window::Hour => (1, 60),
            Window::Day => (15, 96),
        }
    }
}

/// Percentiles of a measure; null when nothing was measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// One point of a series: what the executions that started in
/// `[at, at + step)` added up to.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UsagePoint {
    #[serde(with = "picloud_shared::timestamp")]
    pub at: OffsetDateTime,
    pub invocations: i64,
    pub errors: i64,
    /// Durations in milliseconds.
    pub duration_ms: Percentiles,
    pub operations: Percentiles,
}

/// A script's executions over the last hour or day, oldest point first;
/// every step of the window has a point, empty ones with zero invocations.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UsageSeries {
    pub window: Window,
    pub step_seconds: i64,
    pub points: Vec<UsagePoint>,
}

/// What a script's executions of the last day add up to, for the scripts
/// list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayUsage {
    pub invocations: i64,
    pub errors: i64,
    pub duration_ms: Percentiles,
    pub operations: Percentiles,
    /// Per clock hour, the last 24, the current one last (the app page's
    /// bars); empty when the script did not run in the last day.
    pub hourly: Vec<HourCount>,
}

/// The executions that started in one hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HourCount {
    pub invocations: i64,
    pub errors: i64,
}

/// Hours in [`DayUsage::hourly`].
pub const HOURS: usize = 24;

/// Counts per bucket, summed over some minutes.
#[derive(Default)]
struct Histograms {
    invocations: i64,
    errors: i64,
    duration: BTreeMap<i64, i64>,
    operations: BTreeMap<i64, i64>,
}

impl Histograms {
    fn add(&mut self, metric: &str, bucket: i64, count: i64) {
        match metric {
            EXECUTIONS => self.invocations += count,
            ERRORS => self.errors += count,
            DURATION => *self.duration.entry(bucket).or_default() += count,
            OPERATIONS => *self.operations.entry(bucket).or_default() += count,
            _ => {}
        }
    }

    fn day_usage(&self) -> DayUsage {
        DayUsage {
            invocations: self.invocations,
            errors: self.errors,
            duration_ms: percentiles(&self.duration, 1.0 / 1000.0),
            operations: percentiles(&self.operations, 1.0),
            hourly: Vec::new(),
        }
    }
}

/// The percentiles of a histogram, each the value of the bucket the rank
/// falls in, times `scale`.
fn percentiles(histogram: &BTreeMap<i64, i64>, scale: f64) -> Percentiles {
    let total: i64 = histogram.values().sum();
    let at = |q: f64| -> Option<f64> {
        if total == 0 {
            return None;
        }
        // The smallest value with at least q of the counts at or below it.
        let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
        let mut seen = 0;
        for (&bucket, &count) in histogram {
            seen += count;
            if seen >= rank {
                return Some(value_of(bucket) * scale);
            }
        }
        None
    };
    Percentiles {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
    }
}

impl Db {
    /// A script's series over `window`, ending with the minute of `now`.
    pub(crate) async fn usage_series(
        &self,
        script: ScriptId,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<UsageSeries> {
        let (step, points) = window.shape();
        // Points end at the current step; the first starts `points` steps back.
        let last = minute_of(now).div_euclid(step) * step;
        let first = last - (points - 1) * step;
        let mut by_point: Vec<Histograms> = (0..points).map(|_| Histograms::default()).collect();
        for r in self.bucket_rows(BucketsOf::Script(script), first).await? {
            let i = (r.minute - first).div_euclid(step);
            if let Some(h) = usize::try_from(i).ok().and_then(|i| by_point.get_mut(i)) {
                h.add(&r.metric, r.bucket, r.count);
            }
        }
        Ok(UsageSeries {
            window,
            step_seconds: step * 60,
            points: by_point
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let minute = first + i as i64 * step;
                    let usage = h.day_usage();
                    UsagePoint {
                        at: OffsetDateTime::from_unix_timestamp(minute * 60)
                            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                        invocations: usage.invocations,
                        errors: usage.errors,
                        duration_ms: usage.duration_ms,
                        operations: usage.operations,
                    }
                })
                .collect(),
        })
    }

    /// What each script of `app` that ran in the last day used.
    pub(crate) async fn day_usage(
        &self,
        app: AppId,
        now: OffsetDateTime,
    ) -> Result<HashMap<ScriptId, DayUsage>> {
        let mut by_script: HashMap<ScriptId, (Histograms, Vec<HourCount>)> = HashMap::new();
        // The hours end with the current one.
        let first_hour = minute_of(now).div_euclid(60) - (HOURS as i64 - 1);
        for r in self
            .bucket_rows(BucketsOf::App(app), first_kept(now))
            .await?
        {
            let (h, hourly) = by_script
                .entry(ScriptId(r.script_id))
                .or_insert_with(|| (Histograms::default(), vec![HourCount::default(); HOURS]));
            h.add(&r.metric, r.bucket, r.count);
            let hour = usize::try_from(r.minute.div_euclid(60) - first_hour).ok();
            if let Some(slot) = hour.and_then(|i| hourly.get_mut(i)) {
                match r.metric.as_str() {
                    EXECUTIONS => slot.invocations += r.count,
                    ERRORS => slot.errors += r.count,
                    _ => {}
                }
            }
        }
        Ok(by_script
            .into_iter()
            .map(|(id, (h, hourly))| {
                let mut usage = h.day_usage();
                usage.hourly = hourly;
                (id, usage)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_quarter_doublings_and_stand_for_their_middle() {
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(0.5), 0);
        assert_eq!(bucket_of(f64::NAN), 0);
        assert_eq!(bucket_of(1.0), 1);
        assert_eq!(bucket_of(2.0), 5);
        assert_eq!(bucket_of(1024.0), 41);
        assert_eq!(value_of(0), 0.0);
        for x in [1.0, 3.0, 17.0, 1000.0, 123_456.0, 9.9e9] {
            let v = value_of(bucket_of(x));
            assert!((v / x - 1.0).abs() < 0.1, "{x} stands as {v}");
        }
    }

    #[test]
    fn percentiles_come_from_the_ranks() {
        // 90 executions near 1 ms, 9 near 10 ms, 1 near 100 ms.
        let mut h = BTreeMap::new();
        for (us, n) in [(1000.0, 90), (10_000.0, 9), (100_000.0, 1)] {
            *h.entry(bucket_of(us)).or_default() += n;
        }
        let p = percentiles(&h, 1.0 / 1000.0);
        let near = |got: Option<f64>, want: f64| {
            let got = got.unwrap();
            assert!((got / want - 1.0).abs() < 0.1, "{got} for {want}");
        };
        near(p.p50, 1.0);
        near(p.p95, 10.0);
        near(p.p99, 10.0);
        assert_eq!(percentiles(&BTreeMap::new(), 1.0), Percentiles::default());
        // One more slow one moves p99.
        *h.entry(bucket_of(100_000.0)).or_default() += 1;
        near(percentiles(&h, 1.0 / 1000.0).p99, 100.0);
    }
}
