//! `mimamori generate` end to end: the generated rules, tests and routing are
//! judged by the real `promtool` and `amtool`, and snapshotted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mimamori");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn aoulu() -> PathBuf {
    repo().join("deploy/aoulu.yaml")
}

/// A tool from PATH, or a failure that says how to get it.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found on PATH: these tests judge the generated files with the real tool \
                 (Debian/Ubuntu: apt-get install prometheus prometheus-alertmanager; or the release tarballs)"
            )
        })
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command starts");
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

fn generate(out: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("generate")
        .arg("--config")
        .arg(aoulu())
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("mimamori starts")
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn generated_files_pass_promtool_and_amtool() {
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rules = files_with(&dir.path().join("rules"), "yml");
    assert_eq!(rules.len(), 3, "{rules:?}"); // two services + probers
    let out = run(Command::new(tool("promtool"))
        .args(["check", "rules"])
        .args(&rules));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("FAILED"), "{text}");

    let tests = files_with(&dir.path().join("rules/tests"), "yaml");
    assert_eq!(tests.len(), 3, "{tests:?}");
    let out = run(Command::new(tool("promtool"))
        .args(["test", "rules"])
        .args(&tests));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("SUCCESS").count(), 3, "{text}");

    run(Command::new(tool("amtool"))
        .arg("check-config")
        .arg(dir.path().join("deploy/alertmanager/alertmanager.yml")));
}

/// The generated promtool tests must be able to fail: break the design and they do.
#[test]
fn promtool_tests_catch_a_broken_design() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), &[]).status.success());
    let rules = dir.path().join("rules/hanbai.yml");
    let good = std::fs::read_to_string(&rules).unwrap();
    let cases = [
        // Page on any failure in the last hour: a single failed probe would page.
        (
            "/ 0.36 >= 100",
            "/ 0.36 >= 1",
            "alertname: MimamoriAvailabilityFastBurn",
        ),
        // Any one location failing counts as the service failing.
        (
            "* 2\n      > bool",
            "* 2\n      >= bool",
            "name: one location (osaka-b) fails alone",
        ),
        // Burn against operating time: right after maintenance one failed round pages.
        (
            "mimamori:slo_availability_failure_seconds:1h{service=\"hanbai\"} / 0.36 >= 100\n      and on (service)\n      mimamori:slo_availability_failure_seconds:5m{service=\"hanbai\"} / 0.03 >= 100",
            "mimamori:slo_burn_rate:1h{service=\"hanbai\",slo=\"availability\"} >= 100\n      and on (service)\n      mimamori:slo_burn_rate:5m{service=\"hanbai\",slo=\"availability\"} >= 100",
            "name: outage and slow answers inside announced maintenance",
        ),
        // Latency judged right after maintenance, on answers given inside it.
        (
            "min_over_time(mimamori:service_operating{service=\"hanbai\"}[5m]) == 1",
            "mimamori:service_operating{service=\"hanbai\"} == 1",
            "alertname: MimamoriLatencyFastBurn",
        ),
    ];
    for (from, to, needle) in cases {
        assert!(good.contains(from), "{from}");
        std::fs::write(&rules, good.replace(from, to)).unwrap();
        let out = Command::new(tool("promtool"))
            .args(["test", "rules"])
            .arg(dir.path().join("rules/tests/hanbai.yaml"))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{from} -> {to} not caught");
        assert!(
            text.contains(needle),
            "{from} -> {to}: expected `{needle}` to fail:\n{text}"
        );
    }
}

#[test]
fn committed_output_is_current() {
    let out = Command::new(BIN)
        .current_dir(repo())
        .args(["generate", "--config", "deploy/aoulu.yaml", "--check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "committed rules/ or deploy/alertmanager/ are stale; run `mimamori generate --config deploy/aoulu.yaml`:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_reports_differences_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &["--check"]);
    assert!(!out.status.success());
    assert!(!dir.path().join("rules").exists(), "--check wrote files");
    assert!(String::from_utf8_lossy(&out.stderr).contains("rules/hanbai.yml: missing"));

    assert!(generate(dir.path(), &[]).status.success());
    assert!(generate(dir.path(), &["--check"]).status.success());
    let f = dir.path().join("deploy/alertmanager/alertmanager.yml");
    std::fs::write(&f, "edited by hand\n").unwrap();
    let out = generate(dir.path(), &["--check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alertmanager.yml: differs"), "{err}");
    assert!(!err.contains("hanbai.yml"), "{err}");

    // Rules of a service that left the configuration are stale too.
    assert!(generate(dir.path(), &[]).status.success());
    std::fs::write(dir.path().join("rules/retired.yml"), "groups: []\n").unwrap();
    let out = generate(dir.path(), &["--check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("retired.yml: not generated any more"), "{err}");
}

#[test]
fn prometheus_operator_object() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), &["--prometheus-operator"])
        .status
        .success());
    let text = std::fs::read_to_string(
        dir.path()
            .join("deploy/prometheus-operator/prometheusrule.yaml"),
    )
    .unwrap();
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(v["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(v["kind"], "PrometheusRule");
    let groups = v["spec"]["groups"].as_sequence().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "mimamori-hanbai",
            "mimamori-hanbai-long",
            "mimamori-denshibin",
            "mimamori-denshibin-long",
            "mimamori-probers",
            "mimamori-certificates",
            "mimamori-tls-policy"
        ]
    );
}

#[test]
fn explain_matches_the_readme() {
    let out = run(Command::new(BIN)
        .arg("explain")
        .arg("--config")
        .arg(aoulu()));
    let text = String::from_utf8(out.stdout).unwrap();
    let readme = std::fs::read_to_string(repo().join("rules/README.md")).unwrap();
    assert!(readme.ends_with(&text));
    for needle in [
        "| 30 d | 4.32 min (259.2 s) |",
        "| 31 d | 4.464 min (267.84 s) |",
        "| 28 d | 4.032 min (241.92 s) |",
        "One failed probe round costs 15 s = 5.79 % of a 30-day budget; a 1-minute outage costs 23.15 %",
        "| MimamoriAvailabilityFastBurn | page | 1h / 5m | 100 | 36 s | 13.89 % | 45 s (3 failed rounds) | 90 s |",
        "A full outage pages within 2 minutes.",
        "One or two failed rounds (15 s, 30 s) never page",
        "| MimamoriLatencyFastBurn | page | 1h / 5m | 14.4 | 2 % | 8.64 min |",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    insta::assert_snapshot!("explain", text);
}

#[test]
fn snapshots_of_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), &[]).status.success());
    for f in [
        "rules/hanbai.yml",
        "rules/mimamori-probers.yml",
        "rules/tests/hanbai.yaml",
        "deploy/alertmanager/alertmanager.yml",
    ] {
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        insta::assert_snapshot!(f.replace('/', "__"), text);
    }
}

#[test]
fn latency_threshold_off_the_buckets_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(aoulu()).unwrap().replacen(
        "latency: {threshold: 3s, target: 99}",
        "latency: {threshold: 2200ms, target: 99}",
        1,
    );
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, cfg).unwrap();
    let out = Command::new(BIN)
        .args(["generate", "--out"])
        .arg(dir.path())
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a bucket boundary"), "{err}");
    assert!(!dir.path().join("rules").exists());
}

/// The holiday list must reach past next year; regenerate it with
/// `python3 scripts/update-holidays.py FIRST LAST` (Python `holidays` package).
#[test]
fn holiday_list_covers_next_year() {
    use chrono::Datelike;
    let (_, last) = mimamori::generate::holidays::years();
    let next = chrono::Utc::now().year() + 1;
    assert!(
        last >= next,
        "src/generate/holidays_jp.csv ends in {last}: run scripts/update-holidays.py and `mimamori generate`"
    );
}

/// Another shape of configuration: three locations with an explicit quorum,
/// 30 s probes, 99.9 %. The generated scenarios must still hold.
#[test]
fn other_configuration_still_passes_its_generated_tests() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(aoulu())
        .unwrap()
        .replace("interval: 15s", "interval: 30s")
        .replace("availability: 99.99", "availability: 99.9")
        .replace(
            "locations: [tokyo-a, osaka-b]",
            "locations: [tokyo-a, osaka-b, sapporo-c]\n  quorum: 2",
        );
    let path = dir.path().join("other.yaml");
    std::fs::write(&path, cfg).unwrap();
    let out = Command::new(BIN)
        .args(["generate", "--out"])
        .arg(dir.path())
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = std::fs::read_to_string(dir.path().join("rules/hanbai.yml")).unwrap();
    assert!(rules.contains(
        "clamp_max(count by (service) (mimamori:location_failing{service=\"hanbai\"}), 2)"
    ));
    assert!(rules.contains("vector(0.999)"));
    let tests = files_with(&dir.path().join("rules/tests"), "yaml");
    let out = run(Command::new(tool("promtool"))
        .args(["test", "rules"])
        .args(&tests));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("SUCCESS").count(), 3, "{text}");
}

#[test]
fn alertmanager_routes_pages_and_tickets() {
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), &[]).status.success());
    let am = dir.path().join("deploy/alertmanager/alertmanager.yml");
    for (severity, receiver) in [("page", "page"), ("ticket", "ticket")] {
        let out = run(Command::new(tool("amtool"))
            .args(["config", "routes", "test", "--config.file"])
            .arg(&am)
            .arg(format!("severity={severity}"))
            .arg("service=hanbai")
            .arg("slo=availability"));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), receiver);
    }
    let text = std::fs::read_to_string(&am).unwrap();
    // New Year's Day 2027 and a substitute holiday are muted for tickets.
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let holidays = &v["time_intervals"][1];
    assert_eq!(holidays["name"], "japanese-public-holidays");
    let days = holidays["time_intervals"].as_sequence().unwrap();
    let muted = [
        ("2027-01-01", "2027", "january", "1", "元日"),
        ("2026-05-06", "2026", "may", "6", "振替休日"),
    ];
    for (date, year, month, day, name) in muted {
        let entry = serde_yaml::to_value(serde_json::json!({
            "years": [year], "months": [month], "days_of_month": [day], "location": "Asia/Tokyo",
        }))
        .unwrap();
        assert!(days.contains(&entry), "{date} is not muted");
        assert!(
            text.contains(&format!("# {date} {name}\n")),
            "{date} is not named"
        );
    }
}
