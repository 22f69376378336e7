//! Micro-benchmarks of the exporter's hot paths: writing `/metrics`, recording
//! a run, rendering a template, and one step against a loopback server.
//!
//! `cargo bench --bench hot_paths` (all), or e.g. `cargo bench --bench hot_paths -- render`.
//! BENCHMARKS.md has the numbers and the whole-process benchmark (`scripts/bench.sh`).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mimamori::config::Template;
use mimamori::metrics::Metrics;
use mimamori::probe::outcome::{Outcome, Phases, StepOutcome};
use mimamori::probe::plan::{TransactionPlan, TxKey};
use mimamori::probe::{adhoc_plan, transaction, ProbeContext};

fn plan(i: usize, url: &str, ca_file: Option<std::path::PathBuf>) -> TransactionPlan {
    plan_in(&ProbeContext::default(), i, url, ca_file)
}

fn plan_in(
    ctx: &ProbeContext,
    i: usize,
    url: &str,
    ca_file: Option<std::path::PathBuf>,
) -> TransactionPlan {
    let mut p = adhoc_plan(ctx, url, Duration::from_secs(5), ca_file).expect("valid URL");
    p.key = TxKey {
        service: format!("svc{}", i / 100),
        transaction: format!("tx{}", i % 100),
    };
    p.location = "bench".into();
    p
}

fn outcome() -> Outcome {
    let phases = Phases([
        Duration::ZERO,
        Duration::from_micros(80),
        Duration::ZERO,
        Duration::from_micros(240),
        Duration::from_micros(15),
    ]);
    Outcome {
        success: true,
        reason: None,
        message: None,
        duration: Duration::from_micros(350),
        steps: vec![StepOutcome {
            name: "get".into(),
            success: true,
            status: Some(200),
            duration: Duration::from_micros(340),
            phases,
            reason: None,
            message: None,
            tls: None,
            body_bytes: 3,
        }],
        ..Default::default()
    }
}

/// The exposition for 100 to 10,000 one-step transactions, each with one run recorded.
fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics_render");
    g.sample_size(10);
    for n in [100, 1_000, 10_000] {
        let metrics = Metrics::new(&mimamori::config::DEFAULT_BUCKETS);
        let mut txs: Vec<_> = (0..n)
            .map(|i| metrics.transaction(&plan(i, "http://127.0.0.1:9/", None)))
            .collect();
        for tx in &mut txs {
            tx.record(&outcome());
        }
        let bytes = metrics.render().len();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_with_input(BenchmarkId::new("whole", n), &n, |b, _| {
            b.iter(|| black_box(metrics.render().len()))
        });
        // What `/metrics` does: 128 KiB pieces, each handed on (here dropped).
        g.bench_with_input(BenchmarkId::new("chunked", n), &n, |b, _| {
            b.iter(|| {
                let mut total = 0;
                metrics.render_chunked(128 * 1024, |s| {
                    total += s.len();
                    true
                });
                black_box(total)
            })
        });
    }
    g.finish();
}

/// Recording one finished run: what every run costs besides the HTTP exchange.
fn record(c: &mut Criterion) {
    let metrics = Metrics::new(&mimamori::config::DEFAULT_BUCKETS);
    let mut tx = metrics.transaction(&plan(0, "http://127.0.0.1:9/", None));
    let o = outcome();
    c.bench_function("record_outcome", |b| b.iter(|| tx.record(black_box(&o))));
}

/// A step URL with a variable, a capture and a secret.
fn template(c: &mut Criterion) {
    let t = Template::parse("${base}/api/orders/${order_id}?token=${secret:api_token}&limit=20")
        .expect("valid template");
    let vars: HashMap<String, String> = [
        (
            "base".to_string(),
            "https://hanbai.aoulu.example".to_string(),
        ),
        ("order_id".to_string(), "20261128-0042".to_string()),
    ]
    .into();
    let secrets: HashMap<String, String> =
        [("api_token".to_string(), "s3cr3t-t0k3n".to_string())].into();
    c.bench_function("template_render", |b| {
        b.iter(|| black_box(t.render(black_box(&vars), &secrets)))
    });
}

/// A loopback server answering every request with "ok", over plain TCP or TLS.
async fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            // As nginx does: without it, Nagle's algorithm and delayed ACKs
            // add 40 ms to each TLS handshake.
            let _ = stream.set_nodelay(true);
            let tls = tls.clone();
            tokio::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"ok\n"),
                    )))
                });
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(cfg) => {
                        if let Ok(s) = tokio_rustls::TlsAcceptor::from(cfg).accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(s), svc).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    port
}

/// One whole run of a one-step GET transaction: new connection (and TLS
/// handshake), request, body, outcome. The server's work is included.
fn step(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("step_execution");
    let ctx = ProbeContext::default();
    let port = rt.block_on(serve(None));
    let p = plan_in(&ctx, 0, &format!("http://127.0.0.1:{port}/"), None);
    assert!(rt.block_on(transaction::run(&p, &ctx)).success);
    g.bench_function("http", |b| {
        b.iter(|| black_box(rt.block_on(transaction::run(&p, &ctx)).success))
    });

    let pki = mimamori::demo::services::pki().expect("test certificates");
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).expect("write CA");
    let port = rt.block_on(serve(Some(pki.server.clone())));
    let p = plan_in(&ctx, 0, &format!("https://localhost:{port}/"), Some(ca));
    let first = rt.block_on(transaction::run(&p, &ctx));
    assert!(first.success, "{:?}", first.message);
    g.bench_function("https", |b| {
        b.iter(|| black_box(rt.block_on(transaction::run(&p, &ctx)).success))
    });
    g.finish();
}

criterion_group!(benches, render, record, template, step);
criterion_main!(benches);
