//! What can be checked of deploy/ without a container engine or systemd:
//! every file parses, every file it refers to exists, and the real promtool and
//! amtool accept the Prometheus and Alertmanager configurations.

use std::path::Path;
use std::process::Command;

use crate::common::tools::tool;

fn yaml(path: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn tool_ok(tool: &Path, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?}:\n{}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prometheus_and_alertmanager_configs_pass_their_checkers() {
    let (Some(promtool), Some(amtool)) = (tool("promtool"), tool("amtool")) else {
        return;
    };
    tool_ok(
        &promtool,
        &["check", "config", "deploy/prometheus/prometheus.yml"],
    );
    tool_ok(
        &amtool,
        &["check-config", "deploy/alertmanager/alertmanager.yml"],
    );
    // The rules the compose file mounts are the generated ones.
    let rules: Vec<String> = std::fs::read_dir("rules")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".yml"))
        .collect();
    assert!(rules.len() >= 3, "{rules:?}");
    let mut args = vec!["check", "rules"];
    args.extend(rules.iter().map(String::as_str));
    tool_ok(&promtool, &args);
}

#[test]
fn compose_file_parses_and_refers_to_files_that_exist() {
    let compose = yaml("deploy/docker-compose.yml");
    let services = compose["services"].as_mapping().unwrap();
    for name in ["mimamori", "prometheus", "alertmanager", "grafana"] {
        assert!(services.contains_key(name), "service {name} missing");
    }
    // Every bind mount's source exists (relative to deploy/).
    for (name, svc) in services {
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let src = v.as_str().unwrap().split(':').next().unwrap();
            let p = Path::new("deploy").join(src);
            let optional_secret = src.ends_with("secrets");
            assert!(
                p.exists() || optional_secret,
                "{name:?}: {src} does not exist"
            );
        }
    }
    assert!(Path::new("deploy/Dockerfile").exists());
    // The scrape job matches what the prober alerts look for.
    let prom = yaml("deploy/prometheus/prometheus.yml");
    assert_eq!(prom["scrape_configs"][0]["job_name"], "mimamori");
    let dashboards = yaml("deploy/grafana/provisioning/dashboards/mimamori.yml");
    assert_eq!(
        dashboards["providers"][0]["options"]["path"],
        "/var/lib/grafana/dashboards/mimamori"
    );
    yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
}

#[test]
fn systemd_unit_runs_serve_with_the_shipped_config() {
    let unit = std::fs::read_to_string("deploy/systemd/mimamori.service").unwrap();
    let exec = unit
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .expect("ExecStart");
    assert!(
        exec.contains(" serve --config /etc/mimamori/aoulu.yaml"),
        "{exec}"
    );
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    for section in ["[Unit]", "[Service]", "[Install]"] {
        assert!(unit.contains(section));
    }
    // Hardened by default; the browser drop-in lifts only what Chromium needs.
    assert!(unit.contains("\nMemoryDenyWriteExecute=yes\n"));
    let dropin = std::fs::read_to_string("deploy/systemd/browser.conf").unwrap();
    let settings: Vec<&str> = dropin
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(settings, ["[Service]", "MemoryDenyWriteExecute=no"]);
}

#[test]
fn local_stack_script_says_what_to_install_when_tools_are_missing() {
    // A PATH with the shell and coreutils the script needs, and nothing else.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["bash", "dirname"] {
        let real = ["/bin", "/usr/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(real, bin.path().join(tool)).unwrap();
    }
    let out = Command::new("/bin/bash")
        .arg("deploy/local/stack.sh")
        .env("PATH", bin.path())
        .output()
        .unwrap();
    // Without the tools on PATH it exits 69 (EX_UNAVAILABLE) naming the packages.
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(69), "{err}");
    assert!(
        err.contains("apt-get install -y prometheus prometheus-alertmanager"),
        "{err}"
    );
}

#[test]
fn remote_write_agent_and_central_configs_pass_promtool() {
    // The agent config in agent mode (promtool refuses rules or alerting there),
    // the central one as a normal Prometheus.
    let Some(promtool) = tool("promtool") else {
        return;
    };
    tool_ok(
        &promtool,
        &[
            "check",
            "config",
            "--agent",
            "deploy/remote-write/agent.yml",
        ],
    );
    tool_ok(
        &promtool,
        &["check", "config", "deploy/remote-write/central.yml"],
    );
}

#[test]
fn remote_write_agent_keeps_the_probers_labels_and_the_central_scrapes_no_prober() {
    let agent = yaml("deploy/remote-write/agent.yml");
    let jobs = agent["scrape_configs"].as_sequence().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    // The prober-health alerts look for up{job="mimamori"}.
    assert_eq!(job["job_name"], "mimamori");
    assert_eq!(job["honor_labels"], true);
    // No `location` target label, which would rename the prober's to exported_location.
    for sc in job["static_configs"].as_sequence().unwrap() {
        assert!(sc["labels"]["location"].is_null(), "{sc:?}");
    }
    assert!(job["relabel_configs"].is_null() && job["metric_relabel_configs"].is_null());
    assert!(!agent["global"]["external_labels"]["location"].is_null());
    let rw = agent["remote_write"].as_sequence().unwrap();
    assert_eq!(rw.len(), 1);
    assert!(rw[0]["url"].as_str().unwrap().ends_with("/api/v1/write"));
    assert!(rw[0]["write_relabel_configs"].is_null());
    // The commented alternatives are there for people to uncomment.
    let text = std::fs::read_to_string("deploy/remote-write/agent.yml").unwrap();
    for alt in [
        "/api/v1/receive",
        "X-Scope-OrgID",
        "/api/prom/push",
        "password_file",
    ] {
        assert!(text.contains(alt), "agent.yml shows {alt}");
    }

    let central = yaml("deploy/remote-write/central.yml");
    assert!(
        central["scrape_configs"]
            .as_sequence()
            .unwrap()
            .iter()
            .all(|j| j["job_name"] != "mimamori"),
        "the central Prometheus must not scrape the probers a second time"
    );
    assert_eq!(
        central["rule_files"],
        yaml("deploy/prometheus/prometheus.yml")["rule_files"],
        "the same generated rules as the scraping layout"
    );
    assert!(!central["alerting"]["alertmanagers"].is_null());
    let readme = std::fs::read_to_string("deploy/remote-write/README.md").unwrap();
    for flag in [
        "--enable-feature=agent",
        "--web.enable-remote-write-receiver",
        "--storage.agent.path",
    ] {
        assert!(readme.contains(flag), "README says how to run: {flag}");
    }
}
