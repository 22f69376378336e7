//! Helpers shared by the integration tests that run the real binary.
#![allow(dead_code)]

pub mod dashboards;
pub mod pki;
pub mod prometheus;
pub mod server;
pub mod stack;
pub mod tools;
pub mod wait;

// Not every binary that includes `common` (tests/e2e*.rs do) uses both.
#[allow(unused_imports)]
pub use wait::{wait_until, wait_until_async};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `mimamori demo`, killed when dropped (also when a test fails).
pub struct Demo {
    child: Child,
    pub addr: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mimamori demo` on a free loopback port with extra arguments and
/// waits until it has printed its address.
pub fn start_demo(extra: &[&str]) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["demo", "--web.listen-address", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mimamori demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("demo printed its address").unwrap();
        if let Some(rest) = line.trim().strip_prefix("metrics") {
            break rest
                .trim()
                .trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_string();
        }
    };
    // Keep reading: a closed pipe would make the demo's later prints fail.
    std::thread::spawn(move || lines.for_each(drop));
    Demo { child, addr }
}

/// One HTTP request with an empty body; status and body, or why there is no
/// answer (for polling: `wait_until(.., || try_http(..))`).
pub fn try_http(addr: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(std::io::Error::other)?;
    let resp = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .map_err(std::io::Error::other)?
        .request(method, format!("http://{addr}{path}"))
        .send()
        .map_err(std::io::Error::other)?;
    let status = resp.status().as_u16();
    let body = resp.text().map_err(std::io::Error::other)?;
    Ok((status, body))
}

/// An HTTP request to a server that is up: like [`try_http`], retrying a few
/// times (a loaded machine resets a connection now and then), and failing the
/// test when it never answers.
pub fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut last = None;
    for _ in 0..5 {
        match try_http(addr, method, path) {
            Ok(r) => return r,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{method} {path}: {last:?}");
}

/// `mimamori generate --out OUT --config CONFIG`, run to its end.
pub fn generate(config: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["generate", "--out"])
        .arg(out)
        .arg("--config")
        .arg(config)
        .output()
        .expect("mimamori generate runs")
}

/// `promtool check metrics` on an exposition: whether it passed, and what it
/// printed. Without promtool (outside CI, see [`tools`]) the check is skipped
/// with a message and counts as passed.
pub fn promtool_check_metrics(body: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Some(promtool) = tools::tool("promtool") else {
        return (true, "promtool check metrics skipped".into());
    };
    let mut p = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    p.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}
