//! The backup objective against real storage: s3s-fs (an S3 server on a
//! directory, SigV4 checked; it has no anonymous access at all), moto's S3
//! server (for a bucket that lets anonymous clients list and read), and a
//! plain directory. Backup times come from file mtimes (s3s-fs reports a
//! file's mtime as the object's last-modified time) or from dates in names.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mimamori::backup::{self, BackupMetrics, BackupPlan, Reason, WINDOW_DATES};

use crate::common::stack::{free_port, Proc};
use crate::common::tools::{self, tool};
use crate::common::{wait_until, wait_until_async};

const KEY_ID: &str = "AKIAMIMAMORITEST";
const SECRET: &str = "s3cr3t/Key+With=Signs";
const DAY: u64 = 86_400;

/// Waits until something accepts connections on the port.
fn wait_port(port: u16, what: &str) {
    wait_until(Duration::from_secs(30), what, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

/// s3s-fs serving the buckets in `root`, and its endpoint; `None` when
/// s3s-fs is not installed (see `common::tools`).
fn start_s3s(root: &Path) -> Option<(Proc, String)> {
    let s3s_fs = tool("s3s-fs")?;
    let port = free_port();
    let child = Command::new(s3s_fs)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", KEY_ID, "--secret-key", SECRET])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs starts");
    let p = Proc(child);
    wait_port(port, "s3s-fs to listen");
    Some((p, format!("http://127.0.0.1:{port}")))
}

/// A file `days` days old (mtime).
fn backup_file(dir: &Path, name: &str, age: Duration) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"not read by mimamori").unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(mimamori::clock::system_now() - age).unwrap();
}

/// Daily backups `from..=to` days ago (hour 3 of each), skipping `gaps`.
fn daily(dir: &Path, from: u64, to: u64, gaps: &[u64]) {
    for d in from..=to {
        if !gaps.contains(&d) {
            backup_file(
                dir,
                &format!("db-{d:03}.dump"),
                Duration::from_secs(d * DAY + 3600),
            );
        }
    }
}

fn config(backups: &str) -> String {
    format!(
        r#"
secrets:
  s3_key_id: {{env: TEST_S3_KEY_ID}}
  s3_secret: {{env: TEST_S3_SECRET}}
services:
  - name: portal
    display_name: {{ja: ポータル, en: Portal}}
    transactions:
      - name: top
        steps:
          - name: get
            url: http://127.0.0.1:9/
backups:
{backups}
"#
    )
}

fn plans_of(yaml: &str, secret: &str) -> Vec<Arc<BackupPlan>> {
    let cfg = mimamori::config::parse(yaml, "backups.yaml").unwrap_or_else(|e| panic!("{e}"));
    let secret = secret.to_string();
    let secrets = mimamori::config::load_secrets(&cfg, &move |k| match k {
        "TEST_S3_KEY_ID" => Some(KEY_ID.to_string()),
        "TEST_S3_SECRET" => Some(secret.clone()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("{e:?}"));
    backup::plans(&cfg, &secrets).unwrap_or_else(|e| panic!("{e}"))
}

fn s3_entry(endpoint: &str, bucket: &str, prefix: &str, extra: &str) -> String {
    format!(
        r#"  - service: portal
    name: db
    display_name: {{ja: データベース, en: Database}}
    s3:
      endpoint: {endpoint}
      bucket: {bucket}
      prefix: {prefix}
      access_key_id: ${{secret:s3_key_id}}
      secret_access_key: ${{secret:s3_secret}}
    timeout: 10s
{extra}"#
    )
}

/// One check, recorded; the exposition's backup lines.
async fn observe(plan: &BackupPlan) -> String {
    let registry = prometheus::Registry::new();
    let m = BackupMetrics::new(&registry);
    backup::run_once(plan, &m).await;
    let mut out = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(&registry.gather(), &mut out)
        .unwrap();
    out
}

fn value(exposition: &str, metric: &str) -> Option<f64> {
    exposition
        .lines()
        .find(|l| l.starts_with(&format!("{metric}{{")))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
}

fn now_secs() -> f64 {
    mimamori::clock::now().timestamp() as f64
}

#[tokio::test]
async fn s3_fresh_full_and_private() {
    let root = tempfile::tempdir().unwrap();
    let bucket = root.path().join("backups");
    daily(&bucket.join("portal"), 0, 200, &[]);
    // Outside the prefix: not counted.
    backup_file(
        &bucket.join("other"),
        "x.dump",
        Duration::from_secs(400 * DAY),
    );
    let Some((_s3, endpoint)) = start_s3s(root.path()) else {
        return;
    };
    let plans = plans_of(
        &config(&s3_entry(&endpoint, "backups", "portal/", "")),
        SECRET,
    );
    let out = observe(&plans[0]).await;
    assert_eq!(
        value(&out, "mimamori_backup_check_success"),
        Some(1.0),
        "{out}"
    );
    let newest = value(&out, "mimamori_backup_last_success_timestamp_seconds").unwrap();
    assert!(now_secs() - newest < 2.0 * 3600.0, "{out}");
    let oldest = value(&out, "mimamori_backup_oldest_timestamp_seconds").unwrap();
    assert!(
        (now_secs() - oldest - (200 * DAY + 3600) as f64).abs() < 60.0,
        "{out}"
    );
    let required = value(&out, "mimamori_backup_retention_required_timestamp_seconds").unwrap();
    assert!(oldest < required, "200 days is more than 6 months: {out}");
    assert_eq!(
        value(&out, "mimamori_backup_dates_expected"),
        Some(WINDOW_DATES as f64)
    );
    assert_eq!(
        value(&out, "mimamori_backup_dates_covered"),
        Some(WINDOW_DATES as f64),
        "{out}"
    );
    // s3s-fs refuses every unsigned request.
    assert_eq!(
        value(&out, "mimamori_backup_anonymous_access_refused"),
        Some(1.0),
        "{out}"
    );
    let (ok, report) = crate::common::promtool_check_metrics(&out);
    assert!(ok, "{report}\n{out}");
    assert!(!out.contains(SECRET) && !out.contains(KEY_ID));
}

#[tokio::test]
async fn s3_stale_gap_and_short_retention() {
    let root = tempfile::tempdir().unwrap();
    let bucket = root.path().join("backups");
    // Newest 3 days old, 40 days back, a gap 10 days ago.
    daily(&bucket.join("db"), 3, 40, &[10]);
    let Some((_s3, endpoint)) = start_s3s(root.path()) else {
        return;
    };
    let plans = plans_of(&config(&s3_entry(&endpoint, "backups", "db", "")), SECRET);
    let out = observe(&plans[0]).await;
    let newest = value(&out, "mimamori_backup_last_success_timestamp_seconds").unwrap();
    assert!(now_secs() - newest > 26.0 * 3600.0, "stale: {out}");
    let oldest = value(&out, "mimamori_backup_oldest_timestamp_seconds").unwrap();
    let required = value(&out, "mimamori_backup_retention_required_timestamp_seconds").unwrap();
    assert!(oldest > required, "40 days is short of 6 months: {out}");
    let covered = value(&out, "mimamori_backup_dates_covered").unwrap();
    // Days 3..=40 but the gap; days 1 and 2 are missing too. Hour 3 of
    // the day before around midnight in Tokyo can land on a neighbouring
    // date, so allow one either way.
    assert!((covered - 37.0).abs() <= 1.0, "{out}");
    assert!(covered < value(&out, "mimamori_backup_dates_expected").unwrap());
}

#[tokio::test]
async fn s3_dates_from_names_and_since() {
    let root = tempfile::tempdir().unwrap();
    let bucket = root.path().join("names");
    let today = mimamori::clock::now()
        .with_timezone(&backup::TZ)
        .date_naive();
    for d in 1..=5u64 {
        let date = today - chrono::Days::new(d);
        backup_file(
            &bucket,
            &format!("db-{}.tar", date.format("%Y%m%d")),
            Duration::ZERO,
        );
    }
    backup_file(&bucket, "README.txt", Duration::from_secs(900 * DAY));
    let Some((_s3, endpoint)) = start_s3s(root.path()) else {
        return;
    };
    let since = today - chrono::Days::new(5);
    let extra = format!(
        "    name_pattern: 'db-(?P<year>\\d{{4}})(?P<month>\\d\\d)(?P<day>\\d\\d)'\n    since: {since}\n"
    );
    let plans = plans_of(&config(&s3_entry(&endpoint, "names", "", &extra)), SECRET);
    let out = observe(&plans[0]).await;
    assert_eq!(
        value(&out, "mimamori_backup_dates_expected"),
        Some(5.0),
        "{out}"
    );
    assert_eq!(
        value(&out, "mimamori_backup_dates_covered"),
        Some(5.0),
        "{out}"
    );
    let oldest = value(&out, "mimamori_backup_oldest_timestamp_seconds").unwrap();
    let required = value(&out, "mimamori_backup_retention_required_timestamp_seconds").unwrap();
    // Retention is held from `since`: the oldest backup is dated that day.
    assert_eq!(oldest, required, "{out}");
    let newest = value(&out, "mimamori_backup_last_success_timestamp_seconds").unwrap();
    let yesterday: DateTime<Utc> = backup::TZ
        .from_local_datetime(&(today - chrono::Days::new(1)).and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(newest, yesterday.timestamp() as f64, "{out}");
}

use chrono::TimeZone;

#[tokio::test]
async fn s3_wrong_credentials_and_endpoint_down() {
    let root = tempfile::tempdir().unwrap();
    daily(&root.path().join("backups"), 0, 3, &[]);
    let Some((mut s3, endpoint)) = start_s3s(root.path()) else {
        return;
    };
    let plans = plans_of(
        &config(&s3_entry(&endpoint, "backups", "", "")),
        "wrong-secret",
    );
    let err = backup::check(&plans[0]).await.unwrap_err();
    assert_eq!(err.reason, Reason::Credentials, "{err:?}");
    assert!(!err.message.contains("wrong-secret"), "{err:?}");
    assert!(!err.message.contains(KEY_ID), "{err:?}");
    let out = observe(&plans[0]).await;
    assert_eq!(
        value(&out, "mimamori_backup_check_success"),
        Some(0.0),
        "{out}"
    );
    assert!(out.contains(r#"mimamori_backup_check_failures_total{backup="db",reason="credentials",service="portal"} 1"#), "{out}");
    // A failed check is not a stale backup: no freshness is claimed.
    assert_eq!(
        value(&out, "mimamori_backup_last_success_timestamp_seconds"),
        None,
        "{out}"
    );

    let plans = plans_of(&config(&s3_entry(&endpoint, "missing", "", "")), SECRET);
    let err = backup::check(&plans[0]).await.unwrap_err();
    assert_eq!(err.reason, Reason::NotFound, "{err:?}");

    s3.kill();
    let plans = plans_of(&config(&s3_entry(&endpoint, "backups", "", "")), SECRET);
    let err = backup::check(&plans[0]).await.unwrap_err();
    assert_eq!(err.reason, Reason::Unreachable, "{err:?}");
}

/// moto's S3 server with a public-read bucket: anonymous list and read are
/// allowed, which must show as 0.
#[tokio::test]
async fn s3_anonymous_access_allowed() {
    if !tools::python_module(
        "moto.server",
        "python3 -m pip install 'moto[server]==5.2.1'",
    ) {
        return;
    }
    let port = free_port();
    let moto = Command::new("python3")
        .args(["-m", "moto.server", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 starts");
    let _moto = Proc(moto);
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_async(Duration::from_secs(30), "moto to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let client = reqwest::Client::new();
    let r = client
        .put(format!("{endpoint}/open"))
        .header("x-amz-acl", "public-read")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{r:?}");
    let r = client
        .put(format!("{endpoint}/open/db-1.dump"))
        .header("x-amz-acl", "public-read")
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{r:?}");
    let plans = plans_of(&config(&s3_entry(&endpoint, "open", "", "")), SECRET);
    let out = observe(&plans[0]).await;
    assert_eq!(
        value(&out, "mimamori_backup_check_success"),
        Some(1.0),
        "{out}"
    );
    assert_eq!(
        value(&out, "mimamori_backup_anonymous_access_refused"),
        Some(0.0),
        "{out}"
    );
}

fn dir_entry(dir: &Path) -> String {
    format!(
        "  - service: portal\n    name: files\n    display_name: {{ja: ファイル, en: Files}}\n    directory: {}\n",
        dir.display()
    )
}

#[tokio::test]
async fn directory_fresh_stale_gap_and_missing() {
    let dir = tempfile::tempdir().unwrap();
    daily(&dir.path().join("nested"), 0, 190, &[]);
    let plans = plans_of(&config(&dir_entry(dir.path())), SECRET);
    let out = observe(&plans[0]).await;
    assert_eq!(
        value(&out, "mimamori_backup_check_success"),
        Some(1.0),
        "{out}"
    );
    assert_eq!(
        value(&out, "mimamori_backup_dates_covered"),
        Some(WINDOW_DATES as f64),
        "{out}"
    );
    let newest = value(&out, "mimamori_backup_last_success_timestamp_seconds").unwrap();
    assert!(now_secs() - newest < 2.0 * 3600.0, "{out}");
    // Not applicable to a directory: no series.
    assert_eq!(
        value(&out, "mimamori_backup_anonymous_access_refused"),
        None,
        "{out}"
    );

    let stale = tempfile::tempdir().unwrap();
    daily(stale.path(), 3, 30, &[7]);
    let plans = plans_of(&config(&dir_entry(stale.path())), SECRET);
    let out = observe(&plans[0]).await;
    let newest = value(&out, "mimamori_backup_last_success_timestamp_seconds").unwrap();
    assert!(now_secs() - newest > 50.0 * 3600.0, "{out}");
    let covered = value(&out, "mimamori_backup_dates_covered").unwrap();
    assert!((covered - 27.0).abs() <= 1.0, "{out}");
    let oldest = value(&out, "mimamori_backup_oldest_timestamp_seconds").unwrap();
    let required = value(&out, "mimamori_backup_retention_required_timestamp_seconds").unwrap();
    assert!(oldest > required, "{out}");

    let gone = dir.path().join("does-not-exist");
    let plans = plans_of(&config(&dir_entry(&gone)), SECRET);
    let err = backup::check(&plans[0]).await.unwrap_err();
    assert_eq!(err.reason, Reason::NotFound, "{err:?}");
}

/// Generates from `deploy/aoulu-backups.yaml` into `out`.
fn generate_backups(out: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .arg("generate")
        .arg("--config")
        .arg(repo.join("deploy/aoulu-backups.yaml"))
        .arg("--out")
        .arg(out)
        .output()
        .expect("mimamori starts");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(tools::needed("promtool"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("promtool starts");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The backup alerts pass `promtool check rules` and their generated
/// scenarios pass `promtool test rules`; a broken threshold fails them; the
/// routing still passes amtool. Without `backups:` no backup file is written.
#[test]
fn generated_backup_rules_pass_promtool_and_can_fail() {
    let (Some(_), Some(amtool)) = (tool("promtool"), tool("amtool")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    generate_backups(dir.path());
    let rules = dir.path().join("rules");
    let readme = std::fs::read_to_string(rules.join("README.md")).unwrap();
    assert!(
        readme.contains("| database (販売データベース) | hanbai | 15m | 26h | 50h |")
            && readme.contains("| BackupAnonymousAccess | page |"),
        "rules/README.md explains each backup's thresholds: {readme}"
    );
    let (ok, text) = promtool(&rules, &["check", "rules", "mimamori-backups.yml"]);
    assert!(ok && text.contains("SUCCESS: 12 rules found"), "{text}");
    let tests = rules.join("tests");
    let (ok, text) = promtool(&tests, &["test", "rules", "mimamori-backups.yaml"]);
    assert!(ok, "{text}");
    let st = Command::new(amtool)
        .arg("check-config")
        .arg(dir.path().join("deploy/alertmanager/alertmanager.yml"))
        .output()
        .expect("amtool starts");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );

    // Page a stale backup at 60h instead of 50h: the scenarios notice.
    let file = rules.join("mimamori-backups.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let page = (26 + 24) * 3600;
    assert!(text.contains(&format!("> {page}")), "{text}");
    std::fs::write(
        &file,
        text.replace(&format!("> {page}"), &format!("> {}", page + 36_000)),
    )
    .unwrap();
    let (ok, text) = promtool(&tests, &["test", "rules", "mimamori-backups.yaml"]);
    assert!(!ok && text.contains("BackupVeryStale"), "{text}");

    let plain = tempfile::tempdir().unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--config"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/aoulu.yaml"))
        .arg("--out")
        .arg(plain.path())
        .output()
        .unwrap();
    assert!(st.status.success());
    assert!(!plain.path().join("rules/mimamori-backups.yml").exists());
    assert!(
        !std::fs::read_to_string(plain.path().join("rules/README.md"))
            .unwrap()
            .contains("## Backups")
    );
    assert!(!plain
        .path()
        .join("rules/tests/mimamori-backups.yaml")
        .exists());
}

/// The exporter lists backups on shard 0 only, and its exposition (with the
/// backup families) passes `promtool check metrics`.
#[tokio::test]
async fn exporter_checks_backups_on_shard_zero_only() {
    use mimamori::config::Shard;
    use mimamori::server::{App, AppOptions, ConfigSource};
    let dir = tempfile::tempdir().unwrap();
    daily(dir.path(), 0, 2, &[]);
    let cfg = mimamori::config::parse(&config(&dir_entry(dir.path())), "b.yaml").unwrap();
    let start = |shard: Shard| {
        App::start(
            cfg.clone(),
            AppOptions {
                env: Arc::new(|_| Some("x".into())),
                shard: Some(shard),
                ..AppOptions::new(ConfigSource::Fixed(Box::new(cfg.clone())))
            },
        )
        .unwrap()
    };
    let first = start(Shard::new(0, 2).unwrap());
    let second = start(Shard::new(1, 2).unwrap());
    let text = wait_until_async(Duration::from_secs(10), "the first backup check", || {
        let text = first.metrics.render();
        if text.contains("mimamori_backup_check_success{") {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await;
    let other = second.metrics.render();
    first.stop();
    second.stop();
    assert!(
        text.contains(r#"mimamori_backup_check_success{backup="files",service="portal"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"mimamori_backup_dates_covered{backup="files",service="portal"} 2"#),
        "{text}"
    );
    assert!(!other.contains("mimamori_backup_check_success{"), "{other}");
    let (ok, report) = crate::common::promtool_check_metrics(&text);
    assert!(ok, "{report}");
}

/// A reload that removes a backup removes its series and stops its checks.
#[tokio::test]
async fn reload_without_the_backup_removes_its_series() {
    use mimamori::server::{App, AppOptions, ConfigSource};
    let dir = tempfile::tempdir().unwrap();
    daily(&dir.path().join("b"), 0, 2, &[]);
    let file = dir.path().join("mimamori.yaml");
    std::fs::write(&file, config(&dir_entry(&dir.path().join("b")))).unwrap();
    let cfg = mimamori::config::load(&file).unwrap();
    let app = App::start(
        cfg,
        AppOptions {
            env: Arc::new(|_| Some("x".into())),
            ..AppOptions::new(ConfigSource::File(file.clone()))
        },
    )
    .unwrap();
    wait_until_async(Duration::from_secs(10), "the first backup check", || {
        let text = app.metrics.render();
        if text.contains("mimamori_backup_check_success{") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    std::fs::write(
        &file,
        config("  []\n").replace("backups:\n  []", "backups: []"),
    )
    .unwrap();
    app.reload().unwrap();
    let text = app.metrics.render();
    app.stop();
    assert!(!text.contains("mimamori_backup_"), "{text}");
}

/// Alertmanager with the generated routing: a page about one backup
/// (anonymous access to `database`) inhibits that backup's tickets, never
/// another backup's of the same service (a second backup `files` missing a
/// day still reaches the ticket queue); an availability page still inhibits
/// the availability tickets of its service.
#[test]
fn a_page_about_one_backup_never_hides_another_backups_ticket() {
    if tools::one_of(&["prometheus-alertmanager", "alertmanager"]).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    generate_backups(dir.path());
    let (_am, am) = crate::common::stack::start_alertmanager(
        dir.path(),
        &dir.path().join("deploy/alertmanager/alertmanager.yml"),
    );
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let alert = |name: &str, severity: &str, slo: &str, backup: Option<&str>| {
        let mut labels = serde_json::json!({
            "alertname": name, "severity": severity, "slo": slo, "service": "hanbai",
        });
        if let Some(b) = backup {
            labels["backup"] = b.into();
        }
        serde_json::json!({ "labels": labels })
    };
    let sent = serde_json::json!([
        alert("BackupAnonymousAccess", "page", "backup", Some("database")),
        alert("BackupCheckFailing", "ticket", "backup", Some("database")),
        alert("BackupDayMissing", "ticket", "backup", Some("files")),
        alert("MimamoriAvailabilityFastBurn", "page", "availability", None),
        alert("MimamoriLocationFailing", "ticket", "availability", None),
    ]);
    wait_until(
        Duration::from_secs(30),
        "Alertmanager to take the alerts",
        || {
            let posted = client
                .post(format!("http://{am}/api/v2/alerts"))
                .json(&sent)
                .send()
                .is_ok_and(|r| r.status().is_success());
            if posted {
                Ok(())
            } else {
                Err(format!(
                    "not taken; Alertmanager's log:\n{}",
                    std::fs::read_to_string(dir.path().join("alertmanager.log"))
                        .unwrap_or_default()
                ))
            }
        },
    );
    let inhibited = |name: &str| -> bool {
        let got: serde_json::Value = client
            .get(format!("http://{am}/api/v2/alerts"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let a = got
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == name)
            .unwrap_or_else(|| panic!("{name} in {got}"));
        !a["status"]["inhibitedBy"].as_array().unwrap().is_empty()
    };
    assert!(inhibited("BackupCheckFailing"), "same backup: inhibited");
    assert!(
        !inhibited("BackupDayMissing"),
        "another backup of the same service is not hidden by the page"
    );
    assert!(inhibited("MimamoriLocationFailing"), "same service and SLO");
    assert!(!inhibited("BackupAnonymousAccess"));
}

/// An HTTPS front for `backend` (`host:port`) with the given certificate:
/// the S3 endpoint of an on-premises store with a private CA.
fn tls_front(backend: String, cert_pem: String, key_pem: String) -> u16 {
    let acceptor = crate::common::pki::acceptor(&cert_pem, &key_pem);
    crate::common::server::serve("127.0.0.1:0", move |s| {
        let (acceptor, backend) = (acceptor.clone(), backend.clone());
        async move {
            let Ok(mut front) = acceptor.accept(s).await else {
                return;
            };
            let Ok(mut back) = tokio::net::TcpStream::connect(&backend).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut front, &mut back).await;
        }
    })
    .port()
}

/// An S3 endpoint over HTTPS with a private CA: checked with `s3.ca_file`
/// (signed and anonymous requests alike); without it the certificate is not
/// trusted and the check fails as unreachable, never silently passing.
#[tokio::test]
async fn s3_over_https_with_a_private_ca() {
    use crate::common::pki::{ca, leaf};
    let root = tempfile::tempdir().unwrap();
    daily(&root.path().join("backups").join("portal"), 0, 3, &[]);
    let Some((_s3, endpoint)) = start_s3s(root.path()) else {
        return;
    };
    let pki = ca();
    let (cert, key, _) = leaf(&pki, &["localhost"], 2024, 2099);
    let port = tls_front(
        endpoint.trim_start_matches("http://").to_string(),
        cert,
        key,
    );
    let ca_file = root.path().join("backup-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let https = format!("https://localhost:{port}");
    let entry = s3_entry(&https, "backups", "portal/", "");
    let secret_line = "      secret_access_key: ${secret:s3_secret}\n";
    let with_ca = entry.replace(
        secret_line,
        &format!("{secret_line}      ca_file: '{}'\n", ca_file.display()),
    );
    assert_ne!(with_ca, entry);

    let out = observe(&plans_of(&config(&with_ca), SECRET)[0]).await;
    assert_eq!(
        value(&out, "mimamori_backup_check_success"),
        Some(1.0),
        "{out}"
    );
    assert_eq!(
        value(&out, "mimamori_backup_anonymous_access_refused"),
        Some(1.0),
        "{out}"
    );

    let out = observe(&plans_of(&config(&entry), SECRET)[0]).await;
    assert_eq!(
        value(&out, "mimamori_backup_check_success"),
        Some(0.0),
        "{out}"
    );
    assert!(
        out.contains("mimamori_backup_check_failures_total{backup=\"db\",reason=\"unreachable\",service=\"portal\"} 1"),
        "{out}"
    );

    // A ca_file that is not there is a configuration error at its place.
    let missing = entry.replace(
        secret_line,
        &format!("{secret_line}      ca_file: /nonexistent/ca.pem\n"),
    );
    let cfg = mimamori::config::parse(&config(&missing), "backups.yaml").unwrap();
    let secrets = mimamori::config::load_secrets(&cfg, &|_| Some("x".into())).unwrap();
    let Err(err) = backup::plans(&cfg, &secrets) else {
        panic!("a missing ca_file is an error");
    };
    let err = err.to_string();
    assert!(
        err.starts_with(
            "backups.yaml:23:7: backups[0].s3.ca_file: cannot read /nonexistent/ca.pem: "
        ),
        "{err}"
    );
}
