//! The dashboards' own invariants: stable paths and ids, no overlapping
//! panels, numbers that follow the configuration.

use serde_json::{json, Value};

use super::*;
fn aoulu() -> Config {
    crate::config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/aoulu.yaml"
    )))
    .expect("the shipped config loads")
}

fn parsed(cfg: &Config) -> Vec<Value> {
    dashboards(cfg)
        .iter()
        .map(|(_, s)| serde_json::from_str(s).unwrap())
        .collect()
}

#[test]
fn the_month_budget_matches_the_seed() {
    let p = &plan::plans(&aoulu())[0];
    assert!((p.budget_seconds(30) - 259.2).abs() < 1e-9, "4.32 min");
    assert!(human_budget(p.budget_seconds(30)).contains("(4.32 min)"));
    assert!(human_budget(p.budget_seconds(31)).contains("(4.46 min)"));
    assert!(human_budget(p.budget_seconds(28)).contains("(4.03 min)"));
}

#[test]
fn paths_and_uids_are_stable() {
    let cfg = aoulu();
    let out = dashboards(&cfg);
    let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "dashboards/mimamori-slo-overview.json",
            "dashboards/mimamori-service.json",
            "dashboards/mimamori-probers.json"
        ]
    );
    for ((path, text), d) in out.iter().zip(parsed(&cfg)) {
        assert!(text.ends_with("}\n"));
        assert_eq!(
            path,
            &format!("dashboards/{}.json", d["uid"].as_str().unwrap())
        );
        assert_eq!(d["timezone"], "Asia/Tokyo");
        assert!(d["tags"].as_array().unwrap().contains(&json!("mimamori")));
        assert_eq!(d["templating"]["list"][0]["name"], "datasource");
        assert_eq!(d["templating"]["list"][0]["query"], "prometheus");
    }
    assert_eq!(dashboards(&cfg), out, "same config, same bytes");
}

#[test]
fn panel_ids_are_unique_and_every_panel_uses_the_variable_datasource() {
    for d in parsed(&aoulu()) {
        let mut ids = std::collections::HashSet::new();
        for p in d["panels"].as_array().unwrap() {
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "duplicate id in {}",
                d["uid"]
            );
            let g = &p["gridPos"];
            assert!(g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24);
            for t in p["targets"].as_array().into_iter().flatten() {
                assert_eq!(t["datasource"]["uid"], "${datasource}");
            }
        }
    }
}

#[test]
fn panels_do_not_overlap() {
    for d in parsed(&aoulu()) {
        let rects: Vec<(u64, u64, u64, u64, &str)> = d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let g = &p["gridPos"];
                let n = |k: &str| g[k].as_u64().unwrap();
                (n("x"), n("y"), n("w"), n("h"), p["title"].as_str().unwrap())
            })
            .collect();
        for (i, a) in rects.iter().enumerate() {
            for b in &rects[i + 1..] {
                let apart =
                    a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
                assert!(apart, "{}: '{}' overlaps '{}'", d["uid"], a.4, b.4);
            }
        }
    }
}

#[test]
fn no_location_is_written_into_a_dashboard() {
    let cfg = aoulu();
    assert!(!cfg.alerting.locations.is_empty());
    for (path, text) in dashboards(&cfg) {
        for loc in cfg.alerting.locations.iter().chain([&cfg.global.location]) {
            assert!(!text.contains(loc.as_str()), "{path} names location {loc}");
        }
    }
}

#[test]
fn objective_numbers_follow_the_config() {
    let mut cfg = aoulu();
    cfg.services[0].objectives.availability = 99.9;
    cfg.services[0].objectives.latency.threshold =
        crate::config::Dur(std::time::Duration::from_millis(2500));
    let out = dashboards(&cfg);
    let overview = &out[0].1;
    assert!(overview.contains("objective 99.9 %"));
    assert!(overview.contains("\"value\": 0.999"));
    assert!(overview.contains("0.001 * scalar(days_in_month"));
    assert!(overview.contains(r#"le=~\"2\\\\.5\""#), "{overview}");
    assert!(overview.contains("Share within 2.5 s"));
    // The other service keeps its own numbers.
    assert!(overview.contains("objective 99.99 %"));
    assert!(overview.contains("0.0001 * scalar(days_in_month"));
    // The service dashboard reads each service's own bucket.
    assert!(out[1]
        .1
        .contains("service=\\\"$service\\\",service=\\\"hanbai\\\""));
}

#[test]
fn overview_names_every_service_and_links_its_runbooks() {
    let cfg = aoulu();
    let overview = &dashboards(&cfg)[0].1;
    for s in &cfg.services {
        assert!(overview.contains(&s.display_name.ja));
        assert!(overview.contains(&format!(
            "https://runbooks.aoulu.example/mimamori/{}/availability",
            s.name
        )));
        assert!(overview.contains(&format!("var-service={}", s.name)));
    }
    assert!(overview.contains("\"from\": \"now/M\""));
    assert!(overview.contains("2027-05-09 01:00"));
}

#[test]
fn late_announced_maintenance_is_shown_as_failure_time() {
    let mut cfg = aoulu();
    let mut w = cfg.maintenance[0].clone();
    w.announced_at = w.start - chrono::Duration::days(30);
    cfg.maintenance.push(w);
    let md = overview::maintenance_markdown(&cfg);
    assert_eq!(md.matches("計画停止 / planned").count(), 1);
    assert!(md.contains("an outage counts as failure"));
}
