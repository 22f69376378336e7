//! Browser transactions in Debian's real Chromium against test pages served
//! here by hyper: a slow script-rendered list timed within a bound of its
//! injected delay, a selector that never appears, a third-party origin that
//! is blocked (and never reached), a secret typed into a field that appears
//! in no log, message or kept artefact, and a crash of Chromium in the middle
//! of a run: the location turns blind for the transaction (no
//! `mimamori_probe_success`, no failure, no step time), and the next run
//! starts a new Chromium. One Chromium is shared by the tests but the crash
//! test, which has its own.

#![allow(
    clippy::disallowed_methods,
    reason = "real Chromium in real time: the runs' durations are wall-clock times"
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use mimamori::config;
use mimamori::metrics::Metrics;
use mimamori::probe::plan::{self, TransactionPlan};
use mimamori::probe::{Outcome, ProbeContext, Reason};

const SECRET: &str = "s3cr3t-Typed-9Q";

/// Requests the "third-party" server received.
static THIRD_PARTY_HITS: AtomicUsize = AtomicUsize::new(0);
/// Connections the WebSocket target received.
static WS_HITS: AtomicUsize = AtomicUsize::new(0);

/// The pages: `/list?delay=MS` renders `#list li a` from a script after
/// `delay`; `/detail` renders `#detail h1`; `/plain` is static; `/third`
/// embeds an image and a script from the third-party origin (`?needs=1`:
/// the list is rendered by that script); `/login` has a text field that
/// echoes its value to the console and the page.
fn pages(req: Request<Incoming>, third: SocketAddr) -> Result<Response<Full<Bytes>>, Infallible> {
    let q = req.uri().query().unwrap_or("").to_string();
    let param = |k: &str| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .map(str::to_string)
    };
    let html = match req.uri().path() {
        "/list" => {
            let delay = param("delay").unwrap_or_else(|| "0".into());
            format!(
                r#"<!doctype html><title>注文一覧 / Orders</title><body><h1>Orders</h1><ul id="list"></ul>
<script>setTimeout(() => {{
  const ul = document.getElementById('list');
  for (const id of [17, 18]) {{
    const li = document.createElement('li');
    li.innerHTML = '<a href="/detail?id=' + id + '" data-id="' + id + '">order ' + id + '</a>';
    ul.appendChild(li);
  }}
}}, {delay});</script></body>"#
            )
        }
        "/detail" => r#"<!doctype html><title>Detail</title><body><script>
document.body.innerHTML = '<div id="detail"><h1>order ' + new URLSearchParams(location.search).get('id') + '</h1></div>';
</script></body>"#
            .to_string(),
        "/plain" => "<!doctype html><title>Plain</title><body><p id=\"ok\">plain page</p></body>".into(),
        "/broken" => r#"<!doctype html><title>Broken</title><body><ul id="list"></ul>
<script>undefinedFunctionOfTheApp();</script></body>"#
            .into(),
        "/third" => {
            let needs = param("needs").is_some();
            format!(
                r#"<!doctype html><title>Third</title><body><p id="ok">page</p>
<img src="http://{third}/pixel.png"><script src="http://{third}/render.js"></script>
<script>{}</script></body>"#,
                if needs {
                    "setTimeout(() => { if (window.rendered) document.body.insertAdjacentHTML('beforeend', '<p id=\"rendered\">x</p>'); }, 10);"
                } else {
                    ""
                }
            )
        }
        "/ws" => {
            let host = param("host").unwrap_or_default();
            format!(
                r#"<!doctype html><title>WS</title><body><p id="ok">page</p><script>
const ws = new WebSocket('ws://{host}/socket');
ws.onerror = ws.onclose = () => document.body.insertAdjacentHTML('beforeend', '<p id="done">closed</p>');
</script></body>"#
            )
        }
        "/login" => r#"<!doctype html><title>Login</title><body>
<form id="login" onsubmit="return false"><input id="user" type="text"><input id="password" type="password">
<button id="submit" type="button">login</button></form><p id="echo"></p>
<script>document.getElementById('user').addEventListener('input', (e) => {
  console.log('typed ' + e.target.value);
  document.getElementById('echo').textContent = 'you typed ' + e.target.value;
});</script></body>"#
            .into(),
        _ => "not found".into(),
    };
    Ok(Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .body(Full::new(Bytes::from(html)))
        .unwrap())
}

/// The second, "third-party" origin: counts what reaches it.
fn third_party(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    THIRD_PARTY_HITS.fetch_add(1, Ordering::SeqCst);
    let body = if req.uri().path() == "/render.js" {
        "window.rendered = true;"
    } else {
        ""
    };
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// The page server and the third-party server, started once.
fn servers() -> (SocketAddr, SocketAddr) {
    static S: OnceLock<(SocketAddr, SocketAddr)> = OnceLock::new();
    *S.get_or_init(|| {
        let third = crate::common::server::serve("127.0.0.1:0", |s| async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(
                    TokioIo::new(s),
                    hyper::service::service_fn(|r| std::future::ready(third_party(r))),
                )
                .await;
        });
        // Another port: another origin.
        let third = SocketAddr::from(([127, 0, 0, 1], third.port()));
        let main = crate::common::server::serve("127.0.0.1:0", move |s| async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(
                    TokioIo::new(s),
                    hyper::service::service_fn(move |r| std::future::ready(pages(r, third))),
                )
                .await;
        });
        (main, third)
    })
}

/// Chromium, or `None` after the missing-tool policy (fails under CI).
fn chromium() -> Option<std::path::PathBuf> {
    crate::common::tools::one_of(&["chromium", "chromium-browser", "google-chrome"])
}

/// What a browser test starts from: the page server, the third-party server
/// and a directory for artefacts; `None` without Chromium.
fn fixture() -> Option<(SocketAddr, SocketAddr, tempfile::TempDir)> {
    chromium()?;
    let (main, third) = servers();
    Some((main, third, tempfile::tempdir().unwrap()))
}

/// The probe context the tests share (one Chromium).
fn shared() -> Arc<ProbeContext> {
    static C: OnceLock<Arc<ProbeContext>> = OnceLock::new();
    C.get_or_init(ProbeContext::new).clone()
}

/// A one-transaction plan with `browser:` from YAML; artefacts in
/// `artifacts`; `extra_global`: more `global:` lines.
fn plan_from(browser: &str, artifacts: &Path, extra_global: &str) -> Arc<TransactionPlan> {
    let src = config_text(browser, artifacts, extra_global);
    let cfg = config::parse(&src, "test.yaml").unwrap_or_else(|e| panic!("{e}\n{src}"));
    let env = |k: &str| (k == "TEST_PW").then(|| SECRET.to_string());
    plan::build(&cfg, "test", &env)
        .unwrap_or_else(|e| panic!("{e}\n{src}"))
        .remove(0)
}

/// The configuration of [`plan_from`]: service `svc`, transaction `ui`.
fn config_text(browser: &str, artifacts: &Path, extra_global: &str) -> String {
    let exe = chromium().expect("checked by the caller");
    format!(
        "global:\n  location: test\n  interval: 1m\n  timeout: 20s\n  step_timeout: 5s\n  browser: {{executable: {}, artifacts_dir: {}, keep_failures: 2}}\n{extra_global}\
         secrets: {{pw: {{env: TEST_PW}}}}\n\
         services:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: ui\n        browser:\n{browser}",
        exe.display(),
        artifacts.display()
    )
}

fn step_secs(o: &Outcome, i: usize) -> f64 {
    o.steps[i].duration.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_script_rendered_list_is_timed_within_a_bound_of_its_delay() {
    let Some((main, _, dir)) = fixture() else {
        return;
    };
    let plan = plan_from(
        &format!(
            r##"          steps:
            - name: open-list
              goto: "http://{main}/list?delay=1500"
              ready: {{selector: "#list li a"}}
              expect: [{{title: "Orders"}}, {{text: "order 17"}}]
              capture: {{first: {{selector: "#list li a", attribute: data-id}}}}
            - name: open-detail
              actions: [{{click: "#list li a"}}]
              ready: {{selector: "#detail h1"}}
              expect: [{{url: "id=17"}}, {{visible: "#detail"}}]
            - name: open-second
              goto: "http://{main}/detail?id=${{first}}8"
              ready: {{text: "order 178"}}
"##
        ),
        dir.path(),
        "",
    );
    let ctx = shared();
    // The first run also starts Chromium; the second is what a steady prober sees.
    let _ = mimamori::browser::run(&plan, &ctx).await;
    let o = mimamori::browser::run(&plan, &ctx).await;
    assert!(o.success, "{o:#?}");
    let list = step_secs(&o, 0);
    assert!(
        (1.5..2.5).contains(&list),
        "the list step took {list:.3} s for a 1.5 s render delay: {o:#?}"
    );
    let detail = step_secs(&o, 1);
    assert!(detail < 1.5, "the detail step took {detail:.3} s");
    let facts = o.browser.as_ref().unwrap();
    assert_eq!(facts.blocked_requests, 0, "{facts:?}");
    assert_eq!(facts.long_tasks.len(), 3, "{facts:?}");
    eprintln!(
        "list step {list:.3} s (delay 1.5 s), detail step {detail:.3} s, LCP {:?}",
        facts.largest_contentful_paint
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_that_never_appears_fails_with_selector_timeout_and_keeps_a_screenshot() {
    let Some((main, _, dir)) = fixture() else {
        return;
    };
    let plan = plan_from(
        &format!(
            r##"          steps:
            - name: open
              timeout: 1s
              goto: "http://{main}/broken"
              ready: {{selector: "#list li a"}}
"##
        ),
        dir.path(),
        "",
    );
    let ctx = shared();
    for _ in 0..3 {
        let o = mimamori::browser::run(&plan, &ctx).await;
        assert!(!o.success);
        assert_eq!(o.reason, Some(Reason::SelectorTimeout), "{o:#?}");
        let d = step_secs(&o, 0);
        assert!((1.0..1.6).contains(&d), "timed out after {d:.3} s: {o:#?}");
        let msg = o.message.clone().unwrap_or_default();
        assert!(
            msg.contains("#list li a") && msg.contains("undefinedFunctionOfTheApp"),
            "the message names the selector and the page's error: {msg}"
        );
        let shot = o.browser.as_ref().and_then(|f| f.screenshot.clone());
        let shot = shot.expect("a screenshot of the failed run");
        let png = std::fs::read(&shot).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{}", shot.display());
        let log = std::fs::read_to_string(shot.with_extension("log")).unwrap();
        assert!(log.contains("selector_timeout"), "{log}");
        assert!(log.contains("undefinedFunctionOfTheApp"), "{log}");
    }
    // keep_failures: 2 — the older ones are gone.
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("svc/ui"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_origin_is_blocked_counted_and_never_reached() {
    let Some((main, third, dir)) = fixture() else {
        return;
    };
    let ctx = shared();
    let before = THIRD_PARTY_HITS.load(Ordering::SeqCst);
    // The page shows without the third party's script: the run succeeds,
    // its two requests there are blocked and counted.
    let plan = plan_from(
        &format!(
            r##"          steps:
            - name: open
              goto: "http://{main}/third"
              ready: {{selector: "#ok"}}
"##
        ),
        dir.path(),
        "",
    );
    let o = mimamori::browser::run(&plan, &ctx).await;
    assert!(o.success, "{o:#?}");
    assert_eq!(o.browser.as_ref().unwrap().blocked_requests, 2, "{o:#?}");
    // A page that needs it never becomes ready: `blocked_request`.
    let needs = plan_from(
        &format!(
            r##"          steps:
            - name: open
              timeout: 1s
              goto: "http://{main}/third?needs=1"
              ready: {{selector: "#rendered"}}
"##
        ),
        dir.path(),
        "",
    );
    let o = mimamori::browser::run(&needs, &ctx).await;
    assert_eq!(o.reason, Some(Reason::BlockedRequest), "{o:#?}");
    let log = std::fs::read_to_string(o.browser.unwrap().screenshot.unwrap().with_extension("log"))
        .unwrap();
    assert!(log.contains(&format!("blocked: http://{third}/")), "{log}");
    assert_eq!(
        THIRD_PARTY_HITS.load(Ordering::SeqCst),
        before,
        "nothing may reach an origin that is not allowed"
    );
    // Allowed, it is reached and the page renders: the gate is what blocked it.
    let allowed = plan_from(
        &format!(
            r##"          allowed_origins: ["http://{third}"]
          steps:
            - name: open
              goto: "http://{main}/third?needs=1"
              ready: {{selector: "#rendered"}}
"##
        ),
        dir.path(),
        "",
    );
    let o = mimamori::browser::run(&allowed, &ctx).await;
    assert!(o.success, "{o:#?}");
    assert_eq!(o.browser.unwrap().blocked_requests, 0);
    assert!(THIRD_PARTY_HITS.load(Ordering::SeqCst) >= before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_to_a_host_that_is_not_allowed_does_not_resolve() {
    let Some((main, _, dir)) = fixture() else {
        return;
    };
    // A target that counts connections, under a name the hosts file maps:
    // without the resolver rules Chromium would reach it.
    let target = crate::common::server::serve("127.0.0.1:0", |_s| async move {
        WS_HITS.fetch_add(1, Ordering::SeqCst);
    });
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 ws-target.test\n").unwrap();
    let plan = plan_from(
        &format!(
            r##"          steps:
            - name: open
              goto: "http://{main}/ws?host=ws-target.test:{}"
              ready: {{selector: "#done"}}
"##,
            target.port()
        ),
        dir.path(),
        &format!("  hosts_file: {}\n", hosts.display()),
    );
    let ctx = ProbeContext::new();
    let o = mimamori::browser::run(&plan, &ctx).await;
    assert!(o.success, "{o:#?}");
    assert_eq!(
        WS_HITS.load(Ordering::SeqCst),
        0,
        "the WebSocket reached its target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_typed_into_a_field_is_in_no_message_log_or_artefact() {
    let Some((main, _, dir)) = fixture() else {
        return;
    };
    let plan = plan_from(
        &format!(
            r##"          steps:
            - name: login
              timeout: 2s
              goto: "http://{main}/login"
              actions:
                - fill: {{selector: "#user", value: "${{secret:pw}}"}}
                - fill: {{selector: "#password", value: "${{secret:pw}}"}}
                - click: "#submit"
              ready: {{text: "you typed ${{secret:pw}} and more"}}
"##
        ),
        dir.path(),
        "",
    );
    let ctx = shared();
    let o = mimamori::browser::run(&plan, &ctx).await;
    assert_eq!(o.reason, Some(Reason::SelectorTimeout), "{o:#?}");
    let json = serde_json::to_string(&o).unwrap();
    assert!(!json.contains(SECRET), "{json}");
    let shot = o.browser.unwrap().screenshot.unwrap();
    let log = std::fs::read_to_string(shot.with_extension("log")).unwrap();
    // The page logged what was typed: the log keeps the line, masked.
    assert!(log.contains("typed ****"), "{log}");
    for f in std::fs::read_dir(shot.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the secret is in an artefact"
        );
    }
}

/// `mimamori_probe_success` of the test transaction, if listed.
fn probe_success(exposition: &str) -> Option<String> {
    exposition
        .lines()
        .find(|l| l.starts_with("mimamori_probe_success{") && l.contains("transaction=\"ui\""))
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
}

fn line_value(exposition: &str, prefix: &str) -> Option<String> {
    exposition
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_crash_makes_the_location_blind_never_failing() {
    let Some((main, _, dir)) = fixture() else {
        return;
    };
    let plan = plan_from(
        &format!(
            r##"          steps:
            - name: open-list
              goto: "http://{main}/list?delay=3000"
              ready: {{selector: "#list li a"}}
"##
        ),
        dir.path(),
        "",
    );
    let ctx = ProbeContext::new();
    let metrics = Metrics::new(&config::Global::default().buckets);
    let mut tx = metrics.transaction(&plan);
    let o = mimamori::browser::run(&plan, &ctx).await;
    assert!(o.success, "{o:#?}");
    tx.record(&o);
    let text = metrics.render();
    assert_eq!(probe_success(&text).as_deref(), Some("1"), "{text}");
    let count = "mimamori_step_duration_seconds_count{location=\"test\",result=\"success\",service=\"svc\",step=\"open-list\",transaction=\"ui\"}";
    assert_eq!(line_value(&text, count).as_deref(), Some("1"));
    assert_eq!(ctx.browser.starts(), 1);

    // Kill Chromium in the middle of the next run.
    let pid = ctx.browser.pid().expect("Chromium runs");
    let run = {
        let (plan, ctx) = (plan.clone(), ctx.clone());
        tokio::spawn(async move { mimamori::browser::run(&plan, &ctx).await })
    };
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = run.await.unwrap();
    assert_eq!(o.reason, Some(Reason::Browser), "{o:#?}");
    tx.record(&o);
    let text = metrics.render();
    assert_eq!(
        probe_success(&text),
        None,
        "a crashed browser leaves the result unknown: no probe_success\n{text}"
    );
    let browser_failures = "mimamori_probe_failures_total{location=\"test\",reason=\"browser\",service=\"svc\",transaction=\"ui\"}";
    assert_eq!(line_value(&text, browser_failures).as_deref(), Some("1"));
    for r in ["selector_timeout", "navigation", "timeout"] {
        let l = format!("mimamori_probe_failures_total{{location=\"test\",reason=\"{r}\",service=\"svc\",transaction=\"ui\"}}");
        assert_eq!(line_value(&text, &l).as_deref(), Some("0"), "{r}");
    }
    // No step time was observed for the unknown run, success or failure.
    assert_eq!(line_value(&text, count).as_deref(), Some("1"));
    let failed_count = count.replace("result=\"success\"", "result=\"failure\"");
    assert_eq!(line_value(&text, &failed_count).as_deref(), Some("0"));
    // HTTP reasons and phases are not listed for a browser transaction.
    assert!(!text.contains("reason=\"dns\""), "{text}");
    assert!(!text.contains("mimamori_step_phase_seconds"), "{text}");

    // The next run starts a new Chromium and reports again.
    let o = mimamori::browser::run(&plan, &ctx).await;
    assert!(o.success, "{o:#?}");
    tx.record(&o);
    assert_eq!(probe_success(&metrics.render()).as_deref(), Some("1"));
    assert_eq!(ctx.browser.starts(), 2);
    assert_ne!(ctx.browser.pid(), Some(pid));
}

/// `deploy/systemd/mimamori.service` sets `MemoryDenyWriteExecute=yes`: the
/// kernel then refuses memory that was writable to become executable, for the
/// prober and every process it starts. V8 needs it for its code, so every
/// page of Chromium dies at once ("Failed to reserve virtual memory for
/// CodeRange"). The runs must be unknown (`browser`), never failures: an
/// on-call engineer is not paged for a prober's hardening. The same through
/// the kernel's own switch (`PR_SET_MDWE`, what systemd uses where the kernel
/// has it), set by a Python wrapper before it executes `mimamori serve`.
#[test]
fn a_prober_that_forbids_executable_memory_is_blind_never_failing() {
    let Some((main, _, dir)) = fixture() else {
        return;
    };
    let Some(python) = crate::common::tools::tool("python3") else {
        return;
    };
    let cfg = dir.path().join("mimamori.yaml");
    let steps = format!(
        "          steps:\n            - name: open-list\n              goto: \"http://{main}/list?delay=0\"\n              ready: {{selector: \"#list li a\"}}\n"
    );
    let text = config_text(&steps, dir.path(), "")
        .replace("interval: 1m", "interval: 5s")
        .replace("timeout: 20s", "timeout: 5s");
    std::fs::write(&cfg, text).unwrap();
    let addr = format!("127.0.0.1:{}", crate::common::prometheus::free_port());
    let log = dir.path().join("serve.log");
    let wrapper = "import ctypes, os, sys\n\
                   PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1\n\
                   libc = ctypes.CDLL(None, use_errno=True)\n\
                   if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:\n\
                   \x20   sys.exit('PR_SET_MDWE: errno %d' % ctypes.get_errno())\n\
                   os.execv(sys.argv[1], sys.argv[1:])\n";
    let _serve = crate::common::stack::Proc(
        std::process::Command::new(python)
            .args(["-c", wrapper, env!("CARGO_BIN_EXE_mimamori")])
            .args(["serve", "--config", cfg.to_str().unwrap()])
            .args(["--web.listen-address", &addr])
            .env("TEST_PW", SECRET)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let unknown = "mimamori_probe_failures_total{location=\"test\",reason=\"browser\",service=\"svc\",transaction=\"ui\"}";
    let text = crate::common::wait_until(
        Duration::from_secs(60),
        "two browser runs counted unknown",
        || {
            let (_, text) = crate::common::try_http(&addr, "GET", "/metrics").unwrap_or_default();
            let n: f64 = line_value(&text, unknown)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            if n >= 2.0 {
                Ok(text)
            } else {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                Err(format!("{} unknown runs; the log:\n{log}", n))
            }
        },
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log.contains("PR_SET_MDWE"),
        "the kernel refused the switch: {log}"
    );
    assert_eq!(probe_success(&text), None, "no result, no failure\n{text}");
    for r in ["navigation", "selector_timeout", "timeout", "script_error"] {
        let l = format!("mimamori_probe_failures_total{{location=\"test\",reason=\"{r}\",service=\"svc\",transaction=\"ui\"}}");
        assert_eq!(line_value(&text, &l).as_deref(), Some("0"), "{r}\n{text}");
    }
    // The log says why, for whoever the ticket sends to the prober.
    let why = log.lines().find(|l| l.contains("browser run unknown"));
    assert!(
        why.is_some_and(|l| l.contains("MemoryDenyWriteExecute")),
        "{log}"
    );
}

/// `deploy/local/stack.sh` generates its rules from what the demo runs:
/// without Chromium (or `--no-browser`) that is `deploy/aoulu.yaml` itself;
/// with it, the browser transactions too, whose rules carry the browser
/// ticket and the screenshots' place.
#[cfg(feature = "demo")]
#[test]
fn the_demo_prints_the_configuration_it_runs() {
    let print = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimamori"))
            .args(["demo", "--print-config"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let aoulu =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/aoulu.yaml"))
            .unwrap();
    assert_eq!(print(&["--no-browser"]), aoulu);
    // What `--interval` and `--location` change is printed too: rules made
    // from it size their burn rates for the rounds the demo really runs.
    let every_minute = print(&["--no-browser", "--interval", "1m", "--location", "osaka-b"]);
    let cfg = mimamori::config::parse(&every_minute, "printed").unwrap();
    assert_eq!(cfg.global.interval.0, Duration::from_secs(60));
    assert_eq!(cfg.global.timeout.0, Duration::from_secs(15));
    assert_eq!(cfg.global.location, "osaka-b");
    let fast =
        mimamori::config::parse(&print(&["--no-browser", "--interval", "2s"]), "printed").unwrap();
    assert_eq!(
        (fast.global.timeout.0, fast.global.step_timeout.0),
        (Duration::from_secs(2), Duration::from_secs(2))
    );
    if chromium().is_none() {
        return;
    }
    let text = print(&[]);
    assert!(
        text.contains("name: order-ui") && text.contains("name: inbox-ui"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("demo.yaml");
    std::fs::write(&cfg, &text).unwrap();
    let out = crate::common::generate(&cfg, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = std::fs::read_to_string(dir.path().join("rules/denshibin.yml")).unwrap();
    assert!(rules.contains("MimamoriBrowserUnavailable"), "{rules}");
    assert!(
        rules.contains("/tmp/mimamori-browser/denshibin/inbox-ui/"),
        "{rules}"
    );
}

#[test]
fn browser_config_errors_name_their_place() {
    let base = |steps: &str, extra: &str| {
        format!(
            "secrets: {{pw: {{env: X}}}}\nservices:\n  - name: svc\n    display_name: {{ja: テスト, en: Test}}\n    transactions:\n      - name: ui\n{extra}        browser:\n          steps:\n{steps}"
        )
    };
    let cases: &[(&str, &str, &str)] = &[
        (
            "            - name: a\n              actions: [{click: \"#x\"}]\n",
            "",
            "test.yaml:9:15: services[0].transactions[0].browser.steps[0]: the first step must open a page: add goto: URL",
        ),
        (
            "            - name: a\n              goto: ftp://x/\n",
            "",
            "test.yaml:10:15: services[0].transactions[0].browser.steps[0].goto: 'ftp://x/' must start with https:// or http://",
        ),
        (
            "            - name: a\n              goto: https://x/\n              ready: {selector: \"#a\", text: b}\n",
            "",
            "test.yaml:11:15: services[0].transactions[0].browser.steps[0].ready: exactly one of load, selector, text, url",
        ),
        (
            "            - name: a\n              goto: https://x/\n              actions: [{fill: {selector: \"#u\", value: \"${secret:nope}\"}}]\n",
            "",
            "test.yaml:11:49: services[0].transactions[0].browser.steps[0].actions[0].fill.value: undefined secret '${secret:nope}' (declare it under 'secrets')",
        ),
        (
            "            - name: a\n              goto: https://x/\n              actions: [{hover: \"#u\"}]\n",
            "",
            "test.yaml:11:26: services[0].transactions[0].browser.steps[0].actions[0]: unknown variant `hover`, expected one of `click`, `fill`, `press`, `select`, `wait_for`",
        ),
        (
            "            - name: a\n              goto: https://x/\n",
            "        resolve: all\n",
            "test.yaml:7:9: services[0].transactions[0].resolve: resolve: all is for HTTP steps",
        ),
    ];
    for (steps, extra, want) in cases {
        let src = base(steps, extra);
        let got = match config::parse(&src, "test.yaml") {
            Ok(_) => String::from("(accepted)"),
            Err(e) => e.to_string(),
        };
        assert!(got.contains(want), "want {want}\ngot {got}\n{src}");
    }
}

/// deploy/aoulu.yaml with a browser transaction added to hanbai.
fn aoulu_with_browser() -> String {
    let aoulu =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/aoulu.yaml"))
            .unwrap();
    // The global interval and timeout: a longer interval would widen the
    // maintenance lookback of every rule, as for any transaction.
    let browser = "      - name: order-ui\n        browser:\n          steps:\n            - name: open-list\n              goto: https://hanbai.aoulu.example/ui/list\n              ready: {selector: \"#list li a\"}\n";
    let out = aoulu.replacen(
        "    transactions:\n",
        &format!("    transactions:\n{browser}"),
        1,
    );
    assert_ne!(out, aoulu, "the transaction was added");
    out
}

#[test]
fn generated_rules_for_a_browser_transaction_pass_promtool() {
    let Some(promtool) = crate::common::tools::tool("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("aoulu.yaml");
    std::fs::write(&cfg, aoulu_with_browser()).unwrap();
    let out = crate::common::generate(&cfg, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = std::fs::read_to_string(dir.path().join("rules/hanbai.yml")).unwrap();
    assert!(rules.contains("MimamoriBrowserUnavailable"), "{rules}");
    assert!(
        rules.contains("/tmp/mimamori-browser/hanbai/order-ui/"),
        "{rules}"
    );
    // The objective's rules are the same as without the browser transaction.
    let plain =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/hanbai.yml"))
            .unwrap();
    let records = |text: &str| -> Vec<String> {
        let doc: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        doc["groups"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_sequence().unwrap().clone())
            .filter(|r| r.get("record").is_some())
            .map(|r| serde_yaml::to_string(&r).unwrap())
            .collect()
    };
    let (with, without) = (records(&rules), records(&plain));
    for (a, b) in with.iter().zip(&without) {
        assert_eq!(a, b);
    }
    assert_eq!(with.len(), without.len());
    let check = std::process::Command::new(&promtool)
        .args(["check", "rules"])
        .arg(dir.path().join("rules/hanbai.yml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // The other files are those committed (tests/it/generate.rs runs them).
    let tests = [dir.path().join("rules/tests/hanbai.yaml")];
    let hanbai_tests = std::fs::read_to_string(dir.path().join("rules/tests/hanbai.yaml")).unwrap();
    assert!(
        hanbai_tests.contains("the browser of"),
        "the crash scenario is generated"
    );
    let run = std::process::Command::new(&promtool)
        .args(["test", "rules"])
        .args(&tests)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
