//! Pieces of the real-time stack tests (`tests/e2e.rs`, `tests/e2e_remote_write.rs`):
//! processes killed on drop, Debian's Prometheus and Alertmanager, the
//! generated routing pointed at a webhook that stands in for the pager, and
//! query helpers. Polling is [`super::wait_until`]; requests are
//! [`super::try_http`] and [`super::http`].
#![allow(
    clippy::disallowed_methods,
    reason = "notifications are stamped with the real time they arrive, to measure fault → page"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use super::prometheus::free_port;

/// Kills the process when dropped, so every process is cleaned up even when
/// an assertion fails.
pub struct Proc(pub Child);

impl Proc {
    /// Kills it now (SIGKILL: nothing is flushed, as when a machine dies).
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn which(names: &[&str]) -> PathBuf {
    for n in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let p = Path::new(dir).join(n);
            if p.exists() {
                return p;
            }
        }
    }
    panic!("none of {names:?} is installed: apt-get install prometheus prometheus-alertmanager (scripts/test.sh does)");
}

/// Every notification Alertmanager delivered, with when it arrived and the
/// path it was posted to (`/page` or `/ticket`).
pub type Inbox = Arc<Mutex<Vec<(Instant, String, serde_json::Value)>>>;

/// A webhook receiver standing in for the pager and the ticket system.
pub fn webhook() -> (String, Inbox) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let inbox: Inbox = Arc::default();
    let sink = inbox.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut len = 0usize;
                let mut path = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if path.is_empty() {
                        path = line.split(' ').nth(1).unwrap_or("").to_string();
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                if let Ok(v) = serde_json::from_slice(&body) {
                    sink.lock().unwrap().push((Instant::now(), path, v));
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            });
        }
    });
    (addr, inbox)
}

/// One alert as delivered.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub at: Instant,
    /// The webhook path: `/page` or `/ticket`.
    pub receiver: String,
    pub status: String,
    pub labels: serde_json::Value,
    pub annotations: serde_json::Value,
}

/// Alerts in notifications so far, flattened.
pub fn alerts(inbox: &Inbox) -> Vec<Delivered> {
    let mut out = Vec::new();
    for (at, path, n) in inbox.lock().unwrap().iter() {
        for a in n["alerts"].as_array().into_iter().flatten() {
            out.push(Delivered {
                at: *at,
                receiver: path.clone(),
                status: a["status"].as_str().unwrap_or("").to_string(),
                labels: a["labels"].clone(),
                annotations: a["annotations"].clone(),
            });
        }
    }
    out
}

/// Pages (severity="page") for `service` with `status` (`firing` or `resolved`).
pub fn pages_for(inbox: &Inbox, service: &str, status: &str) -> Vec<Delivered> {
    alerts(inbox)
        .into_iter()
        .filter(|a| {
            a.status == status && a.labels["severity"] == "page" && a.labels["service"] == service
        })
        .collect()
}

/// When tickets may reach people in the test's routing.
pub enum Tickets {
    /// As `deploy/aoulu.yaml` says (support hours in Asia/Tokyo).
    SupportHours,
    /// At any hour, so that a test at night still sees its ticket delivered.
    AnyHour,
}

/// The generator's Alertmanager routing for `deploy/aoulu.yaml`, with the
/// receivers pointed at `hook` (`/page`, `/ticket`).
pub fn alertmanager_config(dir: &Path, hook: &str, tickets: Tickets) -> PathBuf {
    let mut src = std::fs::read_to_string("deploy/aoulu.yaml").unwrap();
    if let Tickets::AnyHour = tickets {
        let start = src
            .find("\n  support_hours:\n")
            .expect("deploy/aoulu.yaml has alerting.support_hours");
        let end = start
            + src[start..]
                .find("\n  page:\n")
                .expect("alerting.page follows support_hours");
        src.replace_range(
            start..end,
            "\n  support_hours:\n    timezone: Asia/Tokyo\n    weekdays: [monday, tuesday, wednesday, thursday, friday, saturday, sunday]\n    times: [\"00:00-24:00\"]\n    exclude_japanese_holidays: false",
        );
    }
    let i = src
        .find("\n  page:\n")
        .expect("deploy/aoulu.yaml has alerting.page");
    let test_cfg = format!(
        "{}\n  page:\n    webhook_urls: [http://{hook}/page]\n  ticket:\n    webhook_urls: [http://{hook}/ticket]\n",
        &src[..i]
    );
    let cfg_path = dir.join("aoulu-e2e.yaml");
    std::fs::write(&cfg_path, test_cfg).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args([
            "generate",
            "--config",
            cfg_path.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let am = dir.join("deploy/alertmanager/alertmanager.yml");
    assert!(am.exists());
    am
}

/// Debian's Alertmanager with `config` on a free port, its log in `dir`; its address.
pub fn start_alertmanager(dir: &Path, config: &Path) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(which(&["prometheus-alertmanager", "alertmanager"]))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("am").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
        .spawn()
        .unwrap();
    (Proc(child), format!("127.0.0.1:{port}"))
}

/// Debian's Prometheus with `config` and extra flags on a free port, its data
/// and log in `dir` under `name`; its address.
pub fn start_prometheus(dir: &Path, name: &str, config: &Path, flags: &[&str]) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(which(&["prometheus"]))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(flags)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap();
    (Proc(child), format!("127.0.0.1:{port}"))
}

/// An instant query; `Null` when Prometheus does not answer.
pub fn query(prom: &str, q: &str) -> serde_json::Value {
    let enc: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (_, body) =
        super::try_http(prom, "GET", &format!("/api/v1/query?query={enc}")).unwrap_or_default();
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// Sets a fault of the demo's simulated `service` (see `mimamori demo`).
pub fn fault(demo: &str, service: &str, mode: &str, seconds: u64) {
    let (code, body) = super::try_http(
        demo,
        "POST",
        &format!("/demo/fault?service={service}&mode={mode}&seconds={seconds}"),
    )
    .unwrap_or_default();
    assert_eq!(code, 200, "{body}");
}

/// The result vector of an instant query (empty while Prometheus is not ready).
pub fn results(prom: &str, q: &str) -> Vec<serde_json::Value> {
    let enc: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let Ok((200, body)) = super::try_http(prom, "GET", &format!("/api/v1/query?query={enc}"))
    else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// `mimamori generate --config cfg --out out`, then its rule groups sped up
/// for a live test: evaluated every 2 s, and with `short_for` every `for:`
/// cut to 10 s.
pub fn generate_fast_rules(cfg: &Path, out: &Path, short_for: bool) {
    let st = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--config"])
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let for_ = regex::Regex::new(r"(?m)^(\s*)for: \S+$").unwrap();
    for f in std::fs::read_dir(out.join("rules")).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "yml") {
            let mut text = std::fs::read_to_string(&f).unwrap();
            if short_for {
                text = for_.replace_all(&text, "${1}for: 10s").into_owned();
            }
            std::fs::write(&f, text.replace("interval: 15s", "interval: 2s")).unwrap();
        }
    }
}

/// A loopback HTTP server answering `200 ok` while `up`, and closing each
/// connection unanswered while not (what a lost uplink looks like from here).
pub fn switchable_ok_server(up: Arc<std::sync::atomic::AtomicBool>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let up = up.clone();
            std::thread::spawn(move || {
                if !up.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    addr
}
