//! Checking one trigger of the manifest: the keys its kind takes, the
//! scripts it names, its events, attempts and schedule.

use std::collections::HashMap;
use std::ops::Range;

use picloud_shared::KvEvent;
use toml::Spanned;

use super::position::Ctx;
use super::raw::RawTrigger;
use super::{ManifestError, TriggerSpec};

pub(super) fn check_trigger(
    cx: &Ctx,
    t: &Spanned<RawTrigger>,
    names: &HashMap<String, Range<usize>>,
) -> Result<TriggerSpec, ManifestError> {
    let raw = t.get_ref();
    let script = raw.script.get_ref().clone();
    if !names.contains_key(&script) {
        return Err(cx.at(
            &raw.script.span(),
            format!("triggers.script: no script named {script:?} in this manifest"),
        ));
    }
    // A key that the kind does not take.
    let refuse = |key: &str, span: Option<Range<usize>>, kind: &str| -> Result<(), ManifestError> {
        match span {
            Some(span) => Err(cx.at(
                &span,
                format!("triggers.{key}: not a key of a {kind:?} trigger"),
            )),
            None => Ok(()),
        }
    };
    match raw.kind.get_ref().as_str() {
        "kv" => {
            refuse("schedule", raw.schedule.as_ref().map(Spanned::span), "kv")?;
            let collection = raw.collection.as_ref().ok_or_else(|| {
                cx.at(
                    &t.span(),
                    "triggers: a kv trigger needs collection = \"...\"",
                )
            })?;
            picloud_shared::kv::check_collection(collection.get_ref())
                .map_err(|e| cx.at(&collection.span(), format!("triggers.collection: {e}")))?;
            let events = raw.events.as_ref().ok_or_else(|| {
                cx.at(
                    &t.span(),
                    "triggers: a kv trigger needs events = [\"set\", \"delete\"] (either or both)",
                )
            })?;
            if events.get_ref().is_empty() {
                return Err(cx.at(
                    &events.span(),
                    "triggers.events: empty; list \"set\", \"delete\" or both",
                ));
            }
            let mut list = events
                .get_ref()
                .iter()
                .map(|e| e.parse::<KvEvent>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| cx.at(&events.span(), format!("triggers.events: {e}")))?;
            list.sort();
            list.dedup();
            let max_attempts = match &raw.max_attempts {
                None => picloud_shared::events::DEFAULT_MAX_ATTEMPTS,
                Some(m) => {
                    let range = picloud_shared::events::MAX_ATTEMPTS_RANGE;
                    if !range.contains(m.get_ref()) {
                        return Err(cx.at(
                            &m.span(),
                            format!(
                                "triggers.max_attempts: {} to {}; got {}",
                                range.start(),
                                range.end(),
                                m.get_ref()
                            ),
                        ));
                    }
                    *m.get_ref()
                }
            };
            let dead_letter_script = match &raw.dead_letter_script {
                None => None,
                Some(d) => {
                    if !names.contains_key(d.get_ref()) {
                        return Err(cx.at(
                            &d.span(),
                            format!(
                                "triggers.dead_letter_script: no script named {:?} in this manifest",
                                d.get_ref()
                            ),
                        ));
                    }
                    Some(d.get_ref().clone())
                }
            };
            Ok(TriggerSpec::Kv {
                collection: collection.get_ref().clone(),
                events: list,
                script,
                max_attempts,
                dead_letter_script,
            })
        }
        "cron" => {
            refuse(
                "collection",
                raw.collection.as_ref().map(Spanned::span),
                "cron",
            )?;
            refuse("events", raw.events.as_ref().map(Spanned::span), "cron")?;
            refuse(
                "max_attempts",
                raw.max_attempts.as_ref().map(Spanned::span),
                "cron",
            )?;
            refuse(
                "dead_letter_script",
                raw.dead_letter_script.as_ref().map(Spanned::span),
                "cron",
            )?;
            let schedule = raw.schedule.as_ref().ok_or_else(|| {
                cx.at(
                    &t.span(),
                    "triggers: a cron trigger needs schedule = \"0 * * * *\"",
                )
            })?;
            picloud_shared::cron::parse(schedule.get_ref())
                .map_err(|e| cx.at(&schedule.span(), format!("triggers.schedule: {e}")))?;
            Ok(TriggerSpec::Cron {
                schedule: schedule.get_ref().clone(),
                script,
            })
        }
        other => Err(cx.at(
            &raw.kind.span(),
            format!("triggers.kind: {other:?}: a trigger is kind = \"kv\" or kind = \"cron\""),
        )),
    }
}
