//! Cron schedules as PiCloud reads them: 5 fields (minute hour
//! day-of-month month day-of-week), or 6 with seconds first; in UTC. The
//! one parser for the manager's scheduler and the CLI's manifest check
//! (behind the `cron` feature).

pub use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Parses a schedule; the error says why it is not one, for a person.
pub fn parse(schedule: &str) -> Result<Cron, String> {
    let fields = schedule.split_whitespace().count();
    if fields != 5 && fields != 6 {
        return Err(format!(
            "a schedule has 5 fields (minute hour day-of-month month day-of-week), or 6 with \
             seconds first; {schedule:?} has {fields}"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(schedule)
        .map_err(|e| format!("{schedule:?} is not a valid schedule: {e}"))
}
