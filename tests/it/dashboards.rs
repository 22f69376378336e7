//! The generated Grafana dashboards: valid JSON, snapshot-tested, equal to the
//! committed `dashboards/`, of the type `@grafana/schema` gives a dashboard
//! (checked by `tsc`, see `tests/grafana-schema/`), every query valid PromQL
//! by the real `promtool` and answered by a live Prometheus that scrapes
//! `mimamori demo` with the committed rules loaded.
//!
//! Update the committed files and snapshots with
//! `MIMAMORI_BLESS=1 cargo test --test it dashboards::` and `cargo insta review`
//! (or `INSTA_UPDATE=always`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mimamori::generate::grafana;
use mimamori::slo::plan;
use serde_json::Value;

use crate::common::dashboards::*;
use crate::common::tools::{npm_folder, tool};

/// The shipped config changed so that no two services share their numbers:
/// the queries take their per-service forms.
fn uneven() -> Vec<(String, String)> {
    let mut cfg = aoulu();
    cfg.services[1].objectives.availability = 99.9;
    cfg.services[1].objectives.latency.threshold =
        mimamori::config::Dur(Duration::from_millis(2500));
    let mut plans = plan::plans(&cfg);
    for (i, p) in plans.iter_mut().enumerate() {
        p.alerts = vec![plan::BurnAlert {
            name: "MimamoriAvailabilityFastBurn".into(),
            slo: plan::Slo::Availability,
            severity: plan::Severity::Page,
            long: plan::W1H,
            short: plan::W5M,
            burn: 14.4 * (i + 1) as f64,
        }];
    }
    grafana::dashboards_with(&cfg, &plans)
}

/// Runs `promtool check rules` on the queries wrapped as recording rules.
fn promtool_check(promtool: &Path, queries: &[Query]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard-queries.yaml");
    let rules: Vec<Value> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| serde_json::json!({"record": format!("dashboard_query_{i}"), "expr": q.expr}))
        .collect();
    let doc = serde_json::json!({"groups": [{"name": "dashboard-queries", "rules": rules}]});
    // JSON is YAML, and keeps every query on one line for promtool's messages.
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = Command::new(promtool)
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", promtool.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let index = regex::Regex::new(r"dashboard_query_(\d+)").unwrap();
    let mut msg = format!(
        "promtool check rules failed:\n{stderr}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for c in index.captures_iter(&stderr) {
        let q = &queries[c[1].parse::<usize>().unwrap()];
        msg.push_str(&format!("\n  {}: {}", q.place, q.expr));
    }
    Err(msg)
}

#[test]
fn dashboards_are_valid_json_and_match_the_snapshots() {
    for (path, text) in generated() {
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            v["panels"].as_array().is_some_and(|p| !p.is_empty()),
            "{path}: no panels"
        );
        let name = Path::new(&path)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn committed_dashboards_match_the_shipped_config() {
    let bless = std::env::var_os("MIMAMORI_BLESS").is_some();
    for (path, text) in generated() {
        let file = root().join(&path);
        if bless {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            committed == text,
            "{path} differs from what deploy/aoulu.yaml generates; run `MIMAMORI_BLESS=1 cargo test --test it dashboards::` (or `mimamori generate`)"
        );
    }
}

#[test]
fn every_query_is_valid_promql_by_promtool() {
    let queries = all_queries();
    assert!(queries.len() > 40, "found only {} queries", queries.len());
    for q in &queries {
        assert!(
            !q.expr.contains('$'),
            "{}: unsubstituted variable in {}",
            q.place,
            q.expr
        );
    }
    let Some(promtool) = tool("promtool") else {
        return;
    };
    if let Err(e) = promtool_check(&promtool, &queries) {
        panic!("{e}");
    }
}

#[test]
fn per_service_forms_are_valid_promql_by_promtool() {
    let queries = queries_of(&uneven());
    let service = queries
        .iter()
        .map(|q| q.expr.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        service.contains(r#"le=~"2\\.5""#),
        "the 2.5 s bucket is read"
    );
    assert!(
        service.contains("vector(28.8)"),
        "the per-service threshold series is drawn"
    );
    let Some(promtool) = tool("promtool") else {
        return;
    };
    if let Err(e) = promtool_check(&promtool, &queries) {
        panic!("{e}");
    }
}

#[test]
fn every_query_parses_with_the_rust_promql_parser() {
    for q in all_queries().into_iter().chain(queries_of(&uneven())) {
        if let Err(e) = promql_parser::parser::parse(&q.expr) {
            panic!("{}: {e}\n  {}", q.place, q.expr);
        }
    }
}

#[test]
fn the_promtool_check_catches_a_broken_query() {
    let broken = Query {
        place: "test / broken".into(),
        panel: String::new(),
        expr: "sum(rate(mimamori_probe_success[5m])".into(),
    };
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let err = promtool_check(&promtool, &[broken]).expect_err("an unclosed paren must fail");
    assert!(err.contains("promtool check rules failed"), "{err}");
}

#[test]
fn every_variable_used_is_defined_on_its_dashboard() {
    let builtin = [
        "__range",
        "__range_s",
        "__range_ms",
        "__rate_interval",
        "__interval",
        "__interval_ms",
        "__from",
        "__to",
        "__url_time_range",
    ];
    let var = regex::Regex::new(r"\$(?:\{(\w+)(?::[^}]*)?\}|(\w+))").unwrap();
    for (path, text) in generated().into_iter().chain(uneven()) {
        let d: Value = serde_json::from_str(&text).unwrap();
        let defined: Vec<&str> = d["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        for c in var.captures_iter(&text) {
            let name = c.get(1).or_else(|| c.get(2)).unwrap().as_str();
            assert!(
                defined.contains(&name) || builtin.contains(&name),
                "{path}: ${name} is used but not defined"
            );
        }
    }
}

#[test]
fn variables_are_substituted_like_grafana_does() {
    assert_eq!(
        substitute(
            "x{service=\"$service\",location=~\"${location}\"}[$__range] / $__interval_ms",
            "t"
        ),
        "x{service=\"hanbai\",location=~\".+\"}[1h] / 60000"
    );
}

// ---------------------------------------------------------------------------
// Grafana's schema
// ---------------------------------------------------------------------------

/// How the schema check ended.
enum Schema {
    Pass(String),
    Fail(String),
}

/// Type-checks `dashboards` against `@grafana/schema` with `tsc`
/// (`tests/grafana-schema/check.mjs`); `None` when `node` or the folder's
/// `node_modules` is missing (see `common::tools`). Panics when the check
/// cannot run for another reason.
fn schema_check(dashboards: &[(String, String)]) -> Option<Schema> {
    let (node, folder) = npm_folder("grafana-schema")?;
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in dashboards {
        let name = Path::new(path).file_name().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = Command::new(&node)
        .arg(folder.join("check.mjs"))
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", node.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Some(Schema::Pass(text)),
        Some(1) => Some(Schema::Fail(text)),
        _ => panic!("the schema check could not run (scripts/test.sh installs it):\n{text}"),
    }
}

#[test]
fn every_dashboard_passes_the_grafana_schema() {
    let mut all = generated();
    all.extend(
        uneven()
            .into_iter()
            .map(|(path, text)| (path.replace("dashboards/", "dashboards/uneven-"), text)),
    );
    match schema_check(&all) {
        None => {}
        Some(Schema::Pass(out)) => assert!(out.contains("6 dashboards pass"), "{out}"),
        Some(Schema::Fail(out)) => panic!("dashboards fail @grafana/schema (tsc):\n{out}"),
    }
}

/// The check is not a formality: a misspelt key, a mode Grafana does not
/// know, a query field typo and a panel type that does not exist all fail.
#[test]
fn the_schema_check_catches_a_misspelt_key() {
    let (path, text) = generated().remove(0);
    let mut d: Value = serde_json::from_str(&text).unwrap();
    let panels = d["panels"].as_array_mut().unwrap();
    let stat = panels.iter_mut().find(|p| p["type"] == "stat").unwrap();
    let defaults = stat["fieldConfig"]["defaults"].as_object_mut().unwrap();
    let decimals = defaults.remove("decimals").unwrap();
    defaults.insert("decimal".into(), decimals);
    stat["options"]["colorMode"] = "backgrond".into();
    let target = stat["targets"][0].as_object_mut().unwrap();
    let legend = target.remove("legendFormat").unwrap();
    target.insert("legendFromat".into(), legend);
    let broken = vec![(
        path.replace("dashboards/", "dashboards/broken-"),
        serde_json::to_string_pretty(&d).unwrap(),
    )];
    match schema_check(&broken) {
        None => {}
        Some(Schema::Pass(out)) => panic!("a broken dashboard passed the schema check:\n{out}"),
        Some(Schema::Fail(out)) => {
            for wrong in [
                "'\"decimal\"' does not exist",
                "'\"backgrond\"'",
                "'\"legendFromat\"'",
            ] {
                assert!(out.contains(wrong), "tsc did not flag {wrong}:\n{out}");
            }
            assert!(out.contains("broken-mimamori-slo-overview.json("), "{out}");
        }
    }
}

// ---------------------------------------------------------------------------
// Live Prometheus
// ---------------------------------------------------------------------------

/// Every query against a real Prometheus scraping `mimamori demo` every
/// second, with the committed rules (what deploy/aoulu.yaml generates, as the
/// dashboards) evaluated every second: none may fail, and the core panels
/// must return data once the rules have run. A query Prometheus refuses fails
/// at once; a core panel that stays empty fails after two minutes.
#[test]
fn every_query_runs_against_a_live_prometheus() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let demo = crate::common::start_demo(&["--interval", "1s"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rules = d.join("rules");
    std::fs::create_dir(&rules).unwrap();
    let interval = regex::Regex::new(r"(?m)^(\s*)interval: \S+$").unwrap();
    for f in std::fs::read_dir(root().join("rules")).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "yml") {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                interval.is_match(&text),
                "{}: no group interval",
                f.display()
            );
            let fast = interval.replace_all(&text, "${1}interval: 1s");
            std::fs::write(rules.join(f.file_name().unwrap()), fast.as_ref()).unwrap();
        }
    }
    let config = d.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{}/*.yml']\n\
             scrape_configs:\n  - job_name: mimamori\n    static_configs: [{{targets: ['{}']}}]\n",
            rules.display(),
            demo.addr
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", crate::common::prometheus::free_port());
    let _prometheus = crate::common::prometheus::Prometheus::adopt(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", d.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(d.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus starts"),
    );
    let url = format!("http://{addr}");
    crate::common::wait_until(Duration::from_secs(60), "Prometheus ready", || {
        crate::common::prometheus::http_status(&addr, "/-/ready") == Some(200)
    });
    let log = |d: &Path| std::fs::read_to_string(d.join("prometheus.log")).unwrap_or_default();
    // The core panels' queries until they have data (the month's budget
    // samples its minutes at whole minutes: up to a minute), then all.
    let core: Vec<Query> = all_queries().into_iter().filter(is_core).collect();
    assert!(core.len() > 20, "{} core queries", core.len());
    crate::common::wait_until(
        Duration::from_secs(120),
        "every core panel to have data",
        || {
            let LiveResults { failed, empty } = live_results(&url, &core);
            assert!(
                failed.is_empty(),
                "queries failed:\n{}\nPrometheus log:\n{}",
                failed.join("\n"),
                log(d)
            );
            if empty.is_empty() {
                Ok(())
            } else {
                Err(format!("core panels without data:\n{}", empty.join("\n")))
            }
        },
    );
    if let Err(e) = live_check(&url) {
        panic!("{e}\nPrometheus log:\n{}", log(d));
    }
}

/// With `backups:` the service dashboard has a row per backup; its queries
/// pass promtool and the dashboards pass @grafana/schema. Without, no row
/// (the snapshots of the shipped config).
#[test]
fn backup_rows_pass_promtool_and_the_schema() {
    let path = root().join("deploy/aoulu-backups.yaml");
    let cfg = mimamori::config::load(&path).unwrap();
    let all = grafana::dashboards(&cfg);
    let (_, service) = all
        .iter()
        .find(|(p, _)| p.ends_with("mimamori-service.json"))
        .unwrap();
    let rows = service.matches("バックアップ / Backup: ").count();
    assert_eq!(rows, cfg.backups.len(), "{service}");
    assert!(service.contains(r#"backup=\"mail-store\""#));
    let queries = queries_of(&all);
    assert!(queries.iter().any(|q| q.expr.contains("mimamori_backup_")));
    if let Some(promtool) = tool("promtool") {
        promtool_check(&promtool, &queries).unwrap();
    }
    match schema_check(&all) {
        None => {}
        Some(Schema::Pass(out)) => assert!(out.contains("3 dashboards pass"), "{out}"),
        Some(Schema::Fail(out)) => panic!("dashboards fail @grafana/schema (tsc):\n{out}"),
    }
    let (_, plain) = generated()
        .into_iter()
        .find(|(p, _)| p.ends_with("mimamori-service.json"))
        .unwrap();
    assert!(!plain.contains("mimamori_backup_"));
}

/// The runs the probers dashboard counts per location: a one-step
/// transaction has no run histogram (its step's stands in, see
/// `promql::per_run`), a multi-step one's steps must not be counted on top
/// of its runs. Evaluated by the real `promtool test rules` over 15 s samples.
#[test]
fn runs_count_one_step_and_multi_step_transactions_once() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let sel = mimamori::promql::Selector::new();
    let ok = sel.clone().eq("result", "success");
    let runs = |s: &mimamori::promql::Selector| {
        format!(
            "sum by (location) ({})",
            mimamori::promql::per_run("increase", "_count", s, "5m")
        )
    };
    // One run every 15 s each; the two-step transaction fails every other run
    // (at its second step), and its steps' series must not add to its runs.
    let series = |name: &str, labels: &str, values: &str| {
        format!("      - series: '{name}{{location=\"x\",service=\"s\",{labels}}}'\n        values: '{values}'\n")
    };
    let step = "mimamori_step_duration_seconds_count";
    let run = "mimamori_probe_duration_seconds_count";
    let input = [
        series(
            step,
            "transaction=\"one\",step=\"get\",result=\"success\"",
            "0+1x40",
        ),
        series(
            step,
            "transaction=\"one\",step=\"get\",result=\"failure\"",
            "0+0x40",
        ),
        series(run, "transaction=\"two\",result=\"success\"", "0+0.5x40"),
        series(run, "transaction=\"two\",result=\"failure\"", "0+0.5x40"),
        series(
            step,
            "transaction=\"two\",step=\"login\",result=\"success\"",
            "0+1x40",
        ),
        series(
            step,
            "transaction=\"two\",step=\"login\",result=\"failure\"",
            "0+0x40",
        ),
        series(
            step,
            "transaction=\"two\",step=\"buy\",result=\"success\"",
            "0+0.5x40",
        ),
        series(
            step,
            "transaction=\"two\",step=\"buy\",result=\"failure\"",
            "0+0.5x40",
        ),
    ]
    .concat();
    let test = format!(
        "rule_files: []\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n{input}    promql_expr_test:\n\
         \x20     - expr: '{}'\n        eval_time: 10m\n        exp_samples: [{{labels: '{{location=\"x\"}}', value: 40}}]\n\
         \x20     - expr: '{}'\n        eval_time: 10m\n        exp_samples: [{{labels: '{{location=\"x\"}}', value: 30}}]\n",
        runs(&sel),
        runs(&ok)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("runs.yaml"), &test).unwrap();
    let out = Command::new(promtool)
        .current_dir(dir.path())
        .args(["test", "rules", "runs.yaml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}\n{test}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
