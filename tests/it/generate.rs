//! `mimamori generate` end to end: the generated rules, tests and routing are
//! judged by the real `promtool` and `amtool`, and snapshotted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::tools::{needed, tool};

const BIN: &str = env!("CARGO_BIN_EXE_mimamori");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn aoulu() -> PathBuf {
    repo().join("deploy/aoulu.yaml")
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
    let (Some(_), Some(_)) = (tool("promtool"), tool("amtool")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rules = files_with(&dir.path().join("rules"), "yml");
    assert_eq!(rules.len(), 3, "{rules:?}"); // two services + probers
    let out = run(Command::new(needed("promtool"))
        .args(["check", "rules"])
        .args(&rules));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("FAILED"), "{text}");

    let tests = files_with(&dir.path().join("rules/tests"), "yaml");
    assert_eq!(tests.len(), 3, "{tests:?}");
    let out = run(Command::new(needed("promtool"))
        .args(["test", "rules"])
        .args(&tests));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("SUCCESS").count(), 3, "{text}");

    run(Command::new(needed("amtool"))
        .arg("check-config")
        .arg(dir.path().join("deploy/alertmanager/alertmanager.yml")));
}

/// The generated promtool tests must be able to fail: break the design and they do.
#[test]
fn promtool_tests_catch_a_broken_design() {
    if tool("promtool").is_none() {
        return;
    }
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
        let (ok, text) = promtool_on(
            ["test", "rules"],
            &dir.path().join("rules/tests/hanbai.yaml"),
        );
        assert!(!ok, "{from} -> {to} not caught");
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
    // And what differs, line by line.
    assert!(
        err.contains("\n  @@ line 1\n  - edited by hand\n  + "),
        "{err}"
    );
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
    let out = crate::common::generate(&path, dir.path());
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
    let next = mimamori::clock::now().year() + 1;
    assert!(
        last >= next,
        "src/generate/holidays_jp.csv ends in {last}: run scripts/update-holidays.py and `mimamori generate`"
    );
}

/// Another shape of configuration: three locations with an explicit quorum,
/// 30 s probes, 99.9 %. The generated scenarios must still hold.
#[test]
fn other_configuration_still_passes_its_generated_tests() {
    if tool("promtool").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(aoulu())
        .unwrap()
        .replace("interval: 15s", "interval: 30s")
        .replace("availability: 99.99", "availability: 99.9")
        .replace(
            "locations: [tokyo-a, osaka-b]",
            "locations: [tokyo-a, osaka-b, sapporo-c]\n  quorum: 2",
        )
        // Every address, failing only when all of them fail.
        .replace(
            "      - name: order-lookup\n",
            "      - name: order-lookup\n        resolve: all\n        fail_when: all_addresses\n",
        );
    let path = dir.path().join("other.yaml");
    std::fs::write(&path, cfg).unwrap();
    let out = crate::common::generate(&path, dir.path());
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
    assert!(rules.contains("min without (ip) (1 - ((mimamori_probe_success{service=\"hanbai\"} unless on (job, instance) (mimamori_prober_healthy{job=\"mimamori\"} == 0)) and on (service, transaction) (label_replace(label_replace(vector(1), \"service\", \"hanbai\", \"\", \"\"), \"transaction\", \"order-lookup\", \"\", \"\"))))"), "{rules}");
    let tests = files_with(&dir.path().join("rules/tests"), "yaml");
    let out = run(Command::new(needed("promtool"))
        .args(["test", "rules"])
        .args(&tests));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("SUCCESS").count(), 3, "{text}");
}

#[test]
fn alertmanager_routes_pages_and_tickets() {
    if tool("amtool").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), &[]).status.success());
    let am = dir.path().join("deploy/alertmanager/alertmanager.yml");
    for (severity, receiver) in [("page", "page"), ("ticket", "ticket")] {
        let out = run(Command::new(needed("amtool"))
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

fn yaml_file(path: &Path) -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `promtool <command>` (e.g. `check rules`, `test rules`) on one file: success and what it said.
fn promtool_on(command: [&str; 2], path: &Path) -> (bool, String) {
    let out = Command::new(needed("promtool"))
        .args(command)
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `promtool check rules` on one file: success and what it said.
fn check_rules(path: &Path) -> (bool, String) {
    promtool_on(["check", "rules"], path)
}

/// `--format mimir`: one namespace holding every group, as `mimirtool rules load` reads it;
/// `--format thanos`: the Prometheus files plus `partial_response_strategy` on each group.
/// Without `--format` neither is written.
#[test]
fn mimir_and_thanos_rule_files() {
    if tool("promtool").is_none() {
        return;
    }
    let plain = tempfile::tempdir().unwrap();
    assert!(generate(plain.path(), &[]).status.success());
    assert!(!plain.path().join("rules/mimir").exists());
    assert!(!plain.path().join("rules/thanos").exists());
    let prometheus_files = files_with(&plain.path().join("rules"), "yml");
    let all_groups: Vec<serde_yaml::Value> = prometheus_files
        .iter()
        .flat_map(|f| yaml_file(f)["groups"].as_sequence().unwrap().clone())
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &["--format", "mimir"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mimir = dir.path().join("rules/mimir/mimamori.yml");
    let v = yaml_file(&mimir);
    let keys: Vec<&str> = v
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, ["namespace", "groups"]);
    assert_eq!(v["namespace"], "mimamori");
    let mut groups = v["groups"].as_sequence().unwrap().clone();
    groups.sort_by_key(|g| g["name"].as_str().unwrap().to_string());
    let mut want = all_groups.clone();
    want.sort_by_key(|g| g["name"].as_str().unwrap().to_string());
    assert_eq!(groups, want, "the same groups as rules/*.yml");
    // Each group as Prometheus reads it (Mimir's group format is Prometheus').
    let stripped = dir.path().join("mimir-groups.yml");
    let mut m = v.as_mapping().unwrap().clone();
    m.remove("namespace");
    std::fs::write(&stripped, serde_yaml::to_string(&m).unwrap()).unwrap();
    let (ok, text) = check_rules(&stripped);
    assert!(ok, "{text}");
    // The rules of every run are the same: the Prometheus files did not change.
    for f in &prometheus_files {
        let same = dir.path().join("rules").join(f.file_name().unwrap());
        assert_eq!(std::fs::read(f).unwrap(), std::fs::read(same).unwrap());
    }

    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &["--format", "thanos"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let thanos = files_with(&dir.path().join("rules/thanos"), "yml");
    assert_eq!(thanos.len(), prometheus_files.len(), "{thanos:?}");
    for f in &thanos {
        // Prometheus 2.42 refuses Thanos' field: that is why these are separate files.
        let (ok, text) = check_rules(f);
        assert!(
            !ok && text.contains("field partial_response_strategy not found"),
            "{text}"
        );
        let mut v = yaml_file(f);
        for g in v["groups"].as_sequence_mut().unwrap() {
            let g = g.as_mapping_mut().unwrap();
            assert_eq!(
                g.remove("partial_response_strategy"),
                Some("abort".into()),
                "{}",
                f.display()
            );
        }
        let prom = plain.path().join("rules").join(f.file_name().unwrap());
        assert_eq!(
            v,
            yaml_file(&prom),
            "{} = the Prometheus file + the strategy",
            f.display()
        );
        let stripped = dir.path().join("stripped.yml");
        std::fs::write(&stripped, serde_yaml::to_string(&v).unwrap()).unwrap();
        let (ok, text) = check_rules(&stripped);
        assert!(ok, "{text}");
    }
}

fn seconds(d: &str) -> u64 {
    let mut total = 0;
    let mut n = 0;
    for c in d.chars() {
        match c {
            '0'..='9' => n = n * 10 + u64::from(c.to_digit(10).unwrap()),
            'h' => (total, n) = (total + n * 3600, 0),
            'm' => (total, n) = (total + n * 60, 0),
            's' => (total, n) = (total + n, 0),
            _ => panic!("duration {d}"),
        }
    }
    total
}

/// The generated promtool tests as a ruler with a query offset sees them: every input series
/// starts `offset` later (an evaluation at t reads the data of t − offset) and, with
/// `shift_evals`, every expectation is looked for `offset` later, except in scenarios where
/// no prober ever reported: there is nothing to delay, a ruler sees that absence from its
/// first evaluation with or without an offset, so those alerts come at the same time.
fn with_query_offset(test: &Path, offset: u64, shift_evals: bool) -> String {
    let mut v = yaml_file(test);
    for t in v["tests"].as_sequence_mut().unwrap() {
        let never_reported = !t["input_series"].as_sequence().unwrap().iter().any(|s| {
            s["series"]
                .as_str()
                .unwrap()
                .starts_with("mimamori_probe_success{")
        });
        let interval = seconds(t["interval"].as_str().unwrap_or("1m"));
        assert_eq!(offset % interval, 0);
        for s in t["input_series"].as_sequence_mut().unwrap() {
            let values = s["values"].as_str().unwrap().to_string();
            s["values"] = format!("_x{} {values}", offset / interval).into();
        }
        if !shift_evals || never_reported {
            continue;
        }
        for kind in ["alert_rule_test", "promql_expr_test"] {
            for e in t[kind].as_sequence_mut().into_iter().flatten() {
                let at = seconds(e["eval_time"].as_str().unwrap());
                e["eval_time"] = format!("{}s", at + offset).into();
            }
        }
    }
    // `MimamoriProberBlind` says for how long: from the prober's own "since"
    // timestamp (a value, not shifted) to the evaluation, `offset` later.
    let text = serde_yaml::to_string(&v).unwrap();
    if shift_evals {
        assert_eq!(offset, 60, "the blind ticket's durations below are for 1 m");
        text.replace("から5m 0s間", "から6m 0s間")
            .replace("for 5m 0s (", "for 6m 0s (")
    } else {
        text
    }
}

/// Rulers evaluate late on purpose (Mimir's evaluation delay / `query_offset`, Prometheus ≥
/// 2.53's `query_offset`), so remote-written samples have arrived. promtool 2.42 has no query
/// offset; a ruler with one evaluates at t what Prometheus would at t − offset (recorded
/// samples carry the query's time), which is the same as every input arriving `offset` later.
/// With 1 m: every scenario of the generated tests still holds, exactly 1 m later (pages,
/// tickets, `for`, silences, maintenance); and looked for at the old times, pages are missing.
#[test]
fn a_ruler_query_offset_delays_every_alert_by_the_offset() {
    if tool("promtool").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(generate(dir.path(), &[]).status.success());
    let tests = files_with(&dir.path().join("rules/tests"), "yaml");
    assert_eq!(tests.len(), 3);
    let run_test = |text: String, f: &Path| {
        let shifted = f.with_extension("offset.yml");
        std::fs::write(&shifted, text).unwrap();
        promtool_on(["test", "rules"], &shifted)
    };
    for f in &tests {
        let (ok, text) = run_test(with_query_offset(f, 60, true), f);
        assert!(ok, "{} with a 1 m query offset:\n{text}", f.display());
    }
    let hanbai = dir.path().join("rules/tests/hanbai.yaml");
    let (ok, text) = run_test(with_query_offset(&hanbai, 60, false), &hanbai);
    assert!(!ok, "the offset changes nothing?");
    assert!(
        text.contains("alertname: MimamoriAvailabilityFastBurn"),
        "{text}"
    );
}
