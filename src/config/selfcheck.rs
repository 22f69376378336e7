//! `self_check:`: endpoints outside the probed services that a prober checks to
//! know whether it can see anything at all. When every self-check target of
//! its location fails, the prober is *blind* (`mimamori_prober_healthy 0`) and
//! the rules treat that location's results as unknown.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::*;

/// The self-check settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SelfCheck {
    /// Deadline of one check of one target (default 5s).
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// How often the targets are checked (default 30s).
    #[serde(default = "default_interval")]
    pub interval: Dur,
    /// The endpoints that can be checked, by name.
    #[serde(default)]
    pub targets: Vec<SelfCheckTarget>,
    /// Per location, the names of the targets its probers check. A location
    /// not listed has no self-check and always counts as healthy.
    #[serde(default)]
    pub locations: BTreeMap<String, Vec<String>>,
}

impl Default for SelfCheck {
    fn default() -> Self {
        SelfCheck {
            timeout: default_timeout(),
            interval: default_interval(),
            targets: Vec::new(),
            locations: BTreeMap::new(),
        }
    }
}

fn default_timeout() -> Dur {
    Dur::secs(5)
}

fn default_interval() -> Dur {
    Dur::secs(30)
}

/// One endpoint: a TCP connection or an HTTP(S) request.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SelfCheckTarget {
    /// The `target` label value.
    pub name: LabelName,
    /// `host:port` that must accept a TCP connection.
    pub tcp: Option<String>,
    /// `http://` or `https://` URL whose answer must have an accepted status
    /// (HTTPS verified against the system roots and `global.ca_file`).
    pub url: Option<String>,
    /// Accepted statuses for `url` (default `200-399`).
    #[serde(default = "default_status")]
    pub status: Vec<StatusSpec>,
}

/// The URL with any password in it replaced by `****`.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn default_status() -> Vec<StatusSpec> {
    vec![StatusSpec { lo: 200, hi: 399 }]
}

impl SelfCheck {
    /// The targets checked at `location`, in the order listed there.
    pub fn targets_of(&self, location: &str) -> Vec<&SelfCheckTarget> {
        self.locations
            .get(location)
            .into_iter()
            .flatten()
            .filter_map(|n| self.targets.iter().find(|t| t.name.as_str() == n))
            .collect()
    }

    /// What `mimamori check` prints: each location's targets, or nothing
    /// without self-checks.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        if self.locations.is_empty() {
            return out;
        }
        let _ = writeln!(
            out,
            "self-checks (every {}, timeout {}; a location is blind when all of its targets fail):",
            self.interval, self.timeout
        );
        for loc in self.locations.keys() {
            let targets: Vec<String> = self
                .targets_of(loc)
                .iter()
                .map(|t| match (&t.tcp, &t.url) {
                    (Some(a), _) => format!("{} (tcp {a})", t.name),
                    (None, Some(u)) => format!("{} ({})", t.name, without_password(u)),
                    (None, None) => t.name.to_string(),
                })
                .collect();
            let _ = writeln!(out, "  {loc}: {}", targets.join(", "));
        }
        out
    }

    /// Cross-field rules: one of `tcp` and `url` per target, unique names,
    /// known target names per location, timeout within the interval.
    pub(super) fn validate(&self, src: &Source, errs: &mut Vec<ConfigError>) {
        let root = Path::root().key("self_check");
        if self.timeout.0.is_zero() || self.timeout > self.interval {
            errs.push(src.error(
                &root.key("timeout"),
                format!(
                    "must be greater than 0s and at most the interval ({})",
                    self.interval
                ),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let tp = root.key("targets").index(i);
            if !names.insert(t.name.as_str()) {
                errs.push(src.error(
                    &tp.key("name"),
                    format!("duplicate self-check target '{}'", t.name),
                ));
            }
            match (&t.tcp, &t.url) {
                (Some(addr), None) => {
                    let ok = addr.rsplit_once(':').is_some_and(|(h, p)| {
                        !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0)
                    });
                    if !ok {
                        errs.push(src.error(
                            &tp.key("tcp"),
                            format!("'{addr}' is not host:port (e.g. 192.0.2.1:53)"),
                        ));
                    }
                }
                (None, Some(url)) => match url::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                    _ => errs.push(src.error(
                        &tp.key("url"),
                        format!(
                            "'{}' is not an http:// or https:// URL",
                            without_password(url)
                        ),
                    )),
                },
                _ => errs.push(src.error(&tp.key("name"), "set exactly one of 'tcp' and 'url'")),
            }
        }
        for (loc, list) in &self.locations {
            let lp = root.key("locations").key(loc);
            if list.is_empty() {
                errs.push(src.error(&lp, "name at least one target"));
            }
            for (i, n) in list.iter().enumerate() {
                if !names.contains(n.as_str()) {
                    errs.push(src.error(&lp.index(i), format!("unknown self-check target '{n}'")));
                }
            }
        }
    }
}
