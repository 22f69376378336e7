//! The least CPU a one-GET probe over a new TCP connection can cost: blocking
//! std sockets, no async runtime, no HTTP library, no timing, no metrics.
//! `scripts/bench.sh` runs it beside the exporters to show how much of their
//! CPU per probe is the kernel's work on the connection itself.
//!
//! `cargo run --release --example connect_floor -- 127.0.0.1:18080 /floor/ 200`
//! (address, path prefix, probes per second; runs until killed).

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark tool on blocking sockets, paced by a wall-clock stopwatch"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let path = args.next().unwrap_or_else(|| "/floor/".into());
    let rate: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(200);
    let period = Duration::from_secs(1) / rate;
    let mut next = Instant::now();
    let mut buf = [0u8; 4096];
    for i in 0u64.. {
        next += period;
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.set_nodelay(true);
            let req = format!("GET {path}{i} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            if s.write_all(req.as_bytes()).is_ok() {
                read_response(&mut s, &mut buf);
            }
            // Dropped here: the client closes, as the exporters do.
        }
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// Reads one response: the head, then `content-length` bytes of body.
fn read_response(s: &mut TcpStream, buf: &mut [u8]) {
    let mut have = 0;
    loop {
        match s.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        let got = &buf[..have];
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if have >= end + 4 + len || have == buf.len() {
                return;
            }
        }
    }
}
