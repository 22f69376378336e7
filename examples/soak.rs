//! Soak run (not part of the tests): the real `mimamori serve` probing a mix of
//! healthy and hostile loopback targets at a high rate for a bounded time,
//! scraped every 10 s like Prometheus would, with its resident memory and open
//! file descriptors sampled from /proc. Run it with `scripts/soak.sh`.
//!
//! Usage: soak --mimamori PATH [--seconds 600] [--transactions 160]

#![allow(
    clippy::disallowed_methods,
    reason = "a soak run against the real binary: its deadlines are wall-clock times"
)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Healthy,
    Unavailable,
    NeverAnswers,
    Slowloris,
    ClosedMidAnswer,
    EndlessBody,
    HugeHeaders,
    InvalidHttp,
    RedirectLoop,
}

/// Reads the request head (bounded), so the answer comes after the request.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 && head.len() < 65536 => head.extend_from_slice(&buf[..n]),
            _ => return false,
        }
    }
    true
}

/// Waits (bounded) for the peer to close, so the target never holds sockets forever.
async fn drain<S: AsyncRead + Unpin>(s: &mut S) {
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

async fn behave<S: AsyncRead + AsyncWrite + Unpin>(kind: Kind, mut s: S) {
    if !read_head(&mut s).await {
        return;
    }
    let noise = fastrand::u64(..);
    match kind {
        Kind::Healthy => {
            let body = format!("{{\"ok\":true,\"token\":\"t{noise}\"}}");
            let _ = s.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes()).await;
        }
        Kind::Unavailable => {
            let body = format!("maintenance {noise}");
            let _ = s.write_all(format!("HTTP/1.1 503 Busy {noise}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes()).await;
        }
        Kind::NeverAnswers => {}
        Kind::Slowloris => {
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Kind::ClosedMidAnswer => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\npartial")
                .await;
            return;
        }
        Kind::EndlessBody => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if s.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
        Kind::HugeHeaders => {
            let mut h = String::from("HTTP/1.1 200 OK\r\n");
            while h.len() < 1 << 20 {
                h.push_str(&format!("x-filler-{}: {}\r\n", h.len(), "y".repeat(1000)));
            }
            let _ = s.write_all(h.as_bytes()).await;
        }
        Kind::InvalidHttp => {
            let _ = s
                .write_all(format!("garbage {noise}\r\n\r\n").as_bytes())
                .await;
        }
        Kind::RedirectLoop => {
            let _ = s.write_all(format!("HTTP/1.1 302 Found\r\nlocation: /loop?n={noise}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes()).await;
        }
    }
    let _ = s.flush().await;
    drain(&mut s).await;
}

async fn serve(kind: Kind, tls: Option<tokio_rustls::TlsAcceptor>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => behave(kind, s).await,
                    Some(acc) => {
                        if let Ok(Ok(t)) =
                            tokio::time::timeout(Duration::from_secs(10), acc.accept(s)).await
                        {
                            behave(kind, t).await
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A CA, a server for 127.0.0.1 signed by it, one for another name, and a self-signed one.
fn pki(
    dir: &std::path::Path,
) -> (
    tokio_rustls::TlsAcceptor,
    tokio_rustls::TlsAcceptor,
    tokio_rustls::TlsAcceptor,
) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let acceptor = |name: &str, signed: bool| {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![name.to_string()]).unwrap();
        let cert = if signed {
            params.signed_by(&key, &issuer).unwrap()
        } else {
            params.self_signed(&key).unwrap()
        };
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    };
    (
        acceptor("127.0.0.1", true),
        acceptor("wrong.example", true),
        acceptor("127.0.0.1", false),
    )
}

/// VmRSS and VmHWM in KiB, open file descriptors, threads.
fn sample(pid: u32) -> (u64, u64, usize, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    (field("VmRSS:"), field("VmHWM:"), fds, field("Threads:"))
}

fn scrape(addr: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut r = String::new();
    let _ = s.read_to_string(&mut r);
    r
}

/// Sums of runs, skipped runs and failures by reason.
fn totals(metrics: &str) -> (f64, f64, BTreeMap<String, f64>) {
    let value = |l: &str| {
        l.rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut runs = 0.0;
    let mut skipped = 0.0;
    let mut reasons = BTreeMap::new();
    for l in metrics.lines() {
        if l.starts_with("mimamori_probe_duration_seconds_count{") {
            runs += value(l);
        } else if l.starts_with("mimamori_runs_skipped_total{") {
            skipped += value(l);
        } else if l.starts_with("mimamori_probe_failures_total{") {
            if let Some(r) = l
                .split("reason=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
            {
                *reasons.entry(r.to_string()).or_insert(0.0) += value(l);
            }
        }
    }
    (runs, skipped, reasons)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let bin = arg("--mimamori").expect("--mimamori PATH");
    let seconds: u64 = arg("--seconds").map_or(600, |s| s.parse().unwrap());
    let count: usize = arg("--transactions").map_or(160, |s| s.parse().unwrap());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (good, wrong_host, self_signed) = pki(dir.path());
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // Half healthy (most over HTTPS), half hostile in every way.
    let targets: Vec<(&str, String)> = rt.block_on(async {
        let mut t = vec![
            (
                "healthy-https",
                format!(
                    "https://{}/api",
                    serve(Kind::Healthy, Some(good.clone())).await
                ),
            ),
            (
                "healthy-https",
                format!(
                    "https://{}/api",
                    serve(Kind::Healthy, Some(good.clone())).await
                ),
            ),
            (
                "healthy-https",
                format!("https://{}/api", serve(Kind::Healthy, Some(good)).await),
            ),
            (
                "healthy-http",
                format!("http://{}/api", serve(Kind::Healthy, None).await),
            ),
        ];
        let hostile = [
            (
                "unavailable",
                format!("http://{}/", serve(Kind::Unavailable, None).await),
            ),
            (
                "never-answers",
                format!("http://{}/", serve(Kind::NeverAnswers, None).await),
            ),
            (
                "slowloris",
                format!("http://{}/", serve(Kind::Slowloris, None).await),
            ),
            (
                "closed-mid-answer",
                format!("http://{}/", serve(Kind::ClosedMidAnswer, None).await),
            ),
            (
                "endless-body",
                format!("http://{}/", serve(Kind::EndlessBody, None).await),
            ),
            (
                "huge-headers",
                format!("http://{}/", serve(Kind::HugeHeaders, None).await),
            ),
            (
                "invalid-http",
                format!("http://{}/", serve(Kind::InvalidHttp, None).await),
            ),
            (
                "redirect-loop",
                format!("http://{}/", serve(Kind::RedirectLoop, None).await),
            ),
            (
                "wrong-host",
                format!("https://{}/", serve(Kind::Healthy, Some(wrong_host)).await),
            ),
            (
                "untrusted",
                format!("https://{}/", serve(Kind::Healthy, Some(self_signed)).await),
            ),
            ("refused", format!("http://{refused}/")),
        ];
        t.extend(hostile);
        t
    });
    let mut yaml = format!(
        "global:\n  location: soak\n  interval: 1s\n  timeout: 1s\n  step_timeout: 1s\n  max_body_bytes: 1048576\n  ca_file: {}\nservices:\n  - name: soak\n    display_name: {{ja: 耐久, en: Soak}}\n    transactions:\n",
        dir.path().join("ca.pem").display()
    );
    let mut mix: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..count {
        // Even transactions go to healthy targets, odd ones to hostile ones.
        let (kind, url) = if i % 2 == 0 {
            &targets[(i / 2) % 4]
        } else {
            &targets[4 + (i / 2) % (targets.len() - 4)]
        };
        *mix.entry(kind).or_default() += 1;
        yaml.push_str(&format!(
            "      - name: t{i:03}-{kind}\n        steps:\n          - {{name: get, url: '{url}'}}\n"
        ));
    }
    let cfg = dir.path().join("soak.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(&bin)
        .args(["serve", "--config"])
        .arg(&cfg)
        .args(["--web.listen-address", &addr, "--log.level", "warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mimamori");
    let pid = child.id();
    println!("soak: {count} transactions at 1 s interval for {seconds} s; pid {pid}");
    println!("mix: {mix:?}");

    let started = Instant::now();
    while scrape(&addr).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "exporter never listened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = sample(pid);
    println!(
        "{:>6} {:>10} {:>10} {:>5} {:>7} {:>10} {:>8}",
        "t(s)", "RSS(KiB)", "HWM(KiB)", "FDs", "threads", "runs", "skipped"
    );
    let print = |t: u64, s: (u64, u64, usize, u64), m: &str| {
        let (runs, skipped, _) = totals(m);
        println!(
            "{t:>6} {:>10} {:>10} {:>5} {:>7} {runs:>10} {skipped:>8}",
            s.0, s.1, s.2, s.3
        );
    };
    print(0, first, &scrape(&addr));
    let mut warm = None;
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(10));
        last = scrape(&addr);
        let t = started.elapsed().as_secs();
        if t % 60 < 10 || started.elapsed() >= Duration::from_secs(seconds) {
            let s = sample(pid);
            if warm.is_none() && t >= 60 {
                warm = Some(s);
            }
            print(t, s, &last);
        }
    }
    let end = sample(pid);
    let (runs, skipped, reasons) = totals(&last);
    let _ = child.kill();
    let _ = child.wait();
    println!("\nend: RSS {} KiB (start {} KiB, after warm-up {} KiB), peak {} KiB; FDs {} (start {}, after warm-up {}); threads {}",
        end.0, first.0, warm.map_or(0, |w| w.0), end.1, end.2, first.2, warm.map_or(0, |w| w.2), end.3);
    println!("runs {runs}, skipped {skipped}, failures by reason {reasons:?}");
}
