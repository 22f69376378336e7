//! Label values from the outside never create series: a server answers every
//! request with a status code, reason phrase, header, redirect target or
//! error text never seen before, and the exporter's set of series stays the
//! one its configuration defines.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mimamori::metrics::Metrics;
use mimamori::probe::{transaction, Phase, Reason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Kinds of answer, in a fixed cycle, each with outside values unique to the request.
const KINDS: usize = 9;

fn answer(i: usize) -> Option<String> {
    let cycle = i / KINDS;
    let tag = format!("HOSTILE-{i}-{}", fastrand::u64(..));
    let ok = |status: u16, extra: &str, body: &str| {
        format!(
            "HTTP/1.1 {status} {tag}\r\nx-outside: expected\r\nx-noise: {tag}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    Some(match i % KINDS {
        // Success, with noise in the reason phrase and a header.
        0 => ok(200 + (cycle % 7) as u16, "", "fine"),
        // Every client and server error code in turn.
        1 => ok(
            400 + ((cycle * 37) % 200) as u16,
            "",
            &format!("error {tag}"),
        ),
        // Codes no standard defines.
        2 => ok(600 + ((cycle * 53) % 400) as u16, "", &tag),
        // A header assertion fails on an outside value.
        3 => format!(
            "HTTP/1.1 200 OK\r\nx-outside: {tag}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ),
        // A redirect to a host never seen before.
        4 => ok(302, &format!("location: http://h{i}.example/{tag}\r\n"), ""),
        // Not HTTP at all.
        5 => format!("{tag} garbage\r\n\r\n"),
        // Closed in the middle of the body.
        6 => format!("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial {tag}"),
        // A declared body far over the limit.
        7 => format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            1_000_000_000 + i
        ),
        // No answer: the step times out.
        _ => return None,
    })
}

/// Serves `answer(n)` to the n-th request for `/h`; `/ok` always succeeds.
fn start_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let addr = crate::common::server::serve("127.0.0.1:0", move |mut s| {
        let c = c.clone();
        async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let text = if head.starts_with(b"GET /ok ") {
                Some("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".into())
            } else {
                answer(c.fetch_add(1, Ordering::SeqCst))
            };
            match text {
                Some(t) => {
                    let _ = s.write_all(t.as_bytes()).await;
                    let _ = s.shutdown().await;
                }
                None => tokio::time::sleep(Duration::from_secs(5)).await,
            }
        }
    });
    (addr, count)
}

/// Every series as (metric name, labels).
fn series(text: &str) -> BTreeSet<(String, BTreeMap<String, String>)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let name_end = l.find(['{', ' ']).unwrap();
            let name = l[..name_end].to_string();
            let mut labels = BTreeMap::new();
            if l[name_end..].starts_with('{') {
                let inner = &l[name_end + 1..l.rfind('}').unwrap()];
                for pair in inner.split("\",") {
                    let (k, v) = pair.split_once("=\"").unwrap();
                    labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
                }
            }
            (name, labels)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_values_never_create_series() {
    let (a, count_a) = start_server();
    let (b, count_b) = start_server();
    let yaml = format!(
        r#"global: {{location: card-a, interval: 1h, timeout: 2s, step_timeout: 300ms, max_body_bytes: 1024, max_redirects: 2}}
services:
  - name: card
    display_name: {{ja: 試験, en: Test}}
    transactions:
      - name: two-steps
        steps:
          - {{name: warmup, url: 'http://{a}/ok'}}
          - name: hostile
            url: http://{a}/h
            expect:
              headers: [{{name: x-outside, equals: expected}}]
      - name: one-step
        steps:
          - {{name: hostile, url: 'http://{b}/h'}}
"#
    );
    let cfg = mimamori::config::parse(&yaml, "card.yaml").unwrap();
    let ctx = mimamori::probe::ProbeContext::default();
    let plans = mimamori::probe::plan::build_in(
        &ctx,
        &cfg,
        "card-a",
        &|_| None,
        &mimamori::config::load_secrets(&cfg, &|_| None),
    )
    .unwrap();
    let metrics = Metrics::new(&cfg.global.buckets);
    let mut txs: Vec<_> = plans.iter().map(|p| metrics.transaction(p)).collect();

    let mut reasons_seen = BTreeSet::new();
    let mut after_first_cycle = None;
    for round in 0..3 * KINDS {
        for (plan, tx) in plans.iter().zip(txs.iter_mut()) {
            let outcome = transaction::run(plan, &ctx).await;
            if let Some(r) = outcome.reason {
                reasons_seen.insert(r.as_str());
            }
            tx.record(&outcome);
        }
        if round == KINDS - 1 {
            after_first_cycle = Some(series(&metrics.render()));
        }
    }
    let text = metrics.render();
    let after = series(&text);

    // The outside really varied, and every kind of failure happened. (The
    // server counts a request when its head has arrived: allow it a moment.)
    let counted = || count_a.load(Ordering::SeqCst) + count_b.load(Ordering::SeqCst);
    // Generous: on a loaded machine the last count can lag the run.
    crate::common::wait_until_async(Duration::from_secs(10), "every request counted", || {
        let n = counted();
        if n >= 6 * KINDS {
            Ok(())
        } else {
            Err(format!("{n} of {}", 6 * KINDS))
        }
    })
    .await;
    assert_eq!(count_a.load(Ordering::SeqCst), 3 * KINDS);
    assert_eq!(count_b.load(Ordering::SeqCst), 3 * KINDS);
    let want: BTreeSet<&str> = [
        "status",
        "assertion",
        "redirect",
        "protocol",
        "body_too_large",
        "timeout",
    ]
    .into();
    assert!(
        want.is_subset(&reasons_seen),
        "reasons seen: {reasons_seen:?}"
    );

    // Two more cycles of new codes, phrases, hosts and texts: not one new series.
    assert_eq!(
        after_first_cycle.as_ref(),
        Some(&after),
        "series appeared after the first cycle"
    );

    // Every label value comes from the configuration or a closed set.
    let buckets: BTreeSet<String> = cfg
        .global
        .buckets
        .iter()
        .map(|b| b.to_string())
        .chain(["+Inf".to_string()])
        .collect();
    let allowed = |probe: bool, k: &str, v: &str| -> bool {
        match k {
            "service" => v == "card",
            "transaction" => ["two-steps", "one-step"].contains(&v),
            "step" => ["warmup", "hostile"].contains(&v),
            "location" => v == "card-a",
            "result" => ["success", "failure"].contains(&v),
            "reason" => Reason::ALL.iter().any(|r| r.as_str() == v),
            "phase" => Phase::ALL.iter().any(|p| p.as_str() == v),
            "le" if probe => buckets.contains(v),
            // The scheduler's own fixed buckets.
            "le" => v == "+Inf" || v.parse::<f64>().is_ok(),
            "version" | "rustc" => true,
            // Labels added later must not carry outside text either.
            _ => !v.contains("HOSTILE") && !v.contains(".example"),
        }
    };
    for (name, labels) in &after {
        let probe = labels.contains_key("transaction");
        for (k, v) in labels {
            assert!(allowed(probe, k, v), "{name}: {k}=\"{v}\"");
        }
    }
    assert!(!text.contains("HOSTILE"), "{text}");

    // The bound, from the configuration alone: per transaction, the success
    // gauge, one counter per reason and the skip counter; the run's duration
    // histogram for the two-step one only; per step its duration histogram
    // and five phases. A histogram: the successes' buckets, `_sum` and
    // `_count`, the failures' `+Inf`, `_sum` and `_count`.
    let per_histogram = cfg.global.buckets.len() + 3 + 3;
    let steps = 3;
    let bound = 2 * (1 + 1 + Reason::ALL.len())
        + per_histogram
        + steps * (per_histogram + Phase::ALL.len());
    let probe_series = after
        .iter()
        .filter(|(_, l)| l.contains_key("transaction"))
        .count();
    assert!(
        probe_series <= bound,
        "{probe_series} series for 2 transactions and 3 steps, bound {bound}"
    );
}

/// What a transaction of each shape costs, in series of one scrape (all
/// those with its `transaction` label), pinned: the figures docs/metrics.md
/// gives ("a transaction with n steps costs …"). Real runs against loopback
/// servers, plain HTTP (HTTPS adds 2 per step and, with the legacy-TLS
/// check, 2 per step checked), default buckets unless said otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_per_transaction_shape() {
    async fn answer(mut s: tokio::net::TcpStream) {
        let mut buf = [0u8; 1024];
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
        let _ = s.write_all(ok).await;
        let _ = s.shutdown().await;
    }
    let a = crate::common::server::serve("127.0.0.1:0", answer);
    // The same port on a second loopback address, for `resolve: all`.
    crate::common::server::serve(("127.0.0.2", a.port()), answer);
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 two.test\n127.0.0.2 two.test\n").unwrap();
    let steps = |n: usize, host: &str| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "          - {{name: s{i}, url: 'http://{host}:{}/ok'}}\n",
                    a.port()
                )
            })
            .collect()
    };
    assert_eq!(
        mimamori::config::DEFAULT_BUCKETS.len(),
        16,
        "the figures below are for the default 16 bucket boundaries"
    );
    // (shape, `global` lines, transaction lines, steps, series)
    let shapes = [
        ("one step", "", "", steps(1, "127.0.0.1"), 39),
        ("two steps", "", "", steps(2, "127.0.0.1"), 88),
        ("three steps", "", "", steps(3, "127.0.0.1"), 115),
        ("five steps", "", "", steps(5, "127.0.0.1"), 169),
        (
            "one step, retries: 2",
            "",
            "        retries: 2\n",
            steps(1, "127.0.0.1"),
            44,
        ),
        (
            "one step, buckets [0.5, 1, 3]",
            "  buckets: [0.5, 1, 3]\n",
            "",
            steps(1, "127.0.0.1"),
            26,
        ),
        (
            "one step, resolve: all, two addresses",
            "",
            "        resolve: all\n",
            steps(1, "two.test"),
            87,
        ),
        (
            "two steps, resolve: all, two addresses",
            "",
            "        resolve: all\n",
            steps(2, "two.test"),
            207,
        ),
    ];
    let mut got = Vec::new();
    for (shape, global, options, steps, _) in &shapes {
        let yaml = format!(
            "global:\n  location: shape\n  interval: 1h\n  timeout: 5s\n  step_timeout: 2s\n  hosts_file: '{}'\n{global}\
             services:\n  - name: svc\n    display_name: {{ja: 試験, en: Test}}\n    transactions:\n      - name: tx\n{options}        steps:\n{steps}",
            hosts.display()
        );
        let cfg =
            mimamori::config::parse(&yaml, "shape.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let ctx = mimamori::probe::ProbeContext::default();
        let plans = mimamori::probe::plan::build_in(
            &ctx,
            &cfg,
            "shape",
            &|_| None,
            &mimamori::config::load_secrets(&cfg, &|_| None),
        )
        .unwrap();
        let metrics = Metrics::new(&cfg.global.buckets);
        let mut tx = metrics.transaction(&plans[0]);
        let outcome = transaction::run(&plans[0], &ctx).await;
        assert!(outcome.success, "{shape}: {:?}", outcome.message);
        tx.record(&outcome);
        let text = metrics.render();
        let n = series(&text)
            .iter()
            .filter(|(_, l)| l.get("transaction").map(String::as_str) == Some("tx"))
            .count();
        got.push((*shape, n));
    }
    let want: Vec<(&str, usize)> = shapes.iter().map(|s| (s.0, s.4)).collect();
    assert_eq!(got, want, "series per transaction shape");
}
