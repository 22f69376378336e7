//! TLS facts and policy against real peers: rustls servers with good, expired,
//! self-signed and wrong-host certificates, and `openssl s_server` accepting or
//! refusing TLS 1.0/1.1.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::common::pki::{acceptor, ca, leaf, Pki};
use crate::common::server::serve;
use crate::common::tools::tool;
use crate::common::{wait_until, wait_until_async};
use mimamori::config;
use mimamori::probe::plan;
use mimamori::probe::policy::plain_http_refused;
use mimamori::probe::tls::{legacy_accepted, Legacy};
use mimamori::probe::{transaction, ProbeContext, Reason};
use rcgen::{CertificateParams, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS server (rustls) answering every request with 200.
fn tls_server(cert_pem: &str, key_pem: &str) -> u16 {
    tls_server_recording(cert_pem, key_pem).0
}

type Kinds = Arc<std::sync::Mutex<Vec<rustls::HandshakeKind>>>;

/// The same, recording whether each handshake was full or resumed.
fn tls_server_recording(cert_pem: &str, key_pem: &str) -> (u16, Kinds) {
    let acceptor = acceptor(cert_pem, key_pem);
    let kinds = Kinds::default();
    let seen = kinds.clone();
    let port = serve("127.0.0.1:0", move |s| {
        let acceptor = acceptor.clone();
        let seen = seen.clone();
        async move {
            let Ok(mut t) = acceptor.accept(s).await else {
                return;
            };
            if let Some(k) = t.get_ref().1.handshake_kind() {
                seen.lock().unwrap().push(k);
            }
            let mut buf = [0u8; 4096];
            let _ = t.read(&mut buf).await;
            let _ = t
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await;
            let _ = t.shutdown().await;
        }
    })
    .port();
    (port, kinds)
}

#[tokio::test]
async fn every_run_pays_a_full_handshake() {
    let (_dir, pki, ca_file) = ca_on_disk();
    let (c, k, _) = leaf(&pki, &["localhost"], 2024, 2099);
    let (port, kinds) = tls_server_recording(&c, &k);
    let plan = plan_for(&format!("https://localhost:{port}/"), &ca_file);
    for _ in 0..3 {
        assert!(
            transaction::run(&plan, &ProbeContext::default())
                .await
                .success
        );
    }
    // The server offers session tickets; the prober must never use them.
    assert_eq!(*kinds.lock().unwrap(), vec![rustls::HandshakeKind::Full; 3]);
}

/// A new CA and its certificate written to `ca.pem` in a directory that
/// lives as long as the returned guard.
fn ca_on_disk() -> (tempfile::TempDir, Pki, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let pki = ca();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    (dir, pki, ca_file)
}

fn plan_for(url: &str, ca_file: &std::path::Path) -> Arc<plan::TransactionPlan> {
    let src = format!(
        "global: {{location: test, interval: 1m, timeout: 5s, step_timeout: 2s, ca_file: '{}'}}\nservices:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: tx\n        steps:\n          - {{name: get, url: '{url}'}}\n",
        ca_file.display()
    );
    let cfg = config::parse(&src, "t.yaml").unwrap();
    plan::build(&cfg, "test", &|_| None).unwrap().remove(0)
}

#[tokio::test]
async fn good_expired_self_signed_and_wrong_host_certificates() {
    let (_dir, pki, ca_file) = ca_on_disk();

    // Good: succeeds, facts recorded, expiry is the leaf's notAfter (earliest in chain).
    let (c, k, _) = leaf(&pki, &["localhost"], 2024, 2099);
    let port = tls_server(&c, &k);
    let o = transaction::run(
        &plan_for(&format!("https://localhost:{port}/"), &ca_file),
        &ProbeContext::default(),
    )
    .await;
    assert!(o.success, "{o:?}");
    let facts = o.steps[0].tls.clone().unwrap();
    assert_eq!(facts.version, "TLSv1.3");
    assert!(facts.cipher.starts_with("TLS13_"), "{facts:?}");
    assert_eq!(facts.not_after, Some(4_070_908_800)); // 2099-01-01T00:00:00Z

    let cases = [
        (
            leaf(&pki, &["localhost"], 2020, 2021),
            "localhost",
            "certificate expired",
        ),
        (
            leaf(&pki, &["other.example"], 2024, 2099),
            "localhost",
            "not valid for name",
        ),
    ];
    for ((c, k, _), host, want) in cases {
        let port = tls_server(&c, &k);
        let o = transaction::run(
            &plan_for(&format!("https://{host}:{port}/"), &ca_file),
            &ProbeContext::default(),
        )
        .await;
        assert_eq!(o.reason, Some(Reason::Tls), "{o:?}");
        assert!(o.message.as_deref().unwrap().contains(want), "{o:?}");
    }
    // Self-signed (a CA the probe does not trust).
    let key = KeyPair::generate().unwrap();
    let selfsigned = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let port = tls_server(&selfsigned.pem(), &key.serialize_pem());
    let o = transaction::run(
        &plan_for(&format!("https://localhost:{port}/"), &ca_file),
        &ProbeContext::default(),
    )
    .await;
    assert_eq!(o.reason, Some(Reason::Tls));
    let m = o.message.unwrap();
    assert!(
        m.contains("UnknownIssuer") || m.contains("unknown issuer"),
        "{m}"
    );
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An exporter app running the configuration `src` (no environment).
fn start_app(src: &str) -> Arc<mimamori::server::App> {
    let cfg = config::parse(src, "t.yaml").unwrap();
    let fixed = mimamori::server::ConfigSource::Fixed(Box::new(cfg.clone()));
    mimamori::server::App::start(
        cfg,
        mimamori::server::AppOptions {
            env: Arc::new(|_| None),
            ..mimamori::server::AppOptions::new(fixed)
        },
    )
    .unwrap()
}

/// `openssl s_server` with extra flags; returns the port once it accepts connections.
fn s_server(dir: &std::path::Path, flags: &[&str]) -> (Proc, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (s_server_at(dir, "127.0.0.1", port, flags), port)
}

/// `openssl s_server` at `ip:port` with extra flags, once it accepts connections.
fn s_server_at(dir: &std::path::Path, ip: &str, port: u16, flags: &[&str]) -> Proc {
    let pki = ca();
    let (c, k, _) = leaf(&pki, &["localhost"], 2024, 2099);
    let (cp, kp) = (
        dir.join(format!("c{}-{ip}.pem", flags.len())),
        dir.join(format!("k{}-{ip}.pem", flags.len())),
    );
    std::fs::write(&cp, c).unwrap();
    std::fs::write(&kp, k).unwrap();
    let child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("{ip}:{port}"), "-cert"])
        .arg(&cp)
        .arg("-key")
        .arg(&kp)
        .args(["-www", "-quiet"])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl on PATH");
    let p = Proc(child);
    wait_until(Duration::from_secs(5), "openssl s_server to listen", || {
        std::net::TcpStream::connect((ip, port)).is_ok()
    });
    p
}

#[test]
fn legacy_tls_is_detected_against_openssl_s_server() {
    if tool("openssl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Duration::from_secs(5);
    let (_old, old) = s_server(dir.path(), &["-cipher", "ALL:@SECLEVEL=0"]);
    assert_eq!(
        legacy_accepted("127.0.0.1", old, "localhost", Legacy::Tls11, t),
        Ok(true)
    );
    assert_eq!(
        legacy_accepted("127.0.0.1", old, "localhost", Legacy::Tls10, t),
        Ok(true)
    );
    let (_modern, modern) = s_server(dir.path(), &["-no_tls1", "-no_tls1_1"]);
    assert_eq!(
        legacy_accepted("127.0.0.1", modern, "localhost", Legacy::Tls11, t),
        Ok(false)
    );
    assert_eq!(
        legacy_accepted("127.0.0.1", modern, "localhost", Legacy::Tls10, t),
        Ok(false)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(
        legacy_accepted("127.0.0.1", closed, "localhost", Legacy::Tls11, t).is_err(),
        "unreachable is unknown, not a verdict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_reports_legacy_tls_and_plain_http() {
    if tool("openssl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_old, old) = s_server(dir.path(), &["-cipher", "ALL:@SECLEVEL=0"]);
    // A plain-HTTP port that serves content unencrypted.
    let plain_port = serve("127.0.0.1:0", |mut s| async move {
        let mut buf = [0u8; 2048];
        let _ = s.read(&mut buf).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            .await;
    })
    .port();
    let src = format!(
        "global: {{location: test, interval: 1s, timeout: 1s, step_timeout: 1s}}\nservices:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    plain_http_url: http://127.0.0.1:{plain_port}/\n    transactions:\n      - name: tx\n        tls: {{server_name: localhost}}\n        steps:\n          - {{name: get, url: 'https://127.0.0.1:{old}/'}}\n"
    );
    let app = start_app(&src);
    let text = wait_until_async(
        Duration::from_secs(10),
        "both legacy TLS verdicts and the plain HTTP check",
        || {
            let text = app.metrics.render();
            if text.contains("mimamori_plain_http_refused")
                && text.matches("mimamori_tls_legacy_accepted{").count() == 2
            {
                Ok(text)
            } else {
                Err(text)
            }
        },
    )
    .await;
    app.stop();
    assert!(text.contains("mimamori_tls_legacy_accepted{location=\"test\",service=\"svc\",step=\"get\",transaction=\"tx\",version=\"TLSv1.1\"} 1"), "{text}");
    assert!(
        text.contains("mimamori_plain_http_refused{location=\"test\",service=\"svc\"} 0"),
        "{text}"
    );

    // Redirect to HTTPS and a closed port both count as refused.
    let rport = serve("127.0.0.1:0", |mut s| async move {
        let mut buf = [0u8; 2048];
        let _ = s.read(&mut buf).await;
        let _ = s
            .write_all(
                b"HTTP/1.1 301 Moved\r\nLocation: https://localhost/\r\nContent-Length: 0\r\n\r\n",
            )
            .await;
    })
    .port();
    let ctx = ProbeContext::default();
    let tls = ctx.tls_config(&[]).unwrap();
    assert_eq!(
        plain_http_refused(
            &ctx,
            &format!("http://127.0.0.1:{rport}/"),
            tls.clone(),
            Duration::from_secs(2)
        )
        .await,
        Some(true)
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        plain_http_refused(
            &ctx,
            &format!("http://127.0.0.1:{closed}/"),
            tls,
            Duration::from_secs(2)
        )
        .await,
        Some(true)
    );
}

/// A server that counts ClientHellos offering a version below TLS 1.2
/// (client_version in bytes 9..11 of the first record), then closes the
/// connection; its port and the count.
fn legacy_hello_counter() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let legacy_hellos = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = legacy_hellos.clone();
    let port = serve("127.0.0.1:0", move |mut s| {
        let counter = counter.clone();
        async move {
            let mut head = [0u8; 11];
            if s.read_exact(&mut head).await.is_ok()
                && head[0] == 0x16
                && u16::from_be_bytes([head[9], head[10]]) < 0x0303
            {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    })
    .port();
    (port, legacy_hellos)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_checks_are_shared_by_transactions_of_one_server() {
    let (port, legacy_hellos) = legacy_hello_counter();
    let tx = |name: &str| {
        format!("      - name: {name}\n        steps:\n          - {{name: get, url: 'https://127.0.0.1:{port}/'}}\n")
    };
    let src = format!(
        "global: {{location: test, interval: 2s, timeout: 2s, step_timeout: 1s}}\nservices:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n{}{}{}",
        tx("a"),
        tx("b"),
        tx("c")
    );
    let app = start_app(&src);
    let text = wait_until_async(Duration::from_secs(10), "six legacy TLS verdicts", || {
        let text = app.metrics.render();
        if text.matches("mimamori_tls_legacy_accepted{").count() == 6 {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await;
    app.stop();
    assert_eq!(
        text.matches("mimamori_tls_legacy_accepted{").count(),
        6,
        "{text}"
    );
    // Three transactions, two versions, one server: two handshakes, not six.
    assert_eq!(legacy_hellos.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A CA file replaced under the same path is read again on reload: the
/// probe that failed against the old CA succeeds with the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_reads_a_ca_file_replaced_at_the_same_path() {
    let (dir, pki, ca_file) = ca_on_disk();
    let (c, k, _) = leaf(&pki, &["localhost"], 2024, 2099);
    let port = tls_server(&c, &k);
    // At first the file holds another CA, which did not sign the server's certificate.
    std::fs::write(&ca_file, ca().ca_pem).unwrap();
    let cfg_file = dir.path().join("m.yaml");
    std::fs::write(
        &cfg_file,
        format!(
            "global: {{location: test, interval: 1s, timeout: 1s, step_timeout: 1s, ca_file: '{}'}}\nservices:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: tx\n        steps:\n          - {{name: get, url: 'https://localhost:{port}/'}}\n",
            ca_file.display()
        ),
    )
    .unwrap();
    let cfg = config::load(&cfg_file).unwrap();
    let source = mimamori::server::ConfigSource::File(cfg_file.clone());
    let app = mimamori::server::App::start(
        cfg,
        mimamori::server::AppOptions {
            env: Arc::new(|_| None),
            ..mimamori::server::AppOptions::new(source)
        },
    )
    .unwrap();
    let success = "mimamori_probe_success{location=\"test\",service=\"svc\",transaction=\"tx\"}";
    let wait_for = |want: &'static str, what: &'static str| {
        let app = app.clone();
        async move {
            wait_until_async(Duration::from_secs(10), what, || {
                let text = app.metrics.render();
                if text
                    .lines()
                    .any(|l| l.starts_with(success) && l.ends_with(want))
                {
                    Ok(())
                } else {
                    Err(text)
                }
            })
            .await
        }
    };
    wait_for(" 0", "the untrusted CA to fail the probe").await;
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let reloaded = app.respond(&http::Method::POST, "/-/reload", "");
    assert_eq!(reloaded.status(), 200);
    wait_for(" 1", "the replaced CA file to be trusted after the reload").await;
    app.stop();
}

/// Apps side by side share nothing: each has its own legacy-TLS verdicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_side_by_side_keep_their_own_verdicts() {
    let (port, legacy_hellos) = legacy_hello_counter();
    let src = format!(
        "global: {{location: test, interval: 2s, timeout: 2s, step_timeout: 1s}}\nservices:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: tx\n        steps:\n          - {{name: get, url: 'https://127.0.0.1:{port}/'}}\n"
    );
    let apps = [start_app(&src), start_app(&src)];
    let reported = |app: &mimamori::server::App| {
        app.metrics
            .render()
            .matches("mimamori_tls_legacy_accepted{")
            .count()
            == 2
    };
    wait_until_async(
        Duration::from_secs(10),
        "both apps' legacy TLS verdicts",
        || apps.iter().all(|a| reported(a)),
    )
    .await;
    for a in &apps {
        a.stop();
    }
    // Two apps, two versions: four handshakes (one process-wide cache made two).
    assert_eq!(legacy_hellos.load(std::sync::atomic::Ordering::SeqCst), 4);
}

/// Behind one name, 127.0.0.1 refuses TLS 1.0/1.1 and 127.0.0.2 accepts them
/// (hosts file written by the test). With `resolve: all` every address is
/// checked, so the legacy one is found; with `resolve: first` only the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_tls_at_any_address_counts_with_resolve_all() {
    if tool("openssl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _modern = s_server_at(dir.path(), "127.0.0.1", port, &["-no_tls1", "-no_tls1_1"]);
    let _old = s_server_at(
        dir.path(),
        "127.0.0.2",
        port,
        &["-cipher", "ALL:@SECLEVEL=0"],
    );
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 shop.test\n127.0.0.2 shop.test\n").unwrap();
    let accepted = |resolve: &'static str| {
        let src = format!(
            "global: {{location: test, interval: 1s, timeout: 1s, step_timeout: 1s, hosts_file: '{}'}}\nservices:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: tx\n        resolve: {resolve}\n        tls: {{server_name: localhost}}\n        steps:\n          - {{name: get, url: 'https://shop.test:{port}/'}}\n",
            hosts.display()
        );
        async move {
            let app = start_app(&src);
            let line = |text: &str, v: &str| {
                text.lines()
                    .find(|l| {
                        l.starts_with("mimamori_tls_legacy_accepted{")
                            && l.contains(&format!("version=\"{v}\""))
                    })
                    .and_then(|l| l.rsplit(' ').next())
                    .map(str::to_string)
            };
            let got = wait_until_async(Duration::from_secs(15), "both legacy TLS verdicts", || {
                let text = app.metrics.render();
                match (line(&text, "TLSv1.0"), line(&text, "TLSv1.1")) {
                    (Some(v10), Some(v11)) => Ok((Some(v10), Some(v11))),
                    got => Err(format!("{got:?}")),
                }
            })
            .await;
            app.stop();
            got
        }
    };
    let yes = (Some("1".to_string()), Some("1".to_string()));
    let no = (Some("0".to_string()), Some("0".to_string()));
    assert_eq!(accepted("all").await, yes, "127.0.0.2 accepts legacy TLS");
    assert_eq!(accepted("first").await, no, "only 127.0.0.1 is checked");
}
