//! Listing a backup location: the backup times found and whether an
//! anonymous client was refused. Nothing is downloaded.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures_util::StreamExt;

use super::{BackupPlan, Place, TZ};

/// Why a check failed; the closed set of `reason` label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The location refused the configured credentials (401/403).
    Credentials,
    /// The endpoint could not be reached (connect, DNS, TLS).
    Unreachable,
    /// The bucket or directory does not exist.
    NotFound,
    /// The check did not finish within its timeout.
    Timeout,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::Credentials,
        Reason::Unreachable,
        Reason::NotFound,
        Reason::Timeout,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Credentials => "credentials",
            Reason::Unreachable => "unreachable",
            Reason::NotFound => "not_found",
            Reason::Timeout => "timeout",
            Reason::Other => "other",
        }
    }
}

/// A failed check: its reason and a message for the log (no secret values:
/// object_store's messages carry URLs and status codes, not credentials).
#[derive(Debug)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
}

/// What one listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// The time of each backup found, in no order.
    pub times: Vec<DateTime<Utc>>,
    /// Whether unsigned requests were refused; `None` where the question does
    /// not apply (a directory) or could not be answered.
    pub anonymous_refused: Option<bool>,
}

/// Lists the plan's location.
pub async fn check(plan: &BackupPlan) -> Result<Listing, Failure> {
    match &plan.place {
        Place::S3 {
            signed,
            anonymous,
            prefix,
        } => {
            let mut times = Vec::new();
            let mut first_key = None;
            let mut list = signed.list(prefix.as_ref());
            while let Some(item) = list.next().await {
                let meta = item.map_err(|e| {
                    let f = s3_failure(e);
                    Failure {
                        message: plan.mask(&f.message),
                        ..f
                    }
                })?;
                if first_key.is_none() {
                    first_key = Some(meta.location.clone());
                }
                let key = meta.location.as_ref();
                let rel = match prefix {
                    Some(p) => key
                        .strip_prefix(p.as_ref())
                        .map(|r| r.trim_start_matches('/'))
                        .unwrap_or(key),
                    None => key,
                };
                if let Some(t) = backup_time(plan, rel, meta.last_modified) {
                    times.push(t);
                }
            }
            let anonymous_refused = anonymous_refused(anonymous.as_ref(), prefix, first_key).await;
            Ok(Listing {
                times,
                anonymous_refused,
            })
        }
        Place::Directory(dir) => {
            let dir = dir.clone();
            let pattern = plan.name_pattern.clone();
            tokio::task::spawn_blocking(move || list_dir(&dir, pattern.as_ref()))
                .await
                .map_err(|e| Failure {
                    reason: Reason::Other,
                    message: e.to_string(),
                })?
        }
    }
}

/// Unsigned list of the prefix, and an unsigned HEAD of one key (metadata
/// only): both must be refused (401/403). Another failure (the endpoint went
/// away between the two checks) answers nothing.
async fn anonymous_refused(
    store: &dyn object_store::ObjectStore,
    prefix: &Option<object_store::path::Path>,
    key: Option<object_store::path::Path>,
) -> Option<bool> {
    let listed = match store.list(prefix.as_ref()).next().await {
        None | Some(Ok(_)) => return Some(false),
        Some(Err(e)) => e,
    };
    if s3_failure(listed).reason != Reason::Credentials {
        return None;
    }
    let Some(key) = key else {
        return Some(true);
    };
    match store.head(&key).await {
        Ok(_) => Some(false),
        Err(e) => match s3_failure(e).reason {
            Reason::Credentials | Reason::NotFound => Some(true),
            _ => None,
        },
    }
}

/// The object_store error as a [`Failure`]. Status codes other than 401, 403
/// and 404 are only in the message text.
fn s3_failure(e: object_store::Error) -> Failure {
    use object_store::Error as E;
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    let reason = match &e {
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Reason::Credentials,
        E::NotFound { .. } => Reason::NotFound,
        _ => classify(&message),
    };
    Failure { reason, message }
}

/// Whether `code` stands in `m` as a status code, not as part of a port,
/// address or timing (`127.0.0.1:35403`, `in 1.529401ms` hold no 403 or 401).
fn has_status(m: &str, code: &str) -> bool {
    m.match_indices(code).any(|(i, _)| {
        let before = m[..i].chars().next_back();
        let after = m[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == ':')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
    })
}

fn classify(message: &str) -> Reason {
    let m = message.to_ascii_lowercase();
    if has_status(&m, "403")
        || has_status(&m, "401")
        || [
            "forbidden",
            "accessdenied",
            "invalidaccesskeyid",
            "signaturedoesnotmatch",
        ]
        .iter()
        .any(|k| m.contains(k))
    {
        Reason::Credentials
    } else if has_status(&m, "404") || ["nosuchbucket", "not found"].iter().any(|k| m.contains(k)) {
        Reason::NotFound
    } else if m.contains("timed out") || m.contains("timeout") {
        Reason::Timeout
    } else if [
        "connect",
        "dns",
        "refused",
        "error sending request",
        "unreachable",
    ]
    .iter()
    .any(|k| m.contains(k))
    {
        Reason::Unreachable
    } else {
        Reason::Other
    }
}

/// Every file under `dir` (recursively, symlinks not followed).
fn list_dir(dir: &std::path::Path, pattern: Option<&regex::Regex>) -> Result<Listing, Failure> {
    let io = |e: std::io::Error, path: &std::path::Path| Failure {
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => Reason::NotFound,
            std::io::ErrorKind::PermissionDenied => Reason::Credentials,
            _ => Reason::Other,
        },
        message: format!("{}: {e}", path.display()),
    };
    let mut times = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(e, &d))? {
            let entry = entry.map_err(|e| io(e, &d))?;
            let path = entry.path();
            let meta = entry.metadata().map_err(|e| io(e, &path))?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            let modified: DateTime<Utc> = meta.modified().map_err(|e| io(e, &path))?.into();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy();
            if let Some(t) = time_of(pattern, &rel, modified) {
                times.push(t);
            }
        }
    }
    Ok(Listing {
        times,
        anonymous_refused: None,
    })
}

fn backup_time(plan: &BackupPlan, key: &str, modified: DateTime<Utc>) -> Option<DateTime<Utc>> {
    time_of(plan.name_pattern.as_ref(), key, modified)
}

/// The backup's time: the date (and, if the pattern has the groups, the hour,
/// minute and second) read from its name in Asia/Tokyo, else the time it was
/// last modified. A name the pattern does not match is not a backup.
pub fn time_of(
    pattern: Option<&regex::Regex>,
    name: &str,
    modified: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let Some(re) = pattern else {
        return Some(modified);
    };
    let c = re.captures(name)?;
    let num = |g: &str| c.name(g).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(num("year")? as i32, num("month")?, num("day")?)?;
    let time = date.and_hms_opt(
        num("hour").unwrap_or(0),
        num("minute").unwrap_or(0),
        num("second").unwrap_or(0),
    )?;
    TZ.from_local_datetime(&time)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_port_or_a_timing_is_not_a_status_code() {
        let m = "Error performing GET http://127.0.0.1:35403/missing?list-type=2 in 1.529401ms - Server returned non-2xx status code: 404 Not Found: <Error><Code>NoSuchBucket</Code></Error>";
        assert_eq!(classify(m), Reason::NotFound);
        assert_eq!(
            classify(
                "Server returned non-2xx status code: 403 Forbidden at http://127.0.0.1:34040/"
            ),
            Reason::Credentials
        );
        assert_eq!(classify("status code: 401"), Reason::Credentials);
    }

    use super::*;

    #[test]
    fn names_give_tokyo_dates() {
        let re = regex::Regex::new(r"db-(?P<year>\d{4})(?P<month>\d\d)(?P<day>\d\d)").unwrap();
        let m = crate::clock::now();
        let t = time_of(Some(&re), "daily/db-20261203.tar.zst", m).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-02T15:00:00+00:00");
        assert_eq!(time_of(Some(&re), "README", m), None);
        assert_eq!(time_of(Some(&re), "db-20261331", m), None);
        assert_eq!(time_of(None, "anything", m), Some(m));
    }

    #[test]
    fn messages_give_reasons() {
        assert_eq!(
            classify("error sending request: Connection refused"),
            Reason::Unreachable
        );
        assert_eq!(
            classify("Received status code 403 Forbidden: <Code>InvalidAccessKeyId"),
            Reason::Credentials
        );
        assert_eq!(classify("NoSuchBucket"), Reason::NotFound);
        assert_eq!(classify("something else"), Reason::Other);
    }
}
