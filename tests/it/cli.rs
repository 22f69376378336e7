//! The command line as people use it.

use std::process::Command;

fn mimamori(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mimamori"));
    c.args(args)
        .env_remove("HANBAI_PASSWORD")
        .env_remove("DENSHIBIN_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_prints_what_would_be_probed_without_secrets() {
    let env = [
        ("HANBAI_PASSWORD", "pw-hanbai-xyz"),
        ("DENSHIBIN_PASSWORD", "pw-denshibin-xyz"),
    ];
    let (code, out, err) = mimamori(&["check", "--config", "deploy/aoulu.yaml"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("service hanbai (AOULU 販売 / AOULU Sales): availability 99.99%, latency 99% of operations within 3s"), "{out}");
    assert!(
        out.contains("step login: POST https://hanbai.aoulu.example/api/login"),
        "{out}"
    );
    assert!(
        out.contains("maintenance 2027-05-09T01:00:00+09:00"),
        "{out}"
    );
    assert!(!out.contains("pw-hanbai-xyz") && !err.contains("pw-hanbai-xyz"));
}

#[test]
fn missing_secret_and_bad_config_exit_64_with_a_place() {
    let (code, _, err) = mimamori(
        &["check", "--config", "deploy/aoulu.yaml"],
        &[("DENSHIBIN_PASSWORD", "x")],
    );
    assert_eq!(code, 64);
    assert!(err.contains("deploy/aoulu.yaml:22:3: secrets.hanbai_password: secret 'hanbai_password': environment variable HANBAI_PASSWORD is not set"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "services:\n  - name: x\n    display_name: {ja: a, en: b}\n    transactions: []\n    colour: red\n").unwrap();
    let (code, _, err) = mimamori(&["check", "--config", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 64);
    assert!(
        err.contains("bad.yaml:5:5: services[0]: unknown field `colour`"),
        "{err}"
    );
}

#[test]
fn probe_reports_a_failure_as_data() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let (code, out, _) = mimamori(
        &["probe", "--json", &format!("http://127.0.0.1:{port}/")],
        &[],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reason"], "connect");
    assert_eq!(v["steps"][0]["phases"].as_object().unwrap().len(), 5);
}

/// `check --shard` lists the shard's transactions only; a bad shard is a usage error.
#[test]
fn check_shows_a_shards_transactions() {
    use mimamori::config::Shard;
    let env = [
        ("HANBAI_PASSWORD", "pw-hanbai-xyz"),
        ("DENSHIBIN_PASSWORD", "pw-denshibin-xyz"),
    ];
    let all = [
        ("hanbai", "order-lookup"),
        ("denshibin", "receive-document"),
    ];
    let mut seen = Vec::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let (code, out, err) = mimamori(
            &["check", "--config", "deploy/aoulu.yaml", "--shard", &shard],
            &env,
        );
        assert_eq!(code, 0, "{err}");
        let mine: Vec<_> = all
            .iter()
            .filter(|(s, t)| Shard::of(s, t, 2) == i)
            .collect();
        assert!(
            out.contains(&format!(
                "OK, location 'tokyo-a', shard {shard}: {} of 2 transactions",
                mine.len()
            )),
            "{out}"
        );
        for (s, t) in all {
            let listed = out.contains(&format!("  transaction {t} every"));
            assert_eq!(listed, mine.contains(&&(s, t)), "{shard} {t}\n{out}");
            if listed {
                seen.push(t);
            }
        }
    }
    seen.sort();
    assert_eq!(seen, ["order-lookup", "receive-document"]);
    let (code, _, err) = mimamori(
        &["check", "--config", "deploy/aoulu.yaml", "--shard", "2/2"],
        &env,
    );
    assert_eq!(code, 64);
    assert!(
        err.contains("invalid value '2/2' for '--shard <INDEX/COUNT>': shard index 2 is out of range for 2 shards (indexes are 0-based: 0 to 1)"),
        "{err}"
    );
}
