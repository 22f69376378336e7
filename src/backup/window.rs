//! Calendar arithmetic of the retention objective, in Asia/Tokyo: which dates
//! must have a backup, and how old the oldest backup must be.

use std::collections::BTreeSet;

use chrono::{DateTime, Months, NaiveDate, TimeZone, Utc};

/// The objective's time zone.
pub const TZ: chrono_tz::Tz = chrono_tz::Asia::Tokyo;

/// Dates looked back over for "no day missing": about six months.
pub const WINDOW_DATES: u32 = 183;

/// What a listing says about the objective at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub newest: Option<DateTime<Utc>>,
    pub oldest: Option<DateTime<Utc>>,
    /// Dates of the window with at least one backup.
    pub dates_covered: u32,
    /// Dates of the window that must have one (those on or after `since`).
    pub dates_expected: u32,
    /// The oldest backup must be at least this old.
    pub retention_required: DateTime<Utc>,
}

fn start_of(date: NaiveDate) -> DateTime<Utc> {
    TZ.from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .expect("Asia/Tokyo has no gaps")
        .with_timezone(&Utc)
}

/// The start (Asia/Tokyo) of the date six calendar months before today, or of
/// `since` if the service started backing up later.
pub fn retention_required(now: DateTime<Utc>, since: Option<NaiveDate>) -> DateTime<Utc> {
    let today = now.with_timezone(&TZ).date_naive();
    let six = today
        .checked_sub_months(Months::new(6))
        .expect("in chrono's range");
    start_of(since.map_or(six, |s| s.max(six)))
}

/// The window is the [`WINDOW_DATES`] dates before today (today's backup may
/// not have run yet: freshness covers it).
pub fn coverage(times: &[DateTime<Utc>], now: DateTime<Utc>, since: Option<NaiveDate>) -> Coverage {
    let today = now.with_timezone(&TZ).date_naive();
    let first = today - chrono::Days::new(WINDOW_DATES as u64);
    let first = since.map_or(first, |s| s.max(first));
    let dates: BTreeSet<NaiveDate> = times
        .iter()
        .map(|t| t.with_timezone(&TZ).date_naive())
        .filter(|d| *d >= first && *d < today)
        .collect();
    let expected = if first < today {
        (today - first).num_days() as u32
    } else {
        0
    };
    Coverage {
        newest: times.iter().max().copied(),
        oldest: times.iter().min().copied(),
        dates_covered: dates.len() as u32,
        dates_expected: expected,
        retention_required: retention_required(now, since),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn six_calendar_months_in_tokyo() {
        // 2026-12-03 01:00 in Tokyo is still 2 December in UTC.
        let now = at("2026-12-02T16:00:00Z");
        assert_eq!(
            retention_required(now, None).to_rfc3339(),
            "2026-06-02T15:00:00+00:00"
        );
        let since = NaiveDate::from_ymd_opt(2026, 9, 1);
        assert_eq!(
            retention_required(now, since).to_rfc3339(),
            "2026-08-31T15:00:00+00:00"
        );
        // 31 August minus six months is the end of February.
        let now = at("2026-08-31T03:00:00Z");
        assert_eq!(
            retention_required(now, None).to_rfc3339(),
            "2026-02-27T15:00:00+00:00"
        );
    }

    #[test]
    fn a_gap_day_is_counted() {
        let now = at("2026-12-03T03:00:00Z"); // 12:00 in Tokyo
        let mut times: Vec<_> = (1..=WINDOW_DATES as i64)
            .filter(|d| *d != 10)
            .map(|d| now - chrono::Duration::days(d))
            .collect();
        times.push(now); // today's: outside the window
        let c = coverage(&times, now, None);
        assert_eq!(c.dates_expected, WINDOW_DATES);
        assert_eq!(c.dates_covered, WINDOW_DATES - 1);
        assert_eq!(c.newest, Some(now));
        let since = NaiveDate::from_ymd_opt(2026, 11, 30);
        let c = coverage(&times, now, since);
        assert_eq!((c.dates_covered, c.dates_expected), (3, 3));
    }
}
