//! Japanese public holidays, for muting tickets outside support hours.
//!
//! The list is generated from the maintained Python `holidays` package by
//! `scripts/update-holidays.py` and embedded here; it is data, never typed by hand.

use chrono::{Datelike, NaiveDate};

const CSV: &str = include_str!("holidays_jp.csv");

/// One public holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: &'static str,
}

/// Every holiday in the embedded list, in date order.
pub fn japan() -> Vec<Holiday> {
    CSV.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("date,") && !l.trim().is_empty())
        .map(|l| {
            let (d, name) = l.split_once(',').expect("holidays_jp.csv: date,name");
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("holidays_jp.csv: date");
            Holiday { date, name }
        })
        .collect()
}

/// First and last year the list covers.
pub fn years() -> (i32, i32) {
    let h = japan();
    (
        h.first().map(|h| h.date.year()).unwrap_or(0),
        h.last().map(|h| h.date.year()).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_covers_several_years() {
        let h = japan();
        assert!(h.windows(2).all(|w| w[0].date < w[1].date));
        let (first, last) = years();
        assert!(last - first >= 4, "{first}-{last}");
        // Every year has New Year's Day and Culture Day.
        for y in first..=last {
            for (m, d) in [(1, 1), (11, 3)] {
                let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
                assert!(h.iter().any(|x| x.date == day), "{day}");
            }
        }
        // A substitute holiday the package computes: 2025-02-24 (Emperor's Birthday on a Sunday).
        assert!(h
            .iter()
            .any(|x| x.date == NaiveDate::from_ymd_opt(2025, 2, 24).unwrap()));
    }
}
