//! Time as the page shows it: a moment in the SLO's time zone ([`Time`]) and
//! a duration in words ([`duration`]). A leaf that `snapshot`, `backups` and
//! `render` all use, so none of them needs another for its words.

use chrono_tz::Tz;
use serde::Serialize;

use crate::slo::month;

/// Unix seconds, serialized as local RFC 3339 in the zone it carries (the SLO's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub i64, pub Tz);

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&month::local(self.0, self.1))
    }
}

/// A duration in words, e.g. `1時間5分` / `1 h 5 min`.
pub fn duration(secs: i64, lang: &str) -> String {
    let secs = secs.max(0);
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let ja = lang == "ja";
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(if ja {
            format!("{d}日")
        } else {
            format!("{d} d")
        });
    }
    if h > 0 {
        parts.push(if ja {
            format!("{h}時間")
        } else {
            format!("{h} h")
        });
    }
    if m > 0 {
        parts.push(if ja {
            format!("{m}分")
        } else {
            format!("{m} min")
        });
    }
    if s > 0 && d == 0 && h == 0 {
        parts.push(if ja {
            format!("{s}秒")
        } else {
            format!("{s} s")
        });
    }
    if parts.is_empty() {
        return if ja { "0分".into() } else { "0 min".into() };
    }
    parts.join(if ja { "" } else { " " })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(duration(3900, "ja"), "1時間5分");
        assert_eq!(duration(3900, "en"), "1 h 5 min");
        assert_eq!(duration(90, "en"), "1 min 30 s");
        assert_eq!(duration(0, "ja"), "0分");
    }
}
