//! How often Prometheus really holds a result, so a step is judged by the data, not by an assumption.
//!
//! A step of the month is judged by the newest result of each location that is
//! *fresh*: younger than 1.5 × the spacing of the results. The probers run every
//! probe interval, but Prometheus keeps only what it scrapes: scraped every 60 s
//! (its default), a result stands for 60 s. Judging such data with a 15 s
//! assumption made three quarters of every minute unknown and cut one outage
//! into thirty. So the spacing is measured from the samples themselves, per
//! location, per hour, and a step's freshness is 1.5 × max(probe interval,
//! measured spacing): the same failure seconds whatever the scrape interval
//! (± one scrape interval at each edge of an incident), as the recording rules
//! count them.
//!
//! The measurement: the number of samples of the fullest series of each
//! location in 10-minute windows (`count_over_time`, asked at a 10-minute
//! resolution). An hour's spacing is that of its densest window (a missed
//! scrape or a gap in a window does not make the spacing look longer), widened
//! to the hours on either side (so the hour in which the spacing changed, say
//! from 15 s to 60 s, is judged with the longer one), and the largest over the
//! locations (every location is judged with one freshness at a step; a
//! location scraped more often than another only keeps its last result a little
//! longer, never an old one: its next sample replaces it).

use std::collections::BTreeMap;

/// Length of a counting window, in seconds.
pub const WINDOW_SECONDS: i64 = 600;
/// Length of a block with one freshness, in seconds.
pub const BLOCK_SECONDS: i64 = 3600;
/// A result stands for up to this many spacings: one and a half.
const FRESH_FACTOR_PER_MILLE: u64 = 1500;

/// A run of steps judged with one freshness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Index of the run's first step.
    pub first: usize,
    /// Number of steps.
    pub len: usize,
    /// The spacing results stand for, in seconds: max(probe interval, scrape spacing).
    pub spacing: u64,
}

impl Run {
    /// How old a result may be and still judge a step, in milliseconds.
    pub fn freshness_ms(&self) -> u64 {
        self.spacing * FRESH_FACTOR_PER_MILLE
    }
}

/// Splits `n` steps of `step` seconds from `start` into runs of equal spacing.
///
/// `counts` holds, per location, `(t, samples)`: the samples of its fullest
/// series in the [`WINDOW_SECONDS`] before `t`. `round` is the probe interval
/// in seconds. Without any count the spacing is the probe interval.
pub fn runs(
    counts: &BTreeMap<String, Vec<(i64, f64)>>,
    start: i64,
    n: usize,
    step: u64,
    round: u64,
) -> Vec<Run> {
    if n == 0 {
        return Vec::new();
    }
    let st = step.max(1) as i64;
    let block_steps = ((BLOCK_SECONDS / st).max(1)) as usize;
    let blocks = n.div_ceil(block_steps);
    let block_of = |t: i64| -> Option<usize> {
        // A window ending at t belongs to the block holding (t − 1).
        let k = (t - 1 - start).div_euclid(st);
        (k >= 0 && (k as usize) < n).then(|| k as usize / block_steps)
    };
    // Per location, per block: the densest window's spacing.
    let mut overall: Vec<Option<f64>> = vec![None; blocks];
    for points in counts.values() {
        let mut own: Vec<Option<f64>> = vec![None; blocks];
        for &(t, c) in points {
            if c.is_nan() || c < 2.0 {
                continue;
            }
            if let Some(b) = block_of(t) {
                let s = WINDOW_SECONDS as f64 / c;
                own[b] = Some(own[b].map_or(s, |o: f64| o.min(s)));
            }
        }
        for (b, slot) in overall.iter_mut().enumerate() {
            let lo = b.saturating_sub(1);
            let hi = (b + 1).min(blocks - 1);
            let widened = own[lo..=hi]
                .iter()
                .flatten()
                .copied()
                .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
            if let Some(s) = widened {
                *slot = Some(slot.map_or(s, |o: f64| o.max(s)));
            }
        }
    }
    let mut out: Vec<Run> = Vec::new();
    for (b, s) in overall.iter().enumerate() {
        // Whole seconds, rounded up; never shorter than the probe interval.
        let spacing = s
            .map_or(round, |s| (s - 1e-9).ceil().max(1.0) as u64)
            .max(round);
        let first = b * block_steps;
        let len = block_steps.min(n - first);
        match out.last_mut() {
            Some(r) if r.spacing == spacing => r.len += len,
            _ => out.push(Run {
                first,
                len,
                spacing,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts for one location: windows every 10 minutes over `[0, hours)` with
    /// a sample every `spacing(t)` seconds.
    fn counts(
        hours: i64,
        spacing: impl Fn(i64) -> Option<i64>,
    ) -> BTreeMap<String, Vec<(i64, f64)>> {
        let mut v = Vec::new();
        let mut t = WINDOW_SECONDS;
        while t <= hours * 3600 + 3600 {
            let c = spacing(t - 1).map_or(0.0, |s| (WINDOW_SECONDS / s) as f64);
            v.push((t, c));
            t += WINDOW_SECONDS;
        }
        [("tokyo".to_string(), v)].into()
    }

    #[test]
    fn the_scrape_interval_sets_the_spacing_when_longer_than_the_probe_interval() {
        for (scrape, want) in [(5, 15), (15, 15), (30, 30), (60, 60), (120, 120)] {
            let r = runs(&counts(24, |_| Some(scrape)), 0, 5760, 15, 15);
            assert_eq!(
                r,
                [Run {
                    first: 0,
                    len: 5760,
                    spacing: want
                }],
                "{scrape}"
            );
        }
        assert_eq!(
            runs(&counts(24, |_| Some(60)), 0, 5760, 15, 15)[0].freshness_ms(),
            90_000
        );
    }

    #[test]
    fn a_change_of_spacing_is_judged_with_the_longer_one_around_it() {
        // 15 s until 10:30, 60 s after: the hour of the change takes 60 s.
        let c = counts(24, |t| Some(if t < 10 * 3600 + 1800 { 15 } else { 60 }));
        let r = runs(&c, 0, 5760, 15, 15);
        assert_eq!(
            r,
            [
                Run {
                    first: 0,
                    len: 10 * 240,
                    spacing: 15
                },
                Run {
                    first: 10 * 240,
                    len: 14 * 240,
                    spacing: 60
                },
            ]
        );
    }

    #[test]
    fn gaps_and_missed_scrapes_do_not_stretch_the_spacing() {
        // Two hours without data and a window with one missed scrape.
        let c = counts(24, |t| {
            if (5 * 3600..7 * 3600).contains(&t) {
                None
            } else if (12 * 3600..12 * 3600 + 600).contains(&t) {
                Some(16)
            } else {
                Some(15)
            }
        });
        assert_eq!(
            runs(&c, 0, 5760, 15, 15),
            [Run {
                first: 0,
                len: 5760,
                spacing: 15
            }]
        );
        // No data at all: the probe interval.
        assert_eq!(
            runs(&BTreeMap::new(), 0, 10, 15, 15),
            [Run {
                first: 0,
                len: 10,
                spacing: 15
            }]
        );
    }

    #[test]
    fn locations_with_different_spacings_take_the_longest() {
        let mut c = counts(3, |_| Some(15));
        c.extend(
            counts(3, |_| Some(30))
                .into_values()
                .map(|v| ("osaka".to_string(), v)),
        );
        assert_eq!(
            runs(&c, 0, 720, 15, 15),
            [Run {
                first: 0,
                len: 720,
                spacing: 30
            }]
        );
    }
}
