//! `mimamori doctor` against real Debian Prometheus servers: one set up right
//! (exit 0, every check OK) and one set up wrong in each way the doctor must
//! find, each scenario its own Prometheus, all started at once.
//!
//! The probers are real `mimamori serve` processes probing a loopback server
//! every second; a second "prober" of another version is a static /metrics
//! (two copies of one binary cannot differ in version), a dead prober a port
//! nothing listens on. The rules are the ones `mimamori generate` writes,
//! unmodified (the doctor compares their intervals). Each scenario polls the
//! doctor until its findings settle, with a bound.

#![allow(
    clippy::disallowed_methods,
    reason = "each scenario runs real Prometheus servers; its wall time is printed and checked"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::prometheus::free_port;
use crate::common::stack::{generate_fast_rules, start_alertmanager, start_prometheus, Proc};
use crate::common::tools;

const SERVICE: &str = "shop";
const LOCATION: &str = "loopback";

fn config(target: &str, maintenance: &str) -> String {
    format!(
        "global: {{location: {LOCATION}, interval: 1s, timeout: 1s, step_timeout: 1s}}\n\
         services:\n  - name: {SERVICE}\n    display_name: {{ja: ショップ, en: Shop}}\n    transactions:\n\
         \x20     - name: home\n        steps:\n          - {{name: get, url: 'http://{target}/'}}\n\
         alerting:\n  locations: [{LOCATION}]\n  job: mimamori\n  runbook_url: https://runbooks.example/{{service}}/{{slo}}\n  grafana_url: https://grafana.example\n\
         {maintenance}"
    )
}

/// A static /metrics of a prober of another version (and its results): a hyper server.
fn old_version_prober() -> String {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;
    let body = format!(
        "# TYPE mimamori_build_info gauge\nmimamori_build_info{{rustc=\"1.70.0\",version=\"0.0.1-old\"}} 1\n\
         # TYPE mimamori_probe_success gauge\nmimamori_probe_success{{location=\"{LOCATION}\",service=\"{SERVICE}\",transaction=\"home\"}} 1\n\
         # TYPE mimamori_maintenance_active gauge\nmimamori_maintenance_active{{location=\"{LOCATION}\",service=\"{SERVICE}\"}} 0\n"
    );
    crate::common::server::serve("127.0.0.1:0", move |s| {
        let body = body.clone();
        async move {
            let service = hyper::service::service_fn(move |_req| {
                let body = body.clone();
                async move {
                    hyper::Response::builder()
                        .header("content-type", "text/plain; version=0.0.4")
                        .body(Full::new(Bytes::from(body)))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(s), service)
                .await;
        }
    })
    .to_string()
}

/// One way to set Prometheus up, and what the doctor must say about it.
struct Scenario {
    name: &'static str,
    scrape_interval: &'static str,
    /// Rule files (`None`: no `rule_files`).
    rules: Option<PathBuf>,
    /// `(target, extra target labels)` of the probers' job.
    targets: Vec<(String, &'static str)>,
    /// `Some(address)`: an Alertmanager; `None`: no `alerting:` section.
    alertmanager: Option<String>,
    retention: &'static str,
    /// The configuration the doctor is given (the probers always run `config.yaml`).
    doctor_config: PathBuf,
    /// Every check that is not OK: `(id, status, part of finding_en)`.
    expect: Vec<(&'static str, &'static str, String)>,
    exit_code: i32,
}

/// The doctor's JSON and table output and exit code.
fn doctor(cfg: &Path, prom: &str) -> (serde_json::Value, String, i32) {
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_mimamori"))
            .args(["doctor", "--config"])
            .arg(cfg)
            .args(["--prometheus.url", &format!("http://{prom}")])
            .args(["--prometheus.timeout", "5s", "--format", format])
            .output()
            .unwrap()
    };
    let json = run("json");
    let table = run("table");
    let v = serde_json::from_slice(&json.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor JSON: {e}: {}{}",
            String::from_utf8_lossy(&json.stdout),
            String::from_utf8_lossy(&json.stderr)
        )
    });
    (
        v,
        String::from_utf8_lossy(&table.stdout).into_owned(),
        json.status.code().unwrap_or(-1),
    )
}

/// Whether the findings are exactly the expected ones (and none other is not OK).
fn settled(v: &serde_json::Value, s: &Scenario) -> Result<(), String> {
    let checks = v["checks"].as_array().cloned().unwrap_or_default();
    for c in &checks {
        if c["status"] == "ok" {
            continue;
        }
        let matched = s.expect.iter().any(|(id, status, part)| {
            c["id"] == *id
                && c["status"] == *status
                && c["finding_en"]
                    .as_str()
                    .unwrap_or("")
                    .contains(part.as_str())
        });
        if !matched {
            return Err(format!("unexpected: {c}"));
        }
    }
    for (id, status, part) in &s.expect {
        let found = checks.iter().any(|c| {
            c["id"] == *id
                && c["status"] == *status
                && c["finding_en"]
                    .as_str()
                    .unwrap_or("")
                    .contains(part.as_str())
        });
        if !found {
            return Err(format!("missing: {id} {status} '{part}'"));
        }
    }
    Ok(())
}

fn run_scenario(dir: &Path, s: &Scenario) -> Duration {
    let t0 = Instant::now();
    let d = dir.join(s.name);
    std::fs::create_dir_all(&d).unwrap();
    let mut yml = format!(
        "global:\n  scrape_interval: {0}\n  scrape_timeout: 1s\n  evaluation_interval: 15s\n",
        s.scrape_interval
    );
    if let Some(rules) = &s.rules {
        yml.push_str(&format!("rule_files: ['{}/*.yml']\n", rules.display()));
    }
    if let Some(am) = &s.alertmanager {
        yml.push_str(&format!(
            "alerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{am}']}}]\n"
        ));
    }
    yml.push_str("scrape_configs:\n  - job_name: mimamori\n    static_configs:\n");
    for (target, labels) in &s.targets {
        yml.push_str(&format!(
            "      - {{targets: ['{target}'], labels: {{{labels}}}}}\n"
        ));
    }
    std::fs::write(d.join("prometheus.yml"), yml).unwrap();
    let storage = format!("--storage.tsdb.path={}", d.join("data").display());
    let retention = format!("--storage.tsdb.retention.time={}", s.retention);
    let (_prom, addr) = start_prometheus(
        &d,
        "prometheus",
        &d.join("prometheus.yml"),
        &[&storage, &retention],
    );
    // Polled once a second, not with `common::wait_until`'s 250 ms: each poll runs the
    // doctor twice, in eleven scenarios at once, on a small machine.
    let limit = Duration::from_secs(60);
    loop {
        let (v, table, code) = doctor(&s.doctor_config, &addr);
        match settled(&v, s) {
            Ok(()) => {
                eprintln!(
                    "--- {} (settled after {:?}, exit {code})\n{table}",
                    s.name,
                    t0.elapsed()
                );
                assert_eq!(code, s.exit_code, "{}: exit code\n{table}", s.name);
                assert_eq!(v["exit_code"], s.exit_code, "{}", s.name);
                return t0.elapsed();
            }
            Err(why) if t0.elapsed() > limit => {
                panic!("{}: not settled within {limit:?}: {why}\n{table}", s.name)
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

#[test]
fn doctor_finds_each_misconfiguration() {
    let prometheus_there = tools::tool("prometheus").is_some();
    if !prometheus_there || tools::one_of(&["prometheus-alertmanager", "alertmanager"]).is_none() {
        return;
    }
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = crate::common::stack::switchable_ok_server(std::sync::Arc::new(true.into()));

    let cfg = d.join("config.yaml");
    std::fs::write(&cfg, config(&target, "")).unwrap();
    // The doctor's copy has a maintenance window in force now that the probers never heard of.
    let now = mimamori::clock::now();
    let rfc =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let newer = d.join("newer.yaml");
    std::fs::write(
        &newer,
        config(
            &target,
            &format!(
                "maintenance:\n  - services: [{SERVICE}]\n    start: '{}'\n    end: '{}'\n    announced_at: '{}'\n    announced_via: test\n",
                rfc(now - chrono::Duration::hours(1)),
                rfc(now + chrono::Duration::hours(1)),
                rfc(now - chrono::Duration::days(400)),
            ),
        ),
    )
    .unwrap();

    // The rules as generated, and a copy whose groups run every 2 s.
    let generated = d.join("generated");
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&generated)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let fast = d.join("fast");
    generate_fast_rules(&cfg, &fast, false);

    // The prober, Alertmanager, an old-version "prober" and a dead one.
    let prober_addr = format!("127.0.0.1:{}", free_port());
    let _prober = Proc(
        Command::new(env!("CARGO_BIN_EXE_mimamori"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .args(["--web.listen-address", &prober_addr])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(d.join("prober.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    std::fs::write(
        d.join("am.yml"),
        "route: {receiver: nobody}\nreceivers: [{name: nobody}]\n",
    )
    .unwrap();
    let (_am, am_addr) = start_alertmanager(d, &d.join("am.yml"));
    let old = old_version_prober();
    let dead = format!("127.0.0.1:{}", free_port());
    let nowhere = format!("127.0.0.1:{}", free_port());

    let rules = Some(generated.join("rules"));
    let right = || Scenario {
        name: "right",
        scrape_interval: "1s",
        rules: rules.clone(),
        targets: vec![(prober_addr.clone(), "")],
        alertmanager: Some(am_addr.clone()),
        retention: "100d",
        doctor_config: cfg.clone(),
        expect: Vec::new(),
        exit_code: 0,
    };
    let scenarios = vec![
        right(),
        Scenario {
            name: "rules-not-loaded",
            rules: None,
            expect: vec![("rules", "problem", "0 of 5 rule groups loaded; missing: mimamori-shop, mimamori-shop-long".into())],
            exit_code: 1,
            ..right()
        },
        Scenario {
            name: "rules-edited-interval",
            rules: Some(fast.join("rules")),
            expect: vec![("rules", "problem", "mimamori-shop every 2s (generated 15s)".into())],
            exit_code: 1,
            ..right()
        },
        Scenario {
            name: "slow-scrape",
            scrape_interval: "4s",
            expect: vec![("scrape", "warn", format!("location {LOCATION}: scraped every 4s, probed every 1s"))],
            exit_code: 0,
            ..right()
        },
        Scenario {
            name: "location-target-label",
            targets: vec![(prober_addr.clone(), "location: tokyo")],
            expect: vec![
                ("exported_location", "problem", format!("the exporter's location=\"{LOCATION}\" arrives as exported_location, replaced by location=\"tokyo\"")),
                ("locations", "problem", format!("1 of 1 configured locations report no mimamori_probe_success: {LOCATION}")),
                ("locations", "warn", "locations not in alerting.locations report: tokyo".into()),
            ],
            exit_code: 1,
            ..right()
        },
        Scenario {
            name: "prober-down",
            targets: vec![(prober_addr.clone(), ""), (dead.clone(), "")],
            expect: vec![("up", "problem", format!("1 of 2 probers are down (up == 0): mimamori/{dead}"))],
            exit_code: 1,
            ..right()
        },
        Scenario {
            name: "two-versions",
            targets: vec![(prober_addr.clone(), ""), (old.clone(), "")],
            expect: vec![("versions", "warn", format!("0.0.1-old: mimamori/{old}; {}: mimamori/{prober_addr}", env!("CARGO_PKG_VERSION")))],
            exit_code: 0,
            ..right()
        },
        Scenario {
            name: "no-alertmanager",
            alertmanager: None,
            expect: vec![("alertmanager", "problem", "Prometheus has discovered no Alertmanager: alerts go nowhere".into())],
            exit_code: 1,
            ..right()
        },
        Scenario {
            name: "alertmanager-unreachable",
            alertmanager: Some(nowhere.clone()),
            expect: vec![("alertmanager", "problem", format!("cannot reach Alertmanager http://{nowhere}: connection failed"))],
            exit_code: 1,
            ..right()
        },
        Scenario {
            name: "short-retention",
            retention: "7d",
            expect: vec![("retention", "problem", "TSDB retention 1w (7 days) is too short for report".into())],
            exit_code: 1,
            ..right()
        },
        Scenario {
            name: "maintenance-not-reloaded",
            doctor_config: newer.clone(),
            expect: vec![("maintenance", "problem", format!("{SERVICE}: the configuration has a maintenance window now"))],
            exit_code: 1,
            ..right()
        },
    ];
    let took: Vec<(&str, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|s| (s.name, scope.spawn(move || run_scenario(d, s))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| {
                (
                    name,
                    h.join()
                        .unwrap_or_else(|_| panic!("scenario {name} failed")),
                )
            })
            .collect()
    });
    eprintln!("scenarios settled: {took:?}; total {:?}", t0.elapsed());

    // Prometheus unreachable: cannot tell.
    let (v, table, code) = doctor(&cfg, &nowhere);
    eprintln!("--- unreachable (exit {code})\n{table}");
    assert_eq!(code, 2, "{table}");
    assert_eq!(v["checks"][0]["id"], "prometheus");
    assert_eq!(v["checks"][0]["status"], "unknown");
}
