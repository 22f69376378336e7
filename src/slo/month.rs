//! Calendar months in the SLO's time zone, as spans of unix seconds.
//!
//! The SLO counts per calendar month where the customer is: November 2026 in
//! Tokyo is 2026-11-01T00:00+09:00 up to 2026-12-01T00:00+09:00, not UTC days.
//! Pure functions, so `status` can reuse them.

use std::fmt;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// A calendar month, e.g. `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Month {
    /// Parses exactly `YYYY-MM`.
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || "expected YYYY-MM, e.g. 2026-11".to_string();
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let month: u32 = s[5..].parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || year < 1970 {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month `t` falls in, in `tz`.
    pub fn containing(t: i64, tz: Tz) -> Month {
        let local = Utc.timestamp_opt(t, 0).unwrap().with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    /// First instant of the month in `tz`, as unix seconds.
    pub fn start(self, tz: Tz) -> i64 {
        let day = NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month");
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
        match tz.from_local_datetime(&midnight) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp(),
            // Midnight skipped by a DST change: the month starts at the first instant after it.
            LocalResult::None => tz
                .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
                .map(|t| t.timestamp())
                .unwrap_or_else(|| midnight.and_utc().timestamp()),
        }
    }
}

/// The span a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub month: Month,
    pub tz: Tz,
    /// First second of the month (unix seconds).
    pub start: i64,
    /// First second of the next month.
    pub end: i64,
    /// End of what is reported: `end`, or for the month in progress the last
    /// whole step before now.
    pub until: i64,
}

impl Period {
    /// The month, with `now` deciding whether it is complete. `step` is the
    /// resolution: a month in progress is reported up to the last whole step.
    pub fn new(month: Month, tz: Tz, now: i64, step: u64) -> Result<Period, String> {
        let start = month.start(tz);
        let end = month.next().start(tz);
        if now <= start {
            return Err(format!("--month {month} has not started yet in {tz}"));
        }
        let until = if now >= end {
            end
        } else {
            let step = step.max(1) as i64;
            start + (now - start) / step * step
        };
        Ok(Period {
            month,
            tz,
            start,
            end,
            until,
        })
    }

    /// The month is still in progress: the figures are month to date.
    pub fn to_date(&self) -> bool {
        self.until < self.end
    }

    pub fn month_seconds(&self) -> i64 {
        self.end - self.start
    }

    /// Local time, RFC 3339 with offset, e.g. `2026-11-01T00:00:00+09:00`.
    pub fn local(&self, t: i64) -> String {
        local(t, self.tz)
    }
}

/// Unix seconds as local RFC 3339 with offset.
pub fn local(t: i64, tz: Tz) -> String {
    let dt: DateTime<Tz> = Utc.timestamp_opt(t, 0).unwrap().with_timezone(&tz);
    dt.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The last month that has ended at `now`, in `tz`.
pub fn last_complete(now: i64, tz: Tz) -> Month {
    Month::containing(now, tz).prev()
}

/// Parses an IANA zone name.
pub fn zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone '{name}' (expected an IANA name, e.g. Asia/Tokyo)"))
}

/// First second of `date` in `tz`.
pub fn day_start(date: NaiveDate, tz: Tz) -> i64 {
    let m = date.and_hms_opt(0, 0, 0).expect("midnight");
    tz.from_local_datetime(&m)
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| m.and_utc().timestamp())
}

pub fn local_date(t: i64, tz: Tz) -> NaiveDate {
    Utc.timestamp_opt(t, 0)
        .unwrap()
        .with_timezone(&tz)
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            Month::parse("2026-11"),
            Ok(Month {
                year: 2026,
                month: 11
            })
        );
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026/11",
            "2026-11-01",
            "",
            "2026-00",
            "abcd-ef",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokyo_months_are_not_utc_months() {
        let tz = zone("Asia/Tokyo").unwrap();
        let nov = Month::parse("2026-11").unwrap();
        assert_eq!(nov.start(tz), utc("2026-10-31T15:00:00Z"));
        assert_eq!(nov.next().start(tz), utc("2026-11-30T15:00:00Z"));
        // UTC Oct 31 15:30 is November in Tokyo.
        assert_eq!(Month::containing(utc("2026-10-31T15:30:00Z"), tz), nov);
        let p = Period::new(nov, tz, utc("2026-12-02T00:00:00Z"), 60).unwrap();
        assert_eq!(p.month_seconds(), 30 * 86400);
        assert!(!p.to_date());
        assert_eq!(p.local(p.start), "2026-11-01T00:00:00+09:00");
        assert_eq!(last_complete(utc("2026-12-02T04:00:00Z"), tz), nov);
        // 2026-12-01 08:59 JST is still... December 1st: November is complete.
        assert_eq!(last_complete(utc("2026-11-30T15:00:00Z"), tz), nov);
        assert_eq!(last_complete(utc("2026-11-30T14:59:59Z"), tz).month, 10);
    }

    #[test]
    fn month_in_progress_ends_at_the_last_whole_step() {
        let tz = zone("Asia/Tokyo").unwrap();
        let dec = Month::parse("2026-12").unwrap();
        let now = utc("2026-12-02T04:44:39Z");
        let p = Period::new(dec, tz, now, 15).unwrap();
        assert!(p.to_date());
        assert_eq!(p.until, utc("2026-12-02T04:44:30Z"));
        assert!(Period::new(dec.next(), tz, now, 15).is_err());
    }

    #[test]
    fn dst_months_have_their_real_length() {
        let tz = zone("Europe/Berlin").unwrap();
        let mar = Month::parse("2026-03").unwrap();
        assert_eq!(mar.next().start(tz) - mar.start(tz), 31 * 86400 - 3600);
    }
}
