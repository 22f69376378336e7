//! Every address behind a name, and retries that cannot hide failures:
//! real hyper servers on 127.0.0.1 and 127.0.0.2 (and ::1) at one port,
//! one name leading to them through a hosts file the test writes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mimamori::config;
use mimamori::metrics::Metrics;
use mimamori::probe::plan::{self, TransactionPlan};
use mimamori::probe::{transaction, ProbeContext};

/// How a test server answers its `n`-th request (0-based).
type Answer = Arc<dyn Fn(u64) -> u16 + Send + Sync>;

/// A hyper server on `addr` (port 0: any) answering with the status `answer`
/// gives; returns where it listens.
fn serve(addr: &str, answer: Answer) -> SocketAddr {
    let count = Arc::new(AtomicU64::new(0));
    crate::common::server::serve(addr, move |s| {
        let (answer, count) = (answer.clone(), count.clone());
        let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
            let status = answer(count.fetch_add(1, Ordering::SeqCst));
            async move {
                Ok::<_, Infallible>(
                    Response::builder()
                        .status(status)
                        .body(Full::new(Bytes::from_static(b"ok")))
                        .unwrap(),
                )
            }
        });
        async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(s), service)
                .await;
        }
    })
}

fn always(status: u16) -> Answer {
    Arc::new(move |_| status)
}

/// Servers on each of `ips` at one port, answering as `answers` say.
fn serve_all(ips: &[&str], answers: Vec<Answer>) -> u16 {
    // The first address picks a free port; the others take the same one.
    'again: for _ in 0..20 {
        let first = std::net::TcpListener::bind(format!("{}:0", ips[0])).unwrap();
        let port = first.local_addr().unwrap().port();
        let mut held = vec![first];
        for ip in &ips[1..] {
            match std::net::TcpListener::bind(SocketAddr::new(ip.parse().unwrap(), port)) {
                Ok(l) => held.push(l),
                Err(_) => continue 'again,
            }
        }
        drop(held);
        for (ip, answer) in ips.iter().zip(answers) {
            serve(
                &SocketAddr::new(ip.parse().unwrap(), port).to_string(),
                answer,
            );
        }
        return port;
    }
    panic!("no port free on every address");
}

/// A one-transaction plan for `http://shop.test:PORT/` (through a variable,
/// as configurations write URLs), the name resolved by a hosts file listing
/// `hosts`, with `options` added to the transaction.
fn plan_for(
    dir: &tempfile::TempDir,
    hosts: &str,
    port: u16,
    options: &str,
) -> Arc<TransactionPlan> {
    let file = dir.path().join("hosts");
    std::fs::write(&file, hosts).unwrap();
    let src = format!(
        "global: {{location: test, interval: 1m, timeout: 5s, step_timeout: 2s, hosts_file: '{}'}}\n\
         services:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: tx\n{options}        variables: {{base: 'http://shop.test:{port}'}}\n        steps:\n          - {{name: get, url: '${{base}}/'}}\n",
        file.display()
    );
    let cfg = config::parse(&src, "test.yaml").unwrap_or_else(|e| panic!("{e}\n{src}"));
    plan::build(&cfg, "test", &|_| None).unwrap().remove(0)
}

/// The value of the one series of `name` whose labels include all of `labels`.
fn value(exposition: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let found: Vec<f64> = exposition
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|p| l.contains(p)))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().copied()
}

const TWO: &str = "127.0.0.1 shop.test\n127.0.0.2 shop.test\n";

#[tokio::test]
async fn every_address_has_its_series_and_a_broken_one_fails_the_run() {
    let port = serve_all(&["127.0.0.1", "127.0.0.2"], vec![always(200), always(503)]);
    let dir = tempfile::tempdir().unwrap();
    let ctx = ProbeContext::default();
    let metrics = Metrics::new(&config::DEFAULT_BUCKETS);

    let any = plan_for(&dir, TWO, port, "        resolve: all\n");
    let mut tx = metrics.transaction(&any);
    let outcome = transaction::run(&any, &ctx).await;
    tx.record(&outcome);
    assert_eq!(outcome.addresses.len(), 2);
    assert!(
        !outcome.success,
        "any_address: the broken address fails the run"
    );
    assert!(
        outcome
            .message
            .as_deref()
            .unwrap()
            .starts_with("127.0.0.2: "),
        "{:?}",
        outcome.message
    );
    let text = metrics.render();
    let success = "mimamori_probe_success";
    assert_eq!(value(&text, success, &["ip=\"127.0.0.1\""]), Some(1.0));
    assert_eq!(value(&text, success, &["ip=\"127.0.0.2\""]), Some(0.0));
    // No series without an address: the rules collapse `ip` as configured.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("mimamori_probe_success{"))
            .count(),
        2,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "mimamori_probe_failures_total",
            &["ip=\"127.0.0.2\"", "reason=\"status\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "mimamori_step_duration_seconds_count",
            &["ip=\"127.0.0.1\"", "result=\"success\""]
        ),
        Some(1.0)
    );
    // The one lookup is each address's first step's resolve phase.
    for ip in ["ip=\"127.0.0.1\"", "ip=\"127.0.0.2\""] {
        let resolve = value(
            &text,
            "mimamori_step_phase_seconds",
            &[ip, "phase=\"resolve\""],
        );
        assert!(
            resolve.is_some_and(|r| r > 0.0),
            "{ip}: {resolve:?}\n{text}"
        );
    }
    let (ok, report) = crate::common::promtool_check_metrics(&text);
    assert!(ok, "{report}");

    let all = plan_for(
        &dir,
        TWO,
        port,
        "        resolve: all\n        fail_when: all_addresses\n",
    );
    let outcome = transaction::run(&all, &ctx).await;
    assert!(outcome.success, "all_addresses: one address still answers");
    assert_eq!(outcome.addresses.len(), 2);
    assert!(!outcome.addresses[1].outcome.success);
}

#[tokio::test]
async fn resolve_first_keeps_the_series_without_an_address() {
    let port = serve_all(&["127.0.0.1", "127.0.0.2"], vec![always(200), always(503)]);
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new(&config::DEFAULT_BUCKETS);
    let first = plan_for(&dir, TWO, port, "");
    let mut tx = metrics.transaction(&first);
    let outcome = transaction::run(&first, &ProbeContext::default()).await;
    tx.record(&outcome);
    assert!(outcome.success, "the first address (127.0.0.1) answers");
    assert!(outcome.addresses.is_empty());
    let text = metrics.render();
    assert!(!text.contains("ip=\""), "{text}");
    assert_eq!(
        value(&text, "mimamori_probe_success", &["transaction=\"tx\""]),
        Some(1.0)
    );
    assert!(!text.contains("mimamori_probe_attempts_total"), "{text}");
}

#[tokio::test]
async fn ip_protocol_chooses_the_address_family() {
    let port = serve_all(&["127.0.0.1", "::1"], vec![always(200), always(503)]);
    let dir = tempfile::tempdir().unwrap();
    let hosts = "::1 shop.test\n127.0.0.1 shop.test\n";
    let ctx = ProbeContext::default();
    let ips = |o: &mimamori::probe::Outcome| -> Vec<String> {
        o.addresses.iter().map(|a| a.ip.to_string()).collect()
    };

    let v4 = plan_for(
        &dir,
        hosts,
        port,
        "        resolve: all\n        ip_protocol: ip4\n",
    );
    let o = transaction::run(&v4, &ctx).await;
    assert_eq!(ips(&o), ["127.0.0.1"]);
    assert!(o.success);

    let v6 = plan_for(
        &dir,
        hosts,
        port,
        "        resolve: all\n        ip_protocol: ip6\n",
    );
    let o = transaction::run(&v6, &ctx).await;
    assert_eq!(ips(&o), ["::1"]);
    assert!(!o.success, "the IPv6 server answers 503");

    let any = plan_for(&dir, hosts, port, "        resolve: all\n");
    let o = transaction::run(&any, &ctx).await;
    assert_eq!(ips(&o), ["::1", "127.0.0.1"]);

    // `resolve: first` honours the family too: ::1 comes first in the file.
    let first4 = plan_for(&dir, hosts, port, "        ip_protocol: ip4\n");
    assert!(transaction::run(&first4, &ctx).await.success);
    let first = plan_for(&dir, hosts, port, "");
    assert!(!transaction::run(&first, &ctx).await.success);
}

#[tokio::test]
async fn a_flapping_target_still_fails_the_first_attempt_with_retries_on() {
    // Every odd request fails: each run's first attempt fails, its retry passes.
    let flapping: Answer = Arc::new(|n| if n % 2 == 0 { 503 } else { 200 });
    let port = serve_all(&["127.0.0.1"], vec![flapping]);
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new(&config::DEFAULT_BUCKETS);
    let plan = plan_for(
        &dir,
        "127.0.0.1 shop.test\n",
        port,
        "        retries: 2\n        retry_delay: 50ms\n",
    );
    let mut tx = metrics.transaction(&plan);
    let ctx = ProbeContext::default();
    for _ in 0..3 {
        let o = transaction::run(&plan, &ctx).await;
        assert!(!o.success, "the first attempt failed");
        assert!(o.final_success(), "the retry passed");
        assert_eq!(o.retries.len(), 1, "no retry after a passing one");
        tx.record(&o);
        let text = metrics.render();
        assert_eq!(
            value(&text, "mimamori_probe_success", &[]),
            Some(0.0),
            "the SLI sees the failure"
        );
        assert_eq!(value(&text, "mimamori_probe_final_success", &[]), Some(1.0));
    }
    let text = metrics.render();
    let attempts = |attempt: &str, outcome: &str| {
        value(
            &text,
            "mimamori_probe_attempts_total",
            &[
                &format!("attempt=\"{attempt}\""),
                &format!("outcome=\"{outcome}\""),
            ],
        )
    };
    assert_eq!(attempts("first", "failure"), Some(3.0));
    assert_eq!(attempts("first", "success"), Some(0.0));
    assert_eq!(attempts("retry", "success"), Some(3.0));
    assert_eq!(attempts("retry", "failure"), Some(0.0));
    assert_eq!(
        value(
            &text,
            "mimamori_probe_failures_total",
            &["reason=\"status\""]
        ),
        Some(3.0),
        "failures count first attempts"
    );
    assert_eq!(
        value(
            &text,
            // A one-step run's duration is its step's.
            "mimamori_step_duration_seconds_count",
            &["result=\"failure\""]
        ),
        Some(3.0),
        "the histogram holds first attempts only"
    );
    let (ok, report) = crate::common::promtool_check_metrics(&text);
    assert!(ok, "{report}");
}

#[tokio::test]
async fn retries_of_each_address_are_its_own() {
    // 127.0.0.2 always fails: three attempts each run, all failures; 127.0.0.1 passes at once.
    let port = serve_all(&["127.0.0.1", "127.0.0.2"], vec![always(200), always(500)]);
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new(&config::DEFAULT_BUCKETS);
    let plan = plan_for(
        &dir,
        TWO,
        port,
        "        resolve: all\n        retries: 2\n        retry_delay: 10ms\n",
    );
    let mut tx = metrics.transaction(&plan);
    tx.record(&transaction::run(&plan, &ProbeContext::default()).await);
    let text = metrics.render();
    let attempts = |ip: &str, attempt: &str, outcome: &str| {
        value(
            &text,
            "mimamori_probe_attempts_total",
            &[
                &format!("ip=\"{ip}\""),
                &format!("attempt=\"{attempt}\""),
                &format!("outcome=\"{outcome}\""),
            ],
        )
    };
    assert_eq!(attempts("127.0.0.1", "first", "success"), Some(1.0));
    assert_eq!(attempts("127.0.0.1", "retry", "failure"), Some(0.0));
    assert_eq!(attempts("127.0.0.2", "first", "failure"), Some(1.0));
    assert_eq!(attempts("127.0.0.2", "retry", "failure"), Some(2.0));
    assert_eq!(
        value(&text, "mimamori_probe_final_success", &["ip=\"127.0.0.2\""]),
        Some(0.0)
    );
    let (ok, report) = crate::common::promtool_check_metrics(&text);
    assert!(ok, "{report}");
}

#[tokio::test]
async fn a_name_that_does_not_resolve_fails_without_an_address() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new(&config::DEFAULT_BUCKETS);
    // Only an IPv6 address is listed, IPv4 is asked for.
    let plan = plan_for(
        &dir,
        "::1 shop.test\n",
        9,
        "        resolve: all\n        ip_protocol: ip4\n",
    );
    let mut tx = metrics.transaction(&plan);
    let o = transaction::run(&plan, &ProbeContext::default()).await;
    assert!(!o.success);
    assert_eq!(o.reason, Some(mimamori::probe::Reason::Dns));
    tx.record(&o);
    let text = metrics.render();
    assert_eq!(value(&text, "mimamori_probe_success", &[]), Some(0.0));
    assert!(!text.contains("ip=\""), "{text}");
}

#[test]
fn an_unreadable_hosts_file_is_a_config_error_with_its_place() {
    let src = "global:\n  hosts_file: /nonexistent/hosts\nservices:\n  - name: svc\n    display_name: {ja: テスト, en: Test}\n    transactions:\n      - name: tx\n        steps:\n          - {name: get, url: 'http://shop.test/'}\n";
    let cfg = config::parse(src, "t.yaml").unwrap();
    let err = plan::build(&cfg, "test", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("t.yaml:2:3: global.hosts_file: cannot read /nonexistent/hosts: "),
        "{err}"
    );
}

/// A rustls server on `addr` with `cert_pem`, answering every request with 200.
fn serve_tls(addr: SocketAddr, cert_pem: String, key_pem: String) {
    let acceptor = crate::common::pki::acceptor(&cert_pem, &key_pem);
    crate::common::server::serve(addr, move |s| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(t) = acceptor.accept(s).await else {
                return;
            };
            let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(t), service)
                .await;
        }
    });
}

/// Two rustls servers behind `shop.test` at one port (127.0.0.1 and
/// 127.0.0.2, each with its `(cert_pem, key_pem)`) and the plan of a
/// `resolve: all` transaction trusting `pki`'s CA.
fn two_https_servers(
    dir: &tempfile::TempDir,
    pki: &crate::common::pki::Pki,
    [first, second]: [(String, String); 2],
) -> std::sync::Arc<plan::TransactionPlan> {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let ip = |s: &str| SocketAddr::new(s.parse().unwrap(), port);
    serve_tls(ip("127.0.0.1"), first.0, first.1);
    serve_tls(ip("127.0.0.2"), second.0, second.1);
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, TWO).unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let src = format!(
        "global: {{location: test, interval: 1m, timeout: 5s, step_timeout: 2s, hosts_file: '{}', ca_file: '{}'}}\n\
         services:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: tx\n        resolve: all\n        steps:\n          - {{name: get, url: 'https://shop.test:{port}/'}}\n",
        hosts.display(),
        ca_file.display()
    );
    let cfg = config::parse(&src, "test.yaml").unwrap();
    plan::build(&cfg, "test", &|_| None).unwrap().remove(0)
}

#[tokio::test]
async fn https_is_verified_against_the_name_at_every_address() {
    use crate::common::pki::{ca, leaf};
    // 127.0.0.2 shows a certificate for another name: it must fail there only.
    let pki = ca();
    let (good_cert, good_key, _) = leaf(&pki, &["shop.test"], 2024, 2099);
    let (bad_cert, bad_key, _) = leaf(&pki, &["other.test"], 2024, 2099);
    let dir = tempfile::tempdir().unwrap();
    let plan = two_https_servers(&dir, &pki, [(good_cert, good_key), (bad_cert, bad_key)]);
    let o = transaction::run(&plan, &ProbeContext::default()).await;
    let by_ip: Vec<(String, bool, Option<mimamori::probe::Reason>)> = o
        .addresses
        .iter()
        .map(|a| (a.ip.to_string(), a.outcome.success, a.outcome.reason))
        .collect();
    assert_eq!(
        by_ip,
        [
            ("127.0.0.1".to_string(), true, None),
            (
                "127.0.0.2".to_string(),
                false,
                Some(mimamori::probe::Reason::Tls)
            ),
        ],
        "{:?}",
        o.addresses
    );
    assert!(o.addresses[0].outcome.steps[0].tls.is_some());
}

/// Live: `mimamori serve` probes one name behind a working and a broken
/// address, Prometheus scrapes it with the rules `mimamori generate` writes.
/// The service whose transaction counts any address fails at the location;
/// the one that counts all addresses does not.
#[test]
fn generated_rules_collapse_addresses_as_configured_live() {
    use crate::common::stack::{results as query, start_prometheus, Proc};
    use mimamori::promql::{metric, record, Selector};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    if crate::common::tools::tool("prometheus").is_none() {
        return;
    }
    let port = serve_all(&["127.0.0.1", "127.0.0.2"], vec![always(200), always(503)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("hosts"), TWO).unwrap();
    let mut cfg = format!(
        "global: {{location: loopback, interval: 1s, timeout: 1s, step_timeout: 1s, hosts_file: '{}'}}\nservices:\n",
        d.join("hosts").display()
    );
    for (service, fail_when) in [("anyshop", "any_address"), ("allshop", "all_addresses")] {
        cfg.push_str(&format!(
            "  - name: {service}\n    display_name: {{ja: ショップ, en: Shop}}\n    transactions:\n      - name: browse\n        resolve: all\n        fail_when: {fail_when}\n        steps:\n          - {{name: get, url: 'http://shop.test:{port}/'}}\n"
        ));
    }
    cfg.push_str("alerting:\n  locations: [loopback]\n  job: mimamori\n  runbook_url: https://runbooks.example/{service}/{slo}\n  grafana_url: https://grafana.example\n");
    let cfg_path = d.join("shop.yaml");
    std::fs::write(&cfg_path, cfg).unwrap();
    crate::common::stack::generate_fast_rules(&cfg_path, d, false);
    let addr = format!("127.0.0.1:{}", crate::common::prometheus::free_port());
    let _prober = Proc(
        Command::new(env!("CARGO_BIN_EXE_mimamori"))
            .args(["serve", "--config", cfg_path.to_str().unwrap()])
            .args(["--web.listen-address", &addr])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("serve.log")).unwrap())
            .spawn()
            .expect("start mimamori serve"),
    );
    let prom_cfg = d.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: ['{}/rules/*.yml']\n\
             scrape_configs:\n  - job_name: mimamori\n    static_configs: [{{targets: ['{addr}']}}]\n",
            d.display()
        ),
    )
    .unwrap();
    let storage = format!("--storage.tsdb.path={}", d.join("prom").display());
    let (_prometheus, prom) = start_prometheus(d, "prometheus", &prom_cfg, &[&storage]);

    let failing = |service: &str| -> Option<f64> {
        let r = query(
            &prom,
            &Selector::service(service).of(record::LOCATION_FAILING),
        );
        r.first()
            .and_then(|s| s["value"][1].as_str().and_then(|v| v.parse().ok()))
    };
    // Waits for the expected state rather than the first recorded one: on a
    // loaded machine one run may time out at the healthy address too (then
    // both shops fail for that run). A wrong rule never gets there.
    crate::common::wait_until(
        Duration::from_secs(90),
        "anyshop failing, allshop not, two anyshop series",
        || {
            let ips = query(
                &prom,
                &Selector::service("anyshop").of(metric::PROBE_SUCCESS),
            )
            .len();
            let seen = (failing("anyshop"), failing("allshop"), ips);
            if seen == (Some(1.0), Some(0.0), 2) {
                Ok(())
            } else {
                Err(format!(
                    "(anyshop failing, allshop failing, anyshop series) = {seen:?}; prober log: {}",
                    std::fs::read_to_string(d.join("serve.log")).unwrap_or_default()
                ))
            }
        },
    );
}

#[tokio::test]
async fn at_most_sixteen_addresses_are_probed() {
    // Twenty addresses, nothing listening: each fails at once (connection refused).
    let hosts: String = (1..=20)
        .map(|i| format!("127.0.0.{i} shop.test\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::common::prometheus::free_port();
    let plan = plan_for(&dir, &hosts, port, "        resolve: all\n");
    let o = transaction::run(&plan, &ProbeContext::default()).await;
    let ips: Vec<String> = o.addresses.iter().map(|a| a.ip.to_string()).collect();
    let first16: Vec<String> = (1..=16).map(|i| format!("127.0.0.{i}")).collect();
    assert_eq!(ips, first16);
    assert!(o
        .addresses
        .iter()
        .all(|a| a.outcome.reason == Some(mimamori::probe::Reason::Connect)));
}

#[test]
fn check_says_how_addresses_and_retries_count() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("t.yaml");
    std::fs::write(
        &cfg,
        "global: {interval: 30s, timeout: 5s}\nservices:\n  - name: svc\n    display_name: {ja: テスト, en: Test}\n    transactions:\n      - name: tx\n        resolve: all\n        fail_when: all_addresses\n        retries: 2\n        retry_delay: 500ms\n        steps:\n          - {name: get, url: 'https://shop.test/'}\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["check", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("  transaction tx every 30s, timeout 5s, every address (fails when all addresses fail), 2 retries 500ms apart (first attempt counts)\n"),
        "{text}"
    );
}

/// Two load balancers behind one name with certificates of different
/// lifetimes: the exported expiry is the earliest (the older certificate is
/// what customers landing there see), whichever address answered last.
#[tokio::test]
async fn the_earliest_certificate_of_any_address_is_the_expiry() {
    use crate::common::pki::{ca, leaf};
    let pki = ca();
    let (early_cert, early_key, _) = leaf(&pki, &["shop.test"], 2024, 2029);
    let (late_cert, late_key, _) = leaf(&pki, &["shop.test"], 2024, 2031);
    let dir = tempfile::tempdir().unwrap();
    let plan = two_https_servers(&dir, &pki, [(early_cert, early_key), (late_cert, late_key)]);
    let metrics = Metrics::new(&config::DEFAULT_BUCKETS);
    let mut tx = metrics.transaction(&plan);
    let o = transaction::run(&plan, &ProbeContext::default()).await;
    assert!(o.success, "{:?}", o.message);
    assert_eq!(o.addresses.len(), 2);
    tx.record(&o);
    let expiry = value(
        &metrics.render(),
        "mimamori_tls_certificate_expiry_timestamp_seconds",
        &["step=\"get\""],
    );
    // 2029-01-01T00:00:00Z, not 2031's.
    assert_eq!(expiry, Some(1_861_920_000.0));
}
