//! The real binary: `mimamori demo` on a real listener, scraped over HTTP,
//! its output judged by the real `promtool check metrics`.

use std::time::Duration;

use crate::common::{http, promtool_check_metrics, start_demo, wait_until};

fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Polls /metrics until `pred` holds (bounded).
fn wait_for(addr: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    wait_until(Duration::from_secs(20), what, || {
        let (_, m) = http(addr, "GET", "/metrics");
        if pred(&m) {
            Ok(m)
        } else {
            Err(m)
        }
    })
}

const HANBAI_OK: &str =
    "mimamori_probe_success{location=\"tokyo-a\",service=\"hanbai\",transaction=\"order-lookup\"}";
const DENSHIBIN_OK: &str = "mimamori_probe_success{location=\"tokyo-a\",service=\"denshibin\",transaction=\"receive-document\"}";

#[test]
fn demo_probes_simulated_services_and_faults_show_up() {
    // The HTTP transactions alone: 1 s timeouts leave no room for a Chromium
    // starting beside them (the browser ones are tested in `ui` below).
    let demo = start_demo(&["--interval", "1s", "--no-browser"]);
    let a = demo.addr.as_str();
    assert_eq!(http(a, "GET", "/-/healthy").0, 200);
    assert_eq!(http(a, "GET", "/-/ready").0, 200);
    let m = wait_for(a, "both services up", |m| {
        value(m, HANBAI_OK) == Some(1.0) && value(m, DENSHIBIN_OK) == Some(1.0)
    });
    // Every operation of the shipped transactions was measured, with a bucket at 3 s.
    for step in [
        "login",
        "search-orders",
        "open-order",
        "list-documents",
        "download-document",
    ] {
        assert!(
            m.contains(&format!("step=\"{step}\"")),
            "missing step {step}"
        );
    }
    assert!(m.contains("le=\"3\""));

    let (code, body) = http(
        a,
        "POST",
        "/demo/fault?service=denshibin&mode=down&seconds=30",
    );
    assert_eq!(code, 200, "{body}");
    let m = wait_for(a, "denshibin down", |m| value(m, DENSHIBIN_OK) == Some(0.0));
    assert!(value(&m, "mimamori_probe_failures_total{location=\"tokyo-a\",reason=\"status\",service=\"denshibin\"").unwrap() >= 1.0);
    assert_eq!(
        value(&m, HANBAI_OK),
        Some(1.0),
        "a fault in one service must not touch the other"
    );

    http(
        a,
        "POST",
        "/demo/fault?service=denshibin&mode=refuse&seconds=30",
    );
    wait_for(a, "connection refused", |m| {
        value(m, "mimamori_probe_failures_total{location=\"tokyo-a\",reason=\"connect\",service=\"denshibin\"").unwrap_or(0.0) >= 1.0
    });
    http(a, "POST", "/demo/fault?service=denshibin&mode=ok&seconds=1");
    wait_for(a, "denshibin recovered", |m| {
        value(m, DENSHIBIN_OK) == Some(1.0)
    });

    assert_eq!(http(a, "POST", "/demo/fault?service=nope&mode=down").0, 400);
    assert_eq!(
        http(a, "POST", "/demo/fault?service=hanbai&mode=explode").0,
        400
    );
    assert_eq!(http(a, "GET", "/probe?target=http://127.0.0.1:22/").0, 404);
}

#[test]
fn metrics_pass_promtool_check_metrics() {
    let demo = start_demo(&["--interval", "1s", "--maintenance", "hanbai"]);
    let m = wait_for(&demo.addr, "first runs", |m| {
        value(m, HANBAI_OK).is_some() && value(m, DENSHIBIN_OK).is_some()
    });
    assert_eq!(
        value(
            &m,
            "mimamori_maintenance_active{location=\"tokyo-a\",service=\"hanbai\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "mimamori_maintenance_active{location=\"tokyo-a\",service=\"denshibin\"}"
        ),
        Some(0.0)
    );
    let (ok, report) = promtool_check_metrics(&m);
    assert!(
        ok && report.trim().is_empty(),
        "promtool check metrics:\n{report}"
    );
}

/// The simulated services' web UI (issue 27): the demo's `/demo` lists the
/// services and fault modes; these are the parts of it a browser transaction uses.
#[allow(
    clippy::disallowed_methods,
    reason = "real servers in real time: how long an answer took is a wall-clock time"
)]
mod ui {
    use std::path::Path;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use reqwest::blocking::{Client, Response};

    use crate::common::{http, start_demo, tools, Demo};

    /// The demo's simulated services by name, from `GET /demo`.
    fn service_url(demo: &Demo, service: &str) -> String {
        let (code, body) = http(&demo.addr, "GET", "/demo");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == service)
            .unwrap_or_else(|| panic!("{service} in {body}"))["url"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A client for the services' demo certificates, following no redirects.
    fn client() -> Client {
        Client::builder()
            .danger_accept_invalid_certs(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .no_proxy()
            .build()
            .unwrap()
    }

    fn header(r: &Response, name: &str) -> String {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// Logs in through the UI form: the session cookie (`name=value`).
    fn log_in(c: &Client, base: &str) -> String {
        let r = c
            .post(format!("{base}/ui/login"))
            .form(&[("user", "tanaka"), ("password", "anything")])
            .send()
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(header(&r, "location"), "/ui/list");
        let cookie = header(&r, "set-cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("Secure"),
            "{cookie}"
        );
        cookie.split(';').next().unwrap().to_string()
    }

    fn get(c: &Client, url: &str, cookie: &str) -> (u16, String, String) {
        let r = c.get(url).header("cookie", cookie).send().unwrap();
        let status = r.status().as_u16();
        let location = header(&r, "location");
        (status, location, r.text().unwrap())
    }

    fn set_fault(demo: &Demo, service: &str, mode: &str) {
        let (code, body) = http(
            &demo.addr,
            "POST",
            &format!("/demo/fault?service={service}&mode={mode}&seconds=120"),
        );
        assert_eq!(code, 200, "{body}");
    }

    #[test]
    fn pages_are_served_and_ui_faults_change_only_the_script() {
        let demo = start_demo(&["--interval", "1s"]);
        let (_, listing) = http(&demo.addr, "GET", "/demo");
        for mode in ["ui_slow", "ui_broken"] {
            assert!(
                listing.contains(&format!("\"mode\":\"{mode}\"")),
                "{listing}"
            );
        }
        let (_, index) = http(&demo.addr, "GET", "/");
        assert!(index.contains("<code>ui_broken</code>"), "{index}");
        let hanbai = service_url(&demo, "hanbai");
        let denshibin = service_url(&demo, "denshibin");
        let c = client();

        let (code, _, login) = get(&c, &format!("{hanbai}/ui/login"), "");
        assert_eq!(code, 200);
        for part in [
            "<form id=\"login\"",
            "<input id=\"user\"",
            "type=\"password\"",
            "<button id=\"submit\" type=\"submit\"",
            "ログイン / Log in",
        ] {
            assert!(login.contains(part), "{part} in {login}");
        }
        // Without a session the list sends the browser to the login form.
        let (code, location, _) = get(&c, &format!("{hanbai}/ui/list"), "");
        assert_eq!((code, location.as_str()), (303, "/ui/login"));

        let cookie = log_in(&c, &hanbai);
        let (code, _, list) = get(&c, &format!("{hanbai}/ui/list"), &cookie);
        assert_eq!(code, 200);
        assert!(
            list.contains("<title>AOULU 販売 — 注文一覧 / Orders</title>"),
            "{list}"
        );
        assert!(list.contains("<ul id=\"list\"></ul>"));
        assert!(list.contains("<script src=\"/ui/app.js\"></script>"));
        // The script reads the product's JSON API on the same origin, with the UI session.
        let (code, _, orders) = get(&c, &format!("{hanbai}/api/orders?limit=20"), &cookie);
        assert_eq!(code, 200, "{orders}");
        assert!(orders.contains("SO-2026-01200"));
        assert_eq!(get(&c, &format!("{hanbai}/api/orders"), "").0, 401);
        let (code, _, detail) = get(&c, &format!("{hanbai}/ui/detail/SO-2026-01200"), &cookie);
        assert_eq!(code, 200);
        assert!(detail.contains("data-id=\"SO-2026-01200\"") && detail.contains("注文詳細"));
        assert_eq!(
            get(&c, &format!("{hanbai}/ui/detail/%3Cx%3E"), &cookie).0,
            404
        );

        let d_cookie = log_in(&c, &denshibin);
        let (_, _, d_list) = get(&c, &format!("{denshibin}/ui/list"), &d_cookie);
        assert!(
            d_list.contains("AOULU 電子便 — 受信一覧 / Inbox"),
            "{d_list}"
        );
        let (code, _, doc) = get(
            &c,
            &format!("{denshibin}/api/documents/DOC-880000"),
            &d_cookie,
        );
        assert_eq!(code, 200, "{doc}");
        assert!(doc.contains("\"id\":\"DOC-880000\""));

        let script = |base: &str| {
            let r = c.get(format!("{base}/ui/app.js")).send().unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(header(&r, "cache-control"), "no-store");
            assert!(header(&r, "content-type").starts_with("text/javascript"));
            r.text().unwrap()
        };
        assert!(script(&hanbai).contains(r#"var FAULT = { "mode": "ok", "delay_ms": 0 };"#));

        set_fault(&demo, "hanbai", "ui_slow");
        assert!(script(&hanbai).contains(r#"var FAULT = { "mode": "ui_slow", "delay_ms": 6000 };"#));
        assert!(
            script(&denshibin).contains(r#""mode": "ok""#),
            "a fault in one service must not touch the other"
        );
        // The API stays as fast as ever: the fastest of three answers well under a second
        // (`slow` would make each take 4 s).
        let fastest = (0..3)
            .map(|_| {
                let t = Instant::now();
                let (code, _, _) = get(&c, &format!("{hanbai}/api/orders?limit=20"), &cookie);
                assert_eq!(code, 200);
                t.elapsed()
            })
            .min()
            .unwrap();
        assert!(fastest < Duration::from_secs(1), "{fastest:?}");
        // …and so do the pages themselves and the HTTP transaction.
        assert_eq!(get(&c, &format!("{hanbai}/ui/list"), &cookie).0, 200);

        set_fault(&demo, "hanbai", "ui_broken");
        let broken = script(&hanbai);
        assert!(broken.contains(r#"var FAULT = { "mode": "ui_broken", "delay_ms": 0 };"#));
        assert!(broken.contains("throw new Error(\"demo fault ui_broken"));
        assert_eq!(get(&c, &format!("{hanbai}/api/orders"), &cookie).0, 200);
        let (_, m) = http(&demo.addr, "GET", "/metrics");
        assert!(
            m.contains("mimamori_probe_success{location=\"tokyo-a\",service=\"hanbai\",transaction=\"order-lookup\"} 1"),
            "the HTTP transaction cannot see a UI fault"
        );

        // `down` (and `refuse`) touch the UI like any other path.
        set_fault(&demo, "hanbai", "down");
        assert_eq!(get(&c, &format!("{hanbai}/ui/login"), "").0, 503);
        // `slow` is a slow application: the API and the login take 4 s, the UI's
        // static pages and script come as fast as ever.
        set_fault(&demo, "hanbai", "slow");
        let t = Instant::now();
        assert_eq!(get(&c, &format!("{hanbai}/api/orders"), &cookie).0, 200);
        assert!(t.elapsed() >= Duration::from_secs(4), "{:?}", t.elapsed());
        let t = Instant::now();
        assert_eq!(get(&c, &format!("{hanbai}/ui/list"), &cookie).0, 200);
        assert!(script(&hanbai).contains(r#""mode": "ok""#));
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        set_fault(&demo, "hanbai", "ok");
        assert!(script(&hanbai).contains(r#""mode": "ok""#));
    }

    /// Headless Chromium, as root, with a fresh profile and no traffic of its own,
    /// trusting any certificate (the demo's CA is made at start).
    fn chromium(chromium: &Path, args: &[String]) -> String {
        let profile = tempfile::tempdir().unwrap();
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--ignore-certificate-errors",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .output()
            .expect("chromium runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The DOM of `/ui/list` after logging in with the real form, `budget_ms` of
    /// the page's virtual time after the start: a local page fills in the login
    /// form and submits it, the service answers with its session cookie and a
    /// redirect to the list, and the list's script runs.
    fn list_dom(bin: &Path, base: &str, budget_ms: u64) -> String {
        page_dom(bin, base, "/ui/list", budget_ms)
    }

    /// The DOM of the UI page `next` after logging in (as [`list_dom`]).
    fn page_dom(bin: &Path, base: &str, next: &str, budget_ms: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        let start = dir.path().join("start.html");
        std::fs::write(
            &start,
            format!(
                "<!doctype html><form id=f method=post action=\"{base}/ui/login\">\
                 <input name=user value=tanaka><input name=password value=x>\
                 <input name=next value=\"{next}\"></form>\
                 <script>document.getElementById('f').submit()</script>"
            ),
        )
        .unwrap();
        chromium(
            bin,
            &[
                format!("--virtual-time-budget={budget_ms}"),
                "--dump-dom".into(),
                format!("file://{}", start.display()),
            ],
        )
    }

    #[test]
    fn the_list_renders_in_a_real_browser_and_ui_faults_show_there() {
        let Some(bin) = tools::tool("chromium") else {
            return;
        };
        let demo = start_demo(&["--interval", "60s"]);
        let hanbai = service_url(&demo, "hanbai");

        let dom = list_dom(&bin, &hanbai, 5_000);
        assert!(dom.contains("data-ready=\"1\""), "{dom}");
        assert_eq!(
            dom.matches("<li><a href=\"/ui/detail/").count(),
            20,
            "{dom}"
        );
        assert!(dom.contains("data-id=\"SO-2026-01200\""), "{dom}");
        assert!(dom.contains("20 件 / items"), "{dom}");
        let detail = page_dom(&bin, &hanbai, "/ui/detail/SO-2026-01200", 5_000);
        assert!(
            detail.contains("<div id=\"detail\"><h1>注文 / Order SO-2026-01200</h1>"),
            "{detail}"
        );
        let denshibin = service_url(&demo, "denshibin");
        let dom = list_dom(&bin, &denshibin, 5_000);
        assert!(dom.contains("data-id=\"DOC-880000\""), "{dom}");

        // ui_slow: 6 s of the page's time pass before the list shows.
        set_fault(&demo, "hanbai", "ui_slow");
        let early = list_dom(&bin, &hanbai, 3_000);
        assert!(early.contains("<ul id=\"list\"></ul>"), "{early}");
        assert!(!early.contains("data-ready"), "{early}");
        let late = list_dom(&bin, &hanbai, 9_000);
        assert!(late.contains("data-ready=\"1\""), "{late}");
        assert_eq!(late.matches("<li><a href=\"/ui/detail/").count(), 20);

        // ui_broken: the script throws, the list never appears.
        set_fault(&demo, "hanbai", "ui_broken");
        let broken = list_dom(&bin, &hanbai, 9_000);
        assert!(broken.contains("<ul id=\"list\"></ul>"), "{broken}");
        assert!(!broken.contains("data-ready"), "{broken}");
        assert!(broken.contains("読み込み中… / Loading…"), "{broken}");
    }

    /// `mimamori demo` runs one browser transaction per service against the web
    /// UI (src/demo/browser.yaml), and the UI-only faults show in their series
    /// only: `ui_slow` as a slow list step, `ui_broken` as `selector_timeout`,
    /// while the HTTP transactions keep succeeding.
    #[test]
    fn the_demo_runs_its_browser_transactions_and_sees_ui_faults() {
        if tools::tool("chromium").is_none() {
            return;
        }
        // The shipped 15 s interval: the HTTP steps keep their 5 s timeouts while
        // Chromium works beside them on a busy machine.
        let demo = start_demo(&[]);
        // Before the first browser runs (they start within their 15 s interval).
        set_fault(&demo, "hanbai", "ui_slow");
        set_fault(&demo, "denshibin", "ui_broken");
        let series = |m: &str, name: &str, labels: &[(&str, &str)]| -> Option<f64> {
            m.lines()
                .filter(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b'{'))
                .find(|l| {
                    labels
                        .iter()
                        .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
                })
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        };
        let m = crate::common::wait_until(
            Duration::from_secs(120),
            "both browser transactions ran",
            || {
                let (_, m) = http(&demo.addr, "GET", "/metrics");
                let slow_list = series(
                    &m,
                    "mimamori_step_duration_seconds_count",
                    &[
                        ("transaction", "order-ui"),
                        ("step", "show-orders"),
                        ("result", "success"),
                    ],
                )
                .unwrap_or(0.0)
                    >= 1.0;
                let broken = series(
                    &m,
                    "mimamori_probe_failures_total",
                    &[("transaction", "inbox-ui"), ("reason", "selector_timeout")],
                )
                .unwrap_or(0.0)
                    >= 1.0;
                if slow_list && broken {
                    Ok(m)
                } else {
                    Err(m)
                }
            },
        );
        // The list rendered 6 s after the API answered: past the 3 s objective.
        let sum = series(
            &m,
            "mimamori_step_duration_seconds_sum",
            &[
                ("transaction", "order-ui"),
                ("step", "show-orders"),
                ("result", "success"),
            ],
        )
        .unwrap();
        let count = series(
            &m,
            "mimamori_step_duration_seconds_count",
            &[
                ("transaction", "order-ui"),
                ("step", "show-orders"),
                ("result", "success"),
            ],
        )
        .unwrap();
        assert!(
            sum / count >= 6.0 && sum / count < 11.0,
            "show-orders took {} s on average",
            sum / count
        );
        assert_eq!(
            series(
                &m,
                "mimamori_step_duration_seconds_bucket",
                &[
                    ("transaction", "order-ui"),
                    ("step", "show-orders"),
                    ("result", "success"),
                    ("le", "3")
                ]
            ),
            Some(0.0),
            "not one list shown within 3 s"
        );
        for step in ["open-login", "open-order-ui"] {
            assert!(
                series(
                    &m,
                    "mimamori_step_duration_seconds_count",
                    &[
                        ("transaction", "order-ui"),
                        ("step", step),
                        ("result", "success")
                    ]
                )
                .unwrap_or(0.0)
                    >= 1.0,
                "{step}"
            );
        }
        assert_eq!(
            series(&m, "mimamori_probe_success", &[("transaction", "order-ui")]),
            Some(1.0)
        );
        assert_eq!(
            series(&m, "mimamori_probe_success", &[("transaction", "inbox-ui")]),
            Some(0.0)
        );
        // The HTTP transactions see nothing wrong (their latest runs succeeded).
        for tx in ["order-lookup", "receive-document"] {
            assert_eq!(
                series(&m, "mimamori_probe_success", &[("transaction", tx)]),
                Some(1.0),
                "{tx}"
            );
        }
    }
}
