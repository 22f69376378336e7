//! A loopback HTTP server that answers every request after a known delay, for
//! measuring how accurately the exporter times responses (`scripts/bench.sh`).
//!
//! `cargo run --release --example delay_server -- 127.0.0.1:18090 50ms`
//!
//! One thread per connection, blocking I/O and `thread::sleep`, so the delay
//! does not depend on an async runtime's timer granularity. The delay actually
//! applied (request head read → response written) is recorded; `GET /stats`
//! answers its count, median and 99th percentile in microseconds, immediately.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark tool on blocking threads: the delay it applies is measured with a wall-clock stopwatch"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18090".into());
    let delay = args
        .next()
        .map(|d| humantime::parse_duration(&d).expect("delay like 50ms"))
        .unwrap_or(Duration::from_millis(50));
    let listener = TcpListener::bind(&addr).expect("bind");
    eprintln!("delay_server on {addr}, delay {delay:?}");
    let applied = Arc::new(Mutex::new(Vec::<u64>::new()));
    for stream in listener.incoming().flatten() {
        let applied = applied.clone();
        std::thread::spawn(move || {
            let _ = serve(stream, delay, &applied);
        });
    }
}

fn serve(stream: TcpStream, delay: Duration, applied: &Mutex<Vec<u64>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let stats = line.starts_with("GET /stats");
        // The rest of the head (GETs carry no body).
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
        }
        let t = Instant::now();
        let body = if stats {
            let mut v = applied.lock().expect("not poisoned");
            v.sort_unstable();
            let q = |p: f64| {
                v.get(((v.len() as f64 - 1.0) * p).round() as usize)
                    .copied()
            };
            let s = format!(
                "{{\"count\":{},\"p50_us\":{},\"p99_us\":{}}}\n",
                v.len(),
                q(0.5).unwrap_or(0),
                q(0.99).unwrap_or(0)
            );
            if line.contains("reset") {
                v.clear();
            }
            s
        } else {
            std::thread::sleep(delay);
            "ok\n".to_string()
        };
        write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )?;
        out.flush()?;
        if !stats {
            let us = t.elapsed().as_micros() as u64;
            applied.lock().expect("not poisoned").push(us);
        }
    }
}
