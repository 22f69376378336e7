//! The backup objective (seed §6): each configured backup location is listed
//! on its own interval — never read — and what the listing shows becomes the
//! `mimamori_backup_*` series: the newest and oldest backup, the calendar days
//! (Asia/Tokyo) with a backup, and whether an anonymous client is refused.
//!
//! S3-compatible buckets are listed with `object_store` (SigV4 signing, and
//! unsigned requests for the anonymous check); directories with `std::fs`.
//! A check that cannot list (wrong credentials, endpoint down) is a failure
//! of the check with a closed `reason`, not a stale backup: the last values
//! stay as they were.

mod check;
mod metrics;
mod window;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Backup, Config, ConfigErrors};

pub use check::{check, Failure, Listing, Reason};
pub use metrics::BackupMetrics;
pub use window::{coverage, retention_required, Coverage, TZ, WINDOW_DATES};

/// One backup location, its secrets resolved: what a check needs.
pub struct BackupPlan {
    pub service: String,
    pub name: String,
    pub place: Place,
    pub interval: Duration,
    pub timeout: Duration,
    pub name_pattern: Option<regex::Regex>,
    pub since: Option<chrono::NaiveDate>,
    /// Credential values, replaced in every message that is logged.
    masked: Vec<String>,
}

impl BackupPlan {
    /// `message` with the credentials replaced by `<secret>`.
    pub fn mask(&self, message: &str) -> String {
        let mut m = message.to_string();
        for v in &self.masked {
            m = m.replace(v.as_str(), "<secret>");
        }
        m
    }
}

/// Where the backups are.
pub enum Place {
    S3 {
        /// Signed with the configured credentials.
        signed: Arc<dyn object_store::ObjectStore>,
        /// Unsigned: must be refused.
        anonymous: Arc<dyn object_store::ObjectStore>,
        prefix: Option<object_store::path::Path>,
    },
    Directory(PathBuf),
}

/// Builds the plan of every configured backup, with the `secrets` the
/// transactions' plans use (loaded once, `config::load_secrets`).
pub fn plans(
    cfg: &Config,
    secrets: &HashMap<String, String>,
) -> Result<Vec<Arc<BackupPlan>>, ConfigErrors> {
    if cfg.backups.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, b) in cfg.backups.iter().enumerate() {
        let masked =
            b.s3.iter()
                .flat_map(|s3| [&s3.access_key_id, &s3.secret_access_key])
                .map(|t| t.render(&HashMap::new(), secrets))
                .filter(|v| !v.is_empty())
                .collect();
        let place = place(cfg, b, secrets).map_err(|(field, m)| {
            let mut p = crate::config::locate::Path::root()
                .key("backups")
                .index(i)
                .key("s3");
            if let Some(f) = field {
                p = p.key(f);
            }
            ConfigErrors(vec![cfg.source.error(&p, m)])
        })?;
        out.push(Arc::new(BackupPlan {
            service: b.service.to_string(),
            name: b.name.to_string(),
            place,
            interval: b.interval.0,
            timeout: b.timeout.0,
            name_pattern: b.name_pattern.as_ref().map(|p| p.as_regex().clone()),
            since: b.since,
            masked,
        }));
    }
    Ok(out)
}

/// CA certificates in a PEM file, for an HTTPS endpoint with a private CA.
fn read_cas(path: &std::path::Path) -> Result<Vec<object_store::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let cas = object_store::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
    if cas.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(cas)
}

/// Where a backup is; an error names the field under `s3` it is about.
fn place(
    cfg: &Config,
    b: &Backup,
    secrets: &HashMap<String, String>,
) -> Result<Place, (Option<&'static str>, String)> {
    if let Some(dir) = &b.directory {
        return Ok(Place::Directory(dir.clone()));
    }
    let s3 = b.s3.as_ref().expect("validate: s3 or directory");
    if s3.endpoint.starts_with("http://") {
        // Allowed (test servers, a store on the same host), never quietly:
        // the listing and the access key id travel unencrypted.
        tracing::warn!(service = %b.service, backup = %b.name, "backup endpoint uses plain HTTP: use https");
    }
    let mut cas = Vec::new();
    if let Some(f) = &cfg.global.ca_file {
        // Read and checked with the transactions' plans; here only used.
        cas.extend(read_cas(f).unwrap_or_default());
    }
    if let Some(f) = &s3.ca_file {
        cas.extend(read_cas(f).map_err(|m| (Some("ca_file"), m))?);
    }
    let vars = HashMap::new();
    let build = |anonymous: bool| {
        use object_store::aws::AmazonS3Builder;
        let mut client = object_store::ClientOptions::new()
            .with_allow_http(true)
            .with_timeout(b.timeout.0)
            .with_connect_timeout(b.timeout.0.min(Duration::from_secs(10)));
        for ca in &cas {
            client = client.with_root_certificate(ca.clone());
        }
        // A failed check is retried at the next interval, not inside it.
        let retry = object_store::RetryConfig {
            max_retries: 0,
            retry_timeout: b.timeout.0,
            ..Default::default()
        };
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(s3.endpoint.trim_end_matches('/'))
            .with_region(&s3.region)
            .with_bucket_name(&s3.bucket)
            .with_virtual_hosted_style_request(false)
            .with_client_options(client)
            .with_retry(retry);
        if anonymous {
            builder = builder.with_skip_signature(true);
        } else {
            builder = builder
                .with_access_key_id(s3.access_key_id.render(&vars, secrets))
                .with_secret_access_key(s3.secret_access_key.render(&vars, secrets));
        }
        // The builder's own messages name no secret values.
        builder
            .build()
            .map_err(|e| (None, format!("cannot use this S3 location: {e}")))
    };
    let prefix = s3.prefix.trim_matches('/');
    Ok(Place::S3 {
        signed: Arc::new(build(false)?),
        anonymous: Arc::new(build(true)?),
        prefix: (!prefix.is_empty()).then(|| object_store::path::Path::from(prefix)),
    })
}

/// What `mimamori check` prints about `backups:` (nothing without them).
/// Credentials are shown as written (`${secret:...}`), never resolved.
pub fn describe(cfg: &Config, shard: crate::config::Shard) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if cfg.backups.is_empty() {
        return out;
    }
    let runs = if shard.index() == 0 {
        "checked by this shard"
    } else {
        "checked by shard 0, not this one"
    };
    let _ = writeln!(out, "backups ({runs}):");
    for b in &cfg.backups {
        let place = match (&b.s3, &b.directory) {
            (Some(s3), _) => format!(
                "s3 {} bucket {} prefix '{}'",
                s3.endpoint, s3.bucket, s3.prefix
            ),
            (None, Some(d)) => format!("directory {}", d.display()),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "  {}/{}: {place}, every {}, newest within {}{}",
            b.service,
            b.name,
            b.interval,
            b.expect.max_age,
            b.name_pattern
                .as_ref()
                .map(|p| format!(", dates from names /{}/", p.as_str()))
                .unwrap_or_default()
        );
    }
    out
}

/// The running checks: one task per backup, restarted on every apply.
pub struct Checks {
    metrics: Arc<BackupMetrics>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    keys: Vec<(String, String)>,
}

impl Checks {
    pub fn new(metrics: Arc<BackupMetrics>) -> Self {
        Checks {
            metrics,
            tasks: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Runs these plans from now on (must be called inside a tokio runtime);
    /// the series of backups no longer configured are removed.
    pub fn apply(&mut self, plans: Vec<Arc<BackupPlan>>) {
        self.stop();
        let keys: Vec<_> = plans
            .iter()
            .map(|p| (p.service.clone(), p.name.clone()))
            .collect();
        for k in &self.keys {
            if !keys.contains(k) {
                self.metrics.forget(&k.0, &k.1);
            }
        }
        self.keys = keys;
        for plan in plans {
            let metrics = self.metrics.clone();
            self.tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(plan.interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    run_once(&plan, &metrics).await;
                }
            }));
        }
    }

    pub fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Checks {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One check of one backup, recorded.
pub async fn run_once(plan: &BackupPlan, metrics: &BackupMetrics) {
    let now = crate::clock::now();
    match tokio::time::timeout(plan.timeout, check(plan)).await {
        Ok(Ok(listing)) => metrics.record(plan, &listing, now),
        Ok(Err(f)) => {
            tracing::warn!(service = %plan.service, backup = %plan.name, reason = f.reason.as_str(), "backup check failed: {}", plan.mask(&f.message));
            metrics.failed(plan, f.reason);
        }
        Err(_) => {
            tracing::warn!(service = %plan.service, backup = %plan.name, "backup check timed out after {:?}", plan.timeout);
            metrics.failed(plan, Reason::Timeout);
        }
    }
}
