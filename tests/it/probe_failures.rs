//! Every failure reason, produced by a real local server that misbehaves that
//! way, within its deadline plus a small margin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mimamori::config;
use mimamori::probe::plan::{self, TransactionPlan};
use mimamori::probe::transaction;
use mimamori::probe::{Outcome, Reason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that answers every connection with `behave`.
async fn server<F, Fut>(behave: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let behave = Arc::new(behave);
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(behave(s));
        }
    });
    format!("127.0.0.1:{}", addr.port())
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
    let t = Instant::now();
    let o = transaction::run(plan, &mimamori::probe::ProbeContext::default()).await;
    (o, t.elapsed())
}

async fn assert_fails(plan: Arc<TransactionPlan>, reason: Reason, within: Duration) -> Outcome {
    let (o, took) = run_timed(&plan).await;
    assert!(!o.success, "expected failure: {o:?}");
    assert_eq!(o.reason, Some(reason), "{o:?}");
    assert!(took < within, "took {took:?}, limit {within:?}");
    o
}

const MARGIN: Duration = Duration::from_millis(500);

#[tokio::test]
async fn connection_refused() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    assert_fails(
        plan_from(&get(&format!("http://127.0.0.1:{port}/")), ""),
        Reason::Connect,
        MARGIN,
    )
    .await;
}

#[tokio::test]
async fn nxdomain() {
    assert_fails(
        plan_from(&get("http://no-such-host.invalid/"), ""),
        Reason::Dns,
        Duration::from_secs(1) + MARGIN,
    )
    .await;
}

#[tokio::test]
async fn accepts_and_never_answers() {
    let a = server(|mut s| async move {
        read_head(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let o = assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::Timeout,
        Duration::from_secs(1) + MARGIN,
    )
    .await;
    assert!(
        o.steps[0].phases.get(mimamori::probe::Phase::Connect) > Duration::ZERO
            || o.steps[0].duration >= Duration::from_secs(1)
    );
}

#[tokio::test]
async fn slowloris_one_byte_per_second() {
    let a = server(|mut s| async move {
        read_head(&mut s).await;
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" {
            if s.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::Timeout,
        Duration::from_secs(1) + MARGIN,
    )
    .await;
}

#[tokio::test]
async fn reset_mid_response() {
    let a = server(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
            .await;
        #[allow(deprecated)]
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s);
    })
    .await;
    assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::Protocol,
        MARGIN,
    )
    .await;
}

#[tokio::test]
async fn endless_body_hits_the_size_limit() {
    let a = server(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 8192, "x".repeat(8192));
        while s.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::BodyTooLarge,
        MARGIN,
    )
    .await;
}

#[tokio::test]
async fn declared_huge_body_is_refused_before_reading() {
    let a = server(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::BodyTooLarge,
        MARGIN,
    )
    .await;
}

#[tokio::test]
async fn invalid_http() {
    let a = server(|mut s| async move {
        read_head(&mut s).await;
        let _ = s.write_all(b"HELLO THERE\r\n\r\n").await;
    })
    .await;
    assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::Protocol,
        MARGIN,
    )
    .await;
}

#[tokio::test]
async fn huge_headers() {
    let a = server(|mut s| async move {
        read_head(&mut s).await;
        let big = format!(
            "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
            "a".repeat(1 << 20)
        );
        let _ = s.write_all(big.as_bytes()).await;
    })
    .await;
    assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::Protocol,
        MARGIN,
    )
    .await;
}

#[tokio::test]
async fn tls_handshake_with_a_plain_server_fails() {
    let a = server(|mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    })
    .await;
    assert_fails(
        plan_from(&get(&format!("https://{a}/")), ""),
        Reason::Tls,
        MARGIN,
    )
    .await;
}

#[tokio::test]
async fn redirect_loop_and_foreign_redirects() {
    let a = server(|mut s| async move {
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
    })
    .await;
    let o = assert_fails(
        plan_from(&get(&format!("http://{a}/")), ""),
        Reason::Redirect,
        MARGIN,
    )
    .await;
    assert!(o.message.unwrap().contains("more than 10 redirects"));
    let o = assert_fails(
        plan_from(&get(&format!("http://{a}/away")), ""),
        Reason::Redirect,
        MARGIN,
    )
    .await;
    assert!(o
        .message
        .unwrap()
        .contains("another host elsewhere.example is not allowed"));
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
    })
    .await;
    let (o, _) = run_timed(&plan_from(&get(&format!("http://{a}/x/y")), "")).await;
    assert!(o.success, "{o:?}");
}

/// A small HTTP app for the positive path: login (sets a cookie and returns a
/// token), then an order page that needs both.
async fn app() -> String {
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
    .await
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
    let a = app().await;
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
    let a = app().await;
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

#[tokio::test]
async fn unexpected_status_and_slow_but_correct_answers() {
    let a = app().await;
    assert_fails(
        plan_from(&get(&format!("http://{a}/fail")), ""),
        Reason::Status,
        MARGIN,
    )
    .await;
    let slow = server(|mut s| async move {
        read_head(&mut s).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await;
    })
    .await;
    let (o, took) = run_timed(&plan_from(&get(&format!("http://{slow}/")), "")).await;
    assert!(o.success, "slow but correct is a success: {o:?}");
    assert!(took >= Duration::from_millis(700));
    assert!(
        o.steps[0].phases.get(mimamori::probe::Phase::Processing) >= Duration::from_millis(690)
    );
}

#[tokio::test]
async fn transaction_deadline_cuts_the_current_step() {
    let a = server(|mut s| async move {
        loop {
            if read_head(&mut s).await.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(900)).await;
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
    })
    .await;
    let steps = format!(
        "{}{}{}",
        get(&format!("http://{a}/1")),
        get(&format!("http://{a}/2")).replace("name: get", "name: two"),
        get(&format!("http://{a}/3")).replace("name: get", "name: three")
    );
    let plan = plan_from(&steps, "").clone();
    let mut p = Arc::try_unwrap(plan).unwrap();
    p.timeout = Duration::from_millis(2000);
    let o = assert_fails(
        Arc::new(p),
        Reason::Timeout,
        Duration::from_millis(2000) + MARGIN,
    )
    .await;
    assert_eq!(o.steps.len(), 3);
    assert_eq!(o.steps[2].name, "three");
    assert!(o.steps[..2].iter().all(|s| s.success));
}

/// A server that counts connections and serves `per_conn` requests on each
/// before closing it (`Connection: close` on the last).
async fn counting_server(per_conn: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
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
    })
    .await;
    (addr, conns)
}

#[tokio::test]
async fn steps_share_a_connection_and_reconnect_when_the_server_closes_it() {
    use std::sync::atomic::Ordering;
    for (per_conn, expected) in [(10, 1), (1, 3), (2, 2)] {
        let (addr, conns) = counting_server(per_conn).await;
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
