//! Helpers shared by the integration tests that run the real binary.
#![allow(dead_code)]

pub mod dashboards;
pub mod prometheus;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
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

/// One HTTP/1.1 request (`Connection: close`); status and body (chunked bodies decoded).
pub fn try_http(addr: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let resp = String::from_utf8_lossy(&raw).into_owned();
    let status = resp
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("short response"))?;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body).ok_or_else(|| std::io::Error::other("chunked body cut short"))?
    } else {
        body.to_string()
    };
    Ok((status, body))
}

/// Like [`try_http`], retrying a few times: a loaded machine resets a connection now and then.
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

/// The chunked body's data, or `None` when the last (empty) chunk is missing.
fn dechunk(mut s: &str) -> Option<String> {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).ok()?;
        if n == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..n)?);
        s = rest[n..].strip_prefix("\r\n")?;
    }
    None
}
