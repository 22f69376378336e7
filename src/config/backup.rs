//! `backups:`: where each service's backups are kept and what they are held to
//! (seed §6: daily, kept 6 months off-site, readable by administrators only).
//! The checks themselves are in `crate::backup`.

use std::path::PathBuf;

use serde::Deserialize;

use super::*;

/// One backup location of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// The service the backup belongs to (a name under `services`).
    pub service: LabelName,
    /// The `backup` label: lowercase letters, digits, `_` and `-`; unique per service.
    pub name: LabelName,
    /// Names shown to people.
    pub display_name: DisplayName,
    /// An S3-compatible bucket and prefix (set this or `directory`).
    #[serde(default)]
    pub s3: Option<S3Location>,
    /// A directory, e.g. a mounted off-site volume (set this or `s3`).
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// How often the location is listed (default 15m).
    #[serde(default = "default_backup_interval")]
    pub interval: Dur,
    /// Deadline for one check (default 60s).
    #[serde(default = "default_backup_timeout")]
    pub timeout: Dur,
    /// Regex with named groups `year`, `month` and `day` reading a backup's date
    /// (Asia/Tokyo) from its key or file name; without it the object's
    /// last-modified time counts. Keys that do not match are not backups.
    #[serde(default)]
    pub name_pattern: Option<Pattern>,
    /// The date the service started backing up (`YYYY-MM-DD`): before it is 6
    /// months old, retention is held from this date.
    #[serde(default, deserialize_with = "de_date_opt")]
    pub since: Option<chrono::NaiveDate>,
    /// What the backups are held to.
    #[serde(default)]
    pub expect: BackupExpect,
}

/// An S3-compatible location. Credentials are usually `${secret:NAME}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Location {
    /// Endpoint URL, e.g. `https://s3.ap-northeast-1.amazonaws.com`; path-style requests are used.
    pub endpoint: String,
    /// Region used for signing (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// Key prefix the backups are under (empty: the whole bucket).
    #[serde(default)]
    pub prefix: String,
    /// Access key id (`${secret:NAME}` or `${env:NAME}`).
    pub access_key_id: Template,
    /// Secret access key (`${secret:NAME}` or `${env:NAME}`).
    pub secret_access_key: Template,
    /// PEM file of extra CA certificates for an HTTPS endpoint with a
    /// private CA (e.g. an on-premises S3-compatible store); trusted beside
    /// the system roots and `global.ca_file`.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

/// Objectives of a backup.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupExpect {
    /// The newest backup must be younger than this (default 26h: daily, with slack).
    pub max_age: Dur,
}

impl Default for BackupExpect {
    fn default() -> Self {
        BackupExpect {
            max_age: Dur::secs(26 * 3600),
        }
    }
}

fn default_backup_interval() -> Dur {
    Dur::secs(15 * 60)
}

fn default_backup_timeout() -> Dur {
    Dur::secs(60)
}

fn default_region() -> String {
    "us-east-1".into()
}

fn de_date_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<chrono::NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("'{s}' is not a date YYYY-MM-DD: {e}"))),
    }
}

impl Config {
    /// Cross-field rules of `backups:`.
    pub(super) fn validate_backups(&self, errs: &mut Vec<ConfigError>) {
        let src = self.source.clone();
        let mut seen = std::collections::HashSet::new();
        for (i, b) in self.backups.iter().enumerate() {
            let p = Path::root().key("backups").index(i);
            if !self.services.iter().any(|s| s.name == b.service) {
                errs.push(src.error(
                    &p.key("service"),
                    format!("unknown service '{}'", b.service),
                ));
            }
            if !seen.insert((b.service.as_str(), b.name.as_str())) {
                errs.push(src.error(
                    &p.key("name"),
                    format!(
                        "duplicate backup name '{}' in service '{}'",
                        b.name, b.service
                    ),
                ));
            }
            match (&b.s3, &b.directory) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => errs.push(src.error(&p, "set exactly one of 's3' and 'directory'")),
            }
            if b.interval.0.is_zero() {
                errs.push(src.error(&p.key("interval"), "must be greater than 0s"));
            }
            if b.timeout.0.is_zero() || b.timeout > b.interval {
                errs.push(src.error(
                    &p.key("timeout"),
                    format!(
                        "timeout {} must be greater than 0s and at most the interval {}",
                        b.timeout, b.interval
                    ),
                ));
            }
            if b.expect.max_age.0.is_zero() {
                errs.push(src.error(&p.key("expect").key("max_age"), "must be greater than 0s"));
            }
            if let Some(re) = &b.name_pattern {
                let names: Vec<_> = re.capture_names().flatten().collect();
                for g in ["year", "month", "day"] {
                    if !names.contains(&g) {
                        errs.push(src.error(
                            &p.key("name_pattern"),
                            format!("needs the named group (?P<{g}>...)"),
                        ));
                    }
                }
            }
            if let Some(s3) = &b.s3 {
                let sp = p.key("s3");
                if url::Url::parse(&s3.endpoint)
                    .map(|u| !matches!(u.scheme(), "http" | "https"))
                    .unwrap_or(true)
                {
                    errs.push(src.error(&sp.key("endpoint"), "must be an http:// or https:// URL"));
                }
                if s3.bucket.is_empty() {
                    errs.push(src.error(&sp.key("bucket"), "must not be empty"));
                }
                for (field, t) in [
                    ("access_key_id", &s3.access_key_id),
                    ("secret_access_key", &s3.secret_access_key),
                ] {
                    for part in &t.parts {
                        match part {
                            Part::Secret(n) if !self.secrets.contains_key(n) => {
                                errs.push(src.error(
                                    &sp.key(field),
                                    format!("unknown secret '{n}'"),
                                ))
                            }
                            Part::Var(v) => errs.push(src.error(
                                &sp.key(field),
                                format!("'${{{v}}}': only ${{secret:...}} and ${{env:...}} are allowed here"),
                            )),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
