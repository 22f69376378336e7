//! Which transactions one prober of a sharded location runs.
//!
//! `--shard INDEX/COUNT` (or `global.shard`) splits a location's transactions
//! between COUNT probers. A transaction belongs to shard
//! `h mod COUNT`, where `h` is the first 8 bytes, big-endian, of the SHA-256 of
//! `service`, a zero byte and `transaction`. The hash is SHA-256 rather than the
//! scheduler's `DefaultHasher` because Rust does not promise that the latter
//! stays the same between releases: the assignment must not move when mimamori
//! is rebuilt, restarted or reloaded, or two shards would run (or none would
//! run) a transaction while a fleet is being upgraded. It depends only on the two
//! names, so adding or removing other transactions never moves one.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// Shard `index` of `count` (0-based); `0/1` runs everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// The largest shard count accepted; far beyond any sensible deployment.
pub const MAX_SHARDS: u32 = 1024;

impl Shard {
    /// The whole set: one prober runs every transaction.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "shard count must be between 1 and {MAX_SHARDS}, not {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range for {count} shards (indexes are 0-based: 0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The shard (of `count`) a transaction belongs to; see the module comment.
    pub fn of(service: &str, transaction: &str, count: u32) -> u32 {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(service.as_bytes());
        ctx.update(&[0]);
        ctx.update(transaction.as_bytes());
        let digest = ctx.finish();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_ref()[..8]);
        (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
    }

    /// Whether this shard runs the transaction.
    pub fn runs(&self, service: &str, transaction: &str) -> bool {
        self.count == 1 || Shard::of(service, transaction, self.count) == self.index
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::ALL
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `INDEX/COUNT`, e.g. `0/3`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad =
            || format!("invalid shard '{s}': expected INDEX/COUNT with a 0-based index, e.g. 0/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(i) || !digits(n) {
            return Err(bad());
        }
        let (i, n) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        Shard::new(i, n)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!("0/3".parse::<Shard>().unwrap(), Shard::new(0, 3).unwrap());
        assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
        assert_eq!("0/1".parse::<Shard>().unwrap(), Shard::ALL);
        for (s, msg) in [
            ("3/3", "shard index 3 is out of range for 3 shards (indexes are 0-based: 0 to 2)"),
            ("0/0", "shard count must be between 1 and 1024, not 0"),
            ("0/2000", "shard count must be between 1 and 1024, not 2000"),
            ("1", "invalid shard '1': expected INDEX/COUNT with a 0-based index, e.g. 0/3"),
            ("-1/3", "invalid shard '-1/3': expected INDEX/COUNT with a 0-based index, e.g. 0/3"),
            ("+1/3", "invalid shard '+1/3': expected INDEX/COUNT with a 0-based index, e.g. 0/3"),
            (" 1/3", "invalid shard ' 1/3': expected INDEX/COUNT with a 0-based index, e.g. 0/3"),
            ("1/3/4", "invalid shard '1/3/4': expected INDEX/COUNT with a 0-based index, e.g. 0/3"),
            ("99999999999/3", "invalid shard '99999999999/3': expected INDEX/COUNT with a 0-based index, e.g. 0/3"),
        ] {
            assert_eq!(s.parse::<Shard>().unwrap_err(), msg, "{s}");
        }
    }

    /// The assignment is part of the deployment contract: these values must
    /// never change (a change would move transactions between running shards).
    #[test]
    fn assignment_is_stable() {
        let got: Vec<u32> = [
            ("hanbai", "order-lookup"),
            ("hanbai", "login"),
            ("denshibin", "inbox"),
            ("denshibin", "send"),
            ("a", "b"),
        ]
        .iter()
        .map(|(s, t)| Shard::of(s, t, 7))
        .collect();
        assert_eq!(got, PINNED);
        // The separator matters: ("ab", "c") and ("a", "bc") are different transactions.
        let h = |s: &str, t: &str| Shard::of(s, t, 1 << 30);
        assert_ne!(h("ab", "c"), h("a", "bc"));
    }

    /// Computed independently: `int.from_bytes(hashlib.sha256(b"hanbai\0order-lookup").digest()[:8], "big") % 7` in Python.
    const PINNED: [u32; 5] = [6, 6, 4, 3, 6];

    #[test]
    fn every_transaction_in_exactly_one_shard_and_evenly() {
        let names: Vec<(String, String)> = (0..3000)
            .map(|i| (format!("svc-{}", i % 7), format!("tx-{i}")))
            .collect();
        for count in [1u32, 2, 3, 5, 16] {
            let shards: Vec<Shard> = (0..count).map(|i| Shard::new(i, count).unwrap()).collect();
            let mut sizes = vec![0usize; count as usize];
            for (s, t) in &names {
                let owners: Vec<u32> = shards
                    .iter()
                    .filter(|sh| sh.runs(s, t))
                    .map(|sh| sh.index())
                    .collect();
                assert_eq!(owners.len(), 1, "{s}/{t} in {owners:?} of {count}");
                sizes[owners[0] as usize] += 1;
            }
            let even = names.len() as f64 / f64::from(count);
            for (i, n) in sizes.iter().enumerate() {
                // Binomial spread: for 16 shards of 3000 names (mean 187.5) the
                // standard deviation is about 7 % of the mean; allow 25 %.
                let off = (*n as f64 - even).abs() / even;
                assert!(
                    off < 0.25,
                    "shard {i}/{count} has {n}, expected about {even}"
                );
            }
        }
    }
}
