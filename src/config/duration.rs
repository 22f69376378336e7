//! Durations written the way Prometheus users write them: `500ms`, `15s`, `1m30s`, `2h`.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }
    pub fn as_secs_f64(&self) -> f64 {
        self.0.as_secs_f64()
    }
}

pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("duration '{t}' needs a unit (e.g. '{t}s')"));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("invalid duration '{t}': {e} (use e.g. 500ms, 15s, 1m30s)"))
}

/// Formats like Prometheus does (`1m30s`, `500ms`, `2h`).
pub fn fmt_prom(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let mut s = (ms / 1000) as u64;
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_prom(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map(Dur).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse("30").unwrap_err().contains("needs a unit"));
        assert!(parse("3 parsecs").is_err());
        assert_eq!(fmt_prom(Duration::from_secs(90)), "1m30s");
        assert_eq!(fmt_prom(Duration::from_secs(3 * 86400 + 3600)), "3d1h");
        assert_eq!(fmt_prom(Duration::from_millis(2500)), "2500ms");
    }
}
