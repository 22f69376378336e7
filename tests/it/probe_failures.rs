//! Every failure reason, produced by a real local server that misbehaves that
//! way, within its deadline plus a small margin (one table, [`CASES`]); and
//! the positive path those servers share with real applications.

use std::sync::Arc;
use std::time::Duration;

use mimamori::config;
use mimamori::probe::plan::{self, TransactionPlan};
use mimamori::probe::transaction;
use mimamori::probe::{Outcome, Reason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server (on a thread of its own) that answers every connection with
/// `behave`; its address.
fn server<F, Fut>(behave: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    crate::common::server::serve("127.0.0.1:0", behave).to_string()
}

async fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut b).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Reads a request head and its body (by content-length).
async fn read_request(s: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut b).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < end + len {
        match s.read(&mut b).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    Some((
        head,
        String::from_utf8_lossy(&buf[end..end + len]).into_owned(),
    ))
}

fn respond(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Builds a one-transaction plan from YAML steps.
fn plan_from(steps: &str, extra_global: &str) -> Arc<TransactionPlan> {
    let src = format!(
        "global: {{location: test, interval: 1m, timeout: 5s, step_timeout: 1s, max_body_bytes: 65536{extra_global}}}\n\
         secrets: {{pw: {{env: TEST_PW}}}}\n\
         services:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: tx\n        steps:\n{steps}"
    );
    let cfg = config::parse(&src, "test.yaml").unwrap_or_else(|e| panic!("{e}\n{src}"));
    let env = |k: &str| (k == "TEST_PW").then(|| "hunter2-secret".to_string());
    plan::build(&cfg, "test", &env).unwrap().remove(0)
}

fn get(url: &str) -> String {
    format!("          - {{name: get, url: '{url}'}}\n")
}

async fn run_timed(plan: &TransactionPlan) -> (Outcome, Duration) {
    let t = tokio::time::Instant::now();
    let o = transaction::run(plan, &mimamori::probe::ProbeContext::default()).await;
    (o, t.elapsed())
}

const MARGIN: Duration = Duration::from_millis(500);
const SECOND: Duration = Duration::from_secs(1);

/// One way to fail: the plan (starting its misbehaving server), the reason
/// the run must fail with, the time it must take less than, and what else
/// must hold of the outcome.
struct Case {
    name: &'static str,
    plan: fn() -> Arc<TransactionPlan>,
    reason: Reason,
    within: Duration,
    check: fn(&Outcome),
}

/// A `get` of `path` on a server that behaves as `behave`, as a plan.
fn get_from<F, Fut>(scheme: &str, path: &str, behave: F) -> Arc<TransactionPlan>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    plan_from(&get(&format!("{scheme}://{}{path}", server(behave))), "")
}

/// Redirects `/away` to another host and everything else to `/again`.
async fn redirector(mut s: TcpStream) {
    loop {
        let head = read_head(&mut s).await;
        if head.is_empty() {
            return;
        }
        let to = if head.starts_with("GET /away") {
            "http://elsewhere.example/"
        } else {
            "/again"
        };
        let _ = s
            .write_all(
                format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
                    .as_bytes(),
            )
            .await;
    }
}

/// Three steps on a server that answers each request after 900 ms, in a
/// transaction with a 2 s deadline: the third step is cut.
fn three_slow_steps() -> Arc<TransactionPlan> {
    let a = server(|mut s| async move {
        loop {
            if read_head(&mut s).await.is_empty() {
                return;
            }
            // Two steps (800 ms) fit the 1,150 ms deadline with 350 ms to
            // spare under load; the third (to 1,200 ms) cannot.
            tokio::time::sleep(Duration::from_millis(400)).await;
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let steps = format!(
        "{}{}{}",
        get(&format!("http://{a}/1")),
        get(&format!("http://{a}/2")).replace("name: get", "name: two"),
        get(&format!("http://{a}/3")).replace("name: get", "name: three")
    );
    let mut p = Arc::try_unwrap(plan_from(&steps, "")).unwrap();
    p.timeout = Duration::from_millis(1150);
    Arc::new(p)
}

const CASES: &[Case] = &[
    Case {
        name: "connection refused",
        plan: || {
            let port = crate::common::prometheus::free_port();
            plan_from(&get(&format!("http://127.0.0.1:{port}/")), "")
        },
        reason: Reason::Connect,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "nxdomain",
        plan: || plan_from(&get("http://no-such-host.invalid/"), ""),
        reason: Reason::Dns,
        within: SECOND.saturating_add(MARGIN),
        check: |_| {},
    },
    Case {
        name: "accepts and never answers",
        plan: || {
            get_from("http", "/", |mut s| async move {
                read_head(&mut s).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            })
        },
        reason: Reason::Timeout,
        within: SECOND.saturating_add(MARGIN),
        check: |o| {
            assert!(
                o.steps[0].phases.get(mimamori::probe::Phase::Connect) > Duration::ZERO
                    || o.steps[0].duration >= SECOND
            )
        },
    },
    Case {
        name: "slowloris, one byte per second",
        plan: || {
            get_from("http", "/", |mut s| async move {
                read_head(&mut s).await;
                for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" {
                    if s.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        },
        reason: Reason::Timeout,
        within: SECOND.saturating_add(MARGIN),
        check: |_| {},
    },
    Case {
        name: "reset mid-response",
        plan: || {
            get_from("http", "/", |mut s| async move {
                read_head(&mut s).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
                    .await;
                #[allow(deprecated)]
                let _ = s.set_linger(Some(Duration::ZERO));
                drop(s);
            })
        },
        reason: Reason::Protocol,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "endless body hits the size limit",
        plan: || {
            get_from("http", "/", |mut s| async move {
                read_head(&mut s).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .await;
                let chunk = format!("{:x}\r\n{}\r\n", 8192, "x".repeat(8192));
                while s.write_all(chunk.as_bytes()).await.is_ok() {}
            })
        },
        reason: Reason::BodyTooLarge,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "declared huge body is refused before reading",
        plan: || {
            get_from("http", "/", |mut s| async move {
                read_head(&mut s).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
                    .await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            })
        },
        reason: Reason::BodyTooLarge,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "invalid HTTP",
        plan: || {
            get_from("http", "/", |mut s| async move {
                read_head(&mut s).await;
                let _ = s.write_all(b"HELLO THERE\r\n\r\n").await;
            })
        },
        reason: Reason::Protocol,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "huge headers",
        plan: || {
            get_from("http", "/", |mut s| async move {
                read_head(&mut s).await;
                let big = format!(
                    "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
                    "a".repeat(1 << 20)
                );
                let _ = s.write_all(big.as_bytes()).await;
            })
        },
        reason: Reason::Protocol,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "TLS handshake with a plain server",
        plan: || {
            get_from("https", "/", |mut s| async move {
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            })
        },
        reason: Reason::Tls,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "redirect loop",
        plan: || get_from("http", "/", redirector),
        reason: Reason::Redirect,
        within: MARGIN,
        check: |o| {
            let m = o.message.as_deref().unwrap();
            assert!(m.contains("more than 10 redirects"), "{m}");
        },
    },
    Case {
        name: "redirect to another host",
        plan: || get_from("http", "/away", redirector),
        reason: Reason::Redirect,
        within: MARGIN,
        check: |o| {
            let m = o.message.as_deref().unwrap();
            assert!(
                m.contains("another host elsewhere.example is not allowed"),
                "{m}"
            );
        },
    },
    Case {
        name: "unexpected status",
        plan: || plan_from(&get(&format!("http://{}/fail", app())), ""),
        reason: Reason::Status,
        within: MARGIN,
        check: |_| {},
    },
    Case {
        name: "transaction deadline cuts the current step",
        plan: three_slow_steps,
        reason: Reason::Timeout,
        within: Duration::from_millis(1150).saturating_add(MARGIN),
        check: |o| {
            assert_eq!(o.steps.len(), 3);
            assert_eq!(o.steps[2].name, "three");
            assert!(o.steps[..2].iter().all(|s| s.success));
        },
    },
];

/// Every case of [`CASES`] in turn, each in a task of its own so that one
/// failing does not hide the others; the failing ones are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_reason_within_its_deadline() {
    let mut failed = Vec::new();
    for case in CASES {
        let run = tokio::spawn(async move {
            let plan = (case.plan)();
            let (o, took) = run_timed(&plan).await;
            assert!(!o.success, "expected failure: {o:?}");
            assert_eq!(o.reason, Some(case.reason), "{o:?}");
            assert!(took < case.within, "took {took:?}, limit {:?}", case.within);
            (case.check)(&o);
        });
        if let Err(e) = run.await {
            let why = e.into_panic();
            let why = why
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| why.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            failed.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        CASES.len(),
        failed.join("\n")
    );
}

/// Relative Locations resolve as a browser resolves them: `?page=2` from
/// `/x/y` stays on `/x/y`, `../z` from `/x/y/w` goes to `/x/z`.
#[tokio::test]
async fn relative_redirects_resolve_like_a_browser() {
    let a = server(|mut s| async move {
        loop {
            let head = read_head(&mut s).await;
            let resp = match head.split(' ').nth(1).unwrap_or("") {
                "" => return,
                "/x/y" => "302 Found\r\nLocation: ?page=2",
                "/x/y?page=2" => "302 Found\r\nLocation: w/../w/v",
                "/x/w/v" => "302 Found\r\nLocation: ../../z",
                "/z" => "200 OK",
                _ => "404 Not Found",
            };
            let resp = format!("HTTP/1.1 {resp}\r\nContent-Length: 0\r\n\r\n");
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let (o, _) = run_timed(&plan_from(&get(&format!("http://{a}/x/y")), "")).await;
    assert!(o.success, "{o:?}");
}

/// A small HTTP app for the positive path: login (sets a cookie and returns a
/// token), then an order page that needs both.
fn app() -> String {
    server(|mut s| async move {
        while let Some((head, body)) = read_request(&mut s).await {
            let resp = if head.starts_with("POST /login") && body.contains("hunter2-secret") {
                respond(
                    "200 OK",
                    "Content-Type: application/json\r\nSet-Cookie: sid=abc; Path=/\r\n",
                    r#"{"token":"tok-SECRET-123","ok":true}"#,
                )
            } else if head.starts_with("GET /orders/42")
                && head.contains("cookie: sid=abc")
                && head.contains("authorization: Bearer tok-SECRET-123")
            {
                respond(
                    "200 OK",
                    "Content-Type: text/html\r\nX-Id: 42\r\n",
                    "<p>order id=42 ok</p>",
                )
            } else if head.starts_with("GET /fail") {
                respond("503 Service Unavailable", "", "")
            } else {
                // Echoes the request, as some error pages do, token included.
                respond("401 Unauthorized", "", &head)
            };
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
}

const LOGIN: &str = r#"          - name: login
            method: POST
            url: http://ADDR/login
            body: {form: {user: probe, password: '${secret:pw}'}}
            expect: {json: [{pointer: /ok, equals: true}]}
            capture: {token: {json: /token, secret: true}, digit: {regex: 'tok-\w+-\d(\d)'}}
"#;

#[tokio::test]
async fn captures_cookies_and_assertions_carry_through_steps() {
    let a = app();
    let steps = LOGIN.replace("ADDR", &a)
        + &r#"          - name: order
            url: http://ADDR/orders/4${digit}
            headers: {authorization: 'Bearer ${token}'}
            expect:
              status: [200]
              body_regex: ['id=\d+']
              headers: [{name: x-id, equals: '42'}]
"#
        .replace("ADDR", &a);
    let (o, _) = run_timed(&plan_from(&steps, "")).await;
    assert!(o.success, "{o:?}");
    assert_eq!(o.steps.len(), 2);
    assert_eq!(o.steps[1].status, Some(200));
}

#[tokio::test]
async fn failures_name_the_step_and_never_show_secrets() {
    let a = app();
    let order = |expect: &str| {
        LOGIN.replace("ADDR", &a)
            + &format!("          - name: order\n            url: http://{a}/orders/1\n            headers: {{authorization: 'Bearer ${{token}}'}}\n            expect: {expect}\n")
    };
    let (o, _) = run_timed(&plan_from(&order("{status: [200]}"), "")).await;
    assert_eq!(o.reason, Some(Reason::Status), "{o:?}");
    assert_eq!(
        o.message.as_deref(),
        Some("step order: status 401, expected 200")
    );
    // The 401 page echoes the token; a failing assertion must not show it.
    let (o, _) = run_timed(&plan_from(
        &order("{status: [401], body_regex: ['Bearer \\S+ nope']}"),
        "",
    ))
    .await;
    assert_eq!(o.reason, Some(Reason::Assertion), "{o:?}");
    let (o2, _) = run_timed(&plan_from(
        &order("{status: [401], json: [{pointer: /x, exists: true}]}"),
        "",
    ))
    .await;
    assert_eq!(o2.reason, Some(Reason::Assertion), "{o2:?}");
    let all = format!(
        "{}{:?}{}{:?}",
        transaction::describe(&o),
        o,
        serde_json::to_string(&o2).unwrap(),
        o2
    );
    assert!(
        !all.contains("tok-SECRET-123") && !all.contains("hunter2-secret"),
        "{all}"
    );
}

/// Slow but correct is a success, its wait in the processing phase.
#[tokio::test]
async fn slow_but_correct_answers() {
    let slow = server(|mut s| async move {
        read_head(&mut s).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await;
    });
    let (o, took) = run_timed(&plan_from(&get(&format!("http://{slow}/")), "")).await;
    assert!(o.success, "slow but correct is a success: {o:?}");
    assert!(took >= Duration::from_millis(700));
    assert!(
        o.steps[0].phases.get(mimamori::probe::Phase::Processing) >= Duration::from_millis(690)
    );
}

/// A server that counts connections and serves `per_conn` requests on each
/// before closing it (`Connection: close` on the last).
fn counting_server(per_conn: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let conns = Arc::new(AtomicUsize::new(0));
    let counted = conns.clone();
    let addr = server(move |mut s| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            for i in 1..=per_conn {
                if read_request(&mut s).await.is_none() {
                    return;
                }
                let close = if i == per_conn {
                    "Connection: close\r\n"
                } else {
                    ""
                };
                let _ = s.write_all(respond("200 OK", close, "ok").as_bytes()).await;
            }
            // Closed without waiting for the client.
        }
    });
    (addr, conns)
}

#[tokio::test]
async fn steps_share_a_connection_and_reconnect_when_the_server_closes_it() {
    use std::sync::atomic::Ordering;
    for (per_conn, expected) in [(10, 1), (1, 3), (2, 2)] {
        let (addr, conns) = counting_server(per_conn);
        let steps: String = (0..3)
            .map(|i| format!("          - {{name: s{i}, url: 'http://{addr}/{i}'}}\n"))
            .collect();
        let (o, took) = run_timed(&plan_from(&steps, "")).await;
        assert!(o.success, "{per_conn} requests per connection: {o:?}");
        assert_eq!(
            conns.load(Ordering::SeqCst),
            expected,
            "{per_conn} requests per connection"
        );
        assert!(took < Duration::from_secs(1), "took {took:?}");
    }
}
