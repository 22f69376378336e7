use super::*;

const CFG: &str = "global: {location: test-a, interval: 1h, timeout: 10s}\nservices:\n  - name: svc\n    display_name: {ja: サービス, en: Service}\n    transactions:\n      - name: home\n        steps:\n          - {name: get, url: 'http://127.0.0.1:9/'}\n";

fn body(r: Response<Body>) -> String {
    use http_body_util::BodyExt;
    let b = futures_lite_block(r.into_body().collect());
    String::from_utf8(b.unwrap().to_bytes().to_vec()).unwrap()
}

/// An exporter running the configuration `src`, which reload re-applies.
fn fixed_app(src: &str) -> Arc<App> {
    let cfg = config::parse(src, "c.yaml").unwrap();
    App::start(
        cfg.clone(),
        AppOptions {
            env: Arc::new(|_| None),
            ..AppOptions::new(ConfigSource::Fixed(Box::new(cfg)))
        },
    )
    .unwrap()
}

fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn bad_reload_keeps_the_running_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, CFG).unwrap();
    let cfg = config::load(&path).unwrap();
    let app = App::start(
        cfg,
        AppOptions {
            env: Arc::new(|_| None),
            ..AppOptions::new(ConfigSource::File(path.clone()))
        },
    )
    .unwrap();
    assert_eq!(
        app.respond(&Method::GET, "/-/healthy", "").status(),
        StatusCode::OK
    );
    let m = body(app.respond(&Method::GET, "/metrics", ""));
    assert!(
        m.contains("mimamori_config_last_reload_successful 1"),
        "{m}"
    );
    assert!(
        m.contains("mimamori_maintenance_active{location=\"test-a\",service=\"svc\"} 0"),
        "{m}"
    );

    std::fs::write(
        &path,
        CFG.replace("name: home", "name: home\n        colour: red"),
    )
    .unwrap();
    let r = app.respond(&Method::POST, "/-/reload", "");
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = body(r);
    assert!(
        text.contains("c.yaml:7:9: services[0].transactions[0]: unknown field `colour`"),
        "{text}"
    );
    let m = body(app.respond(&Method::GET, "/metrics", ""));
    assert!(m.contains("mimamori_config_last_reload_successful 0"));
    assert!(
        m.contains("transaction=\"home\""),
        "old transaction must keep running"
    );
    assert_eq!(app.config().services[0].transactions[0].name, "home");

    std::fs::write(&path, CFG.replace("name: home", "name: start")).unwrap();
    assert_eq!(
        app.respond(&Method::POST, "/-/reload", "").status(),
        StatusCode::OK
    );
    let m = body(app.respond(&Method::GET, "/metrics", ""));
    assert!(m.contains("mimamori_config_last_reload_successful 1"));
    assert!(
        m.contains("transaction=\"start\"") && !m.contains("transaction=\"home\""),
        "{m}"
    );
    app.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn no_request_can_choose_a_target() {
    let app = fixed_app(CFG);
    for path in ["/probe", "/metrics/../probe"] {
        assert_eq!(
            app.respond(&Method::GET, path, "target=http://169.254.169.254/")
                .status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        app.respond(&Method::DELETE, "/metrics", "").status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    app.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_stream_cut_short_is_an_error_not_a_short_answer() {
    use http_body_util::BodyExt;
    let whole = Body::stream((), |send| send("a\n".into()) && send("b\n".into()));
    assert_eq!(whole.collect().await.unwrap().to_bytes(), "a\nb\n");
    let cut = Body::stream((), |send| {
        send("partial\n".into());
        false
    });
    assert!(cut.collect().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn scrapes_at_once_are_bounded_and_free_their_slot_when_done() {
    // 200 transactions: about 2 MB of exposition, more than a scrape writes
    // ahead of its client, so an unread scrape keeps its writer (and slot).
    let mut yaml = CFG.replace(
        "      - name: home\n        steps:\n          - {name: get, url: 'http://127.0.0.1:9/'}\n",
        "",
    );
    for i in 0..200 {
        yaml += &format!("      - name: t{i}\n        steps:\n          - {{name: get, url: 'http://127.0.0.1:9/'}}\n");
    }
    let app = fixed_app(&yaml);
    // Answers whose bodies nobody reads yet hold their slots.
    let held: Vec<_> = (0..MAX_SCRAPES)
        .map(|_| app.respond(&Method::GET, "/metrics", ""))
        .collect();
    assert!(held.iter().all(|r| r.status() == StatusCode::OK));
    let over = app.respond(&Method::GET, "/metrics", "");
    assert_eq!(over.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(over.headers()["retry-after"], "1");
    // Reading one to the end frees its slot.
    let first = held.into_iter().next().unwrap();
    assert!(body(first).contains("mimamori_transactions 200"));
    let mut ok = false;
    for _ in 0..100 {
        if app.respond(&Method::GET, "/metrics", "").status() == StatusCode::OK {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ok, "the slot of a finished scrape was never freed");
}

/// `--shard` runs only the shard's transactions, says so in
/// `mimamori_shard_info`, and keeps its shard across a reload (the flag
/// overrides `global.shard`, also in the reloaded file).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn shard_runs_its_transactions_and_survives_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    let names: Vec<String> = (0..12).map(|i| format!("tx-{i}")).collect();
    let mut src = CFG.to_string();
    src.truncate(src.find("      - name: home").unwrap());
    for n in &names {
        src.push_str(&format!(
            "      - name: {n}\n        steps:\n          - {{name: get, url: 'http://127.0.0.1:9/'}}\n"
        ));
    }
    std::fs::write(&path, &src).unwrap();
    let shard = Shard::new(1, 3).unwrap();
    let want: Vec<&String> = names.iter().filter(|n| shard.runs("svc", n)).collect();
    assert!(!want.is_empty() && want.len() < names.len(), "{want:?}");
    let app = App::start(
        config::load(&path).unwrap(),
        AppOptions {
            env: Arc::new(|_| None),
            shard: Some(shard),
            ..AppOptions::new(ConfigSource::File(path.clone()))
        },
    )
    .unwrap();
    let check = |app: &App| {
        let m = body(app.respond(&Method::GET, "/metrics", ""));
        assert!(
            m.contains("mimamori_shard_info{count=\"3\",index=\"1\"} 1"),
            "{m}"
        );
        assert!(!m.contains("count=\"1\""), "{m}");
        assert!(
            m.contains(&format!("mimamori_transactions {}", want.len())),
            "{m}"
        );
        for n in &names {
            let runs = m.contains(&format!("transaction=\"{n}\""));
            assert_eq!(runs, want.contains(&n), "{n}");
        }
    };
    check(&app);
    // The file now names another shard: the flag still wins.
    std::fs::write(
        &path,
        src.replace("interval: 1h", "interval: 1h, shard: 0/2"),
    )
    .unwrap();
    assert_eq!(
        app.respond(&Method::POST, "/-/reload", "").status(),
        StatusCode::OK
    );
    assert_eq!(app.shard(), shard);
    check(&app);
    app.stop();
}

/// Without the flag, `global.shard` chooses, and a reload that changes it moves the prober.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn config_shard_applies_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, CFG).unwrap();
    let app = App::start(
        config::load(&path).unwrap(),
        AppOptions {
            env: Arc::new(|_| None),
            ..AppOptions::new(ConfigSource::File(path.clone()))
        },
    )
    .unwrap();
    let m = body(app.respond(&Method::GET, "/metrics", ""));
    assert!(
        m.contains("mimamori_shard_info{count=\"1\",index=\"0\"} 1"),
        "{m}"
    );
    assert!(m.contains("mimamori_transactions 1"), "{m}");
    // "home" of "svc" is in shard Shard::of("svc", "home", 2); take the other one.
    let other = 1 - Shard::of("svc", "home", 2);
    std::fs::write(
        &path,
        CFG.replace("timeout: 10s", &format!("timeout: 10s, shard: {other}/2")),
    )
    .unwrap();
    assert_eq!(
        app.respond(&Method::POST, "/-/reload", "").status(),
        StatusCode::OK
    );
    let m = body(app.respond(&Method::GET, "/metrics", ""));
    assert!(
        m.contains(&format!(
            "mimamori_shard_info{{count=\"2\",index=\"{other}\"}} 1"
        )),
        "{m}"
    );
    assert!(m.contains("mimamori_transactions 0"), "{m}");
    assert!(!m.contains("transaction=\"home\""), "{m}");
    app.stop();
}

/// A loopback hyper server answering every request with the status held in `status`.
async fn status_server(status: Arc<std::sync::atomic::AtomicU16>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let status = status.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req: Request<Incoming>| {
                    let code = status.load(std::sync::atomic::Ordering::SeqCst);
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(code)
                                .body(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// Waits (at most 20 s) until `/metrics` satisfies `pred`; returns that exposition.
async fn wait_metrics(app: &App, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let m = app.metrics.render();
        if pred(&m) {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}:\n{m}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Real self-check targets on loopback: a TCP listener and an HTTP server.
/// While either answers the prober is healthy; when both fail it is blind
/// (`mimamori_prober_healthy 0`, since when); it is healthy again only after
/// the targets have passed for the longest transaction interval plus its
/// timeout. Only the configured location's targets are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_checks_turn_the_prober_blind_and_back() {
    use std::sync::atomic::{AtomicU16, Ordering};
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    let status = Arc::new(AtomicU16::new(200));
    let http_addr = status_server(status.clone()).await;
    let src = format!(
        "global: {{location: test-a, interval: 1s, timeout: 500ms, step_timeout: 500ms}}\n\
         services:\n  - name: svc\n    display_name: {{ja: サービス, en: Service}}\n    transactions:\n\
         \x20     - name: home\n        steps:\n          - {{name: get, url: 'http://{http_addr}/'}}\n\
         self_check:\n  interval: 100ms\n  timeout: 100ms\n  targets:\n\
         \x20   - {{name: uplink-tcp, tcp: '{tcp_addr}'}}\n\
         \x20   - {{name: uplink-http, url: 'http://{http_addr}/generate_204', status: [204, 200]}}\n\
         \x20   - {{name: elsewhere, tcp: '127.0.0.1:9'}}\n\
         \x20 locations:\n    test-a: [uplink-tcp, uplink-http]\n    other: [elsewhere]\n"
    );
    let app = fixed_app(&src);
    let healthy = |v: u8| format!("mimamori_prober_healthy{{location=\"test-a\"}} {v}\n");
    let m = wait_metrics(&app, "both targets pass", |m| {
        m.contains("mimamori_self_check_success{location=\"test-a\",target=\"uplink-tcp\"} 1\n")
            && m.contains(
                "mimamori_self_check_success{location=\"test-a\",target=\"uplink-http\"} 1\n",
            )
    })
    .await;
    assert!(m.contains(&healthy(1)), "{m}");
    assert!(
        m.contains("mimamori_prober_unhealthy_since_timestamp_seconds{location=\"test-a\"} 0\n"),
        "{m}"
    );
    assert!(
        !m.contains("elsewhere"),
        "another location's target is never checked: {m}"
    );

    // One target failing is not blindness.
    drop(tcp);
    let m = wait_metrics(&app, "the TCP target fails", |m| {
        m.contains("target=\"uplink-tcp\"} 0\n")
    })
    .await;
    assert!(m.contains(&healthy(1)), "{m}");

    // Both fail: blind, since about now.
    status.store(503, Ordering::SeqCst);
    let before = super::unix_now();
    let m = wait_metrics(&app, "blind", |m| m.contains(&healthy(0))).await;
    let since: f64 = m
        .lines()
        .find(|l| l.starts_with("mimamori_prober_unhealthy_since_timestamp_seconds{"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("since is exported");
    assert!(
        since >= before - 1.0 && since <= super::unix_now(),
        "{since} vs {before}"
    );

    // The HTTP target answers again: still blind for the hold (1 s interval +
    // 500 ms timeout), then healthy.
    status.store(200, Ordering::SeqCst);
    let passing = tokio::time::Instant::now();
    let m = wait_metrics(&app, "the HTTP target passes", |m| {
        m.contains("target=\"uplink-http\"} 1\n")
    })
    .await;
    assert!(m.contains(&healthy(0)), "not healthy at once: {m}");
    let m = wait_metrics(&app, "healthy again", |m| m.contains(&healthy(1))).await;
    // The new families pass Prometheus' own linter.
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed (scripts/test.sh)");
    {
        use std::io::Write;
        let mut stdin = promtool.stdin.take().unwrap();
        stdin.write_all(m.as_bytes()).unwrap();
    }
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        m.contains("# TYPE mimamori_self_check_success gauge"),
        "{m}"
    );
    assert!(
        passing.elapsed() >= std::time::Duration::from_millis(1400),
        "healthy again after {:?}, before the hold",
        passing.elapsed()
    );
    app.stop();
}
