//! How fast the notifier delivers one event to many contacts (issue 24):
//! a real SMTP server on loopback (aiosmtpd, STARTTLS under a test CA, AUTH,
//! one message per recipient), the real outbox, the real delivery code.
//! A benchmark, not a test: it prints numbers (BENCHMARKS.md, section 10).
//!
//!   cargo bench --bench notify_delivery                     # 1,000 contacts
//!   NOTIFY_BENCH_CONTACTS=5000 cargo bench --bench notify_delivery
//!
//! For each concurrency it queues one incident for every contact in a fresh
//! outbox and times `Notifier::deliver` until nothing is due; it reports the
//! wall time, the rate, and the CPU seconds of this process and of the SMTP
//! server over the run (which of the two is the bottleneck).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use mimamori::notify::deliver::Notifier;
use mimamori::notify::metrics::Metrics;
use mimamori::notify::{Contact, Event, EventKind, Lang, Message};

/// User plus system CPU seconds of process `pid` (`self` for this one).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 (utime, stime), counted from after the command name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn main() {
    let n: usize = std::env::var("NOTIFY_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A test CA and localhost's certificate.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &rcgen::Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(d.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(d.join("key.pem"), key.serialize_pem()).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = d.join("mail");
    std::fs::create_dir_all(&out).unwrap();
    let sink = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/notify/smtp_sink.py");
    let mut smtp = Command::new("python3")
        .arg(&sink)
        .args(["--port", &port.to_string(), "--out"])
        .arg(&out)
        .arg("--cert")
        .arg(d.join("cert.pem"))
        .arg("--key")
        .arg(d.join("key.pem"))
        .args(["--user", "bench", "--password", "bench-password"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd (python3 -m pip install --user aiosmtpd==1.4.6)");
    let mut lines = BufReader::new(smtp.stdout.take().unwrap()).lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.is_ok_and(|l| l.starts_with("ready"))),
        "the SMTP sink did not start (is aiosmtpd installed?)"
    );
    let smtp_pid = smtp.id().to_string();

    let contacts: Vec<Contact> = (0..n)
        .map(|i| Contact {
            id: format!("c{i}"),
            services: vec![],
            lang: if i % 2 == 0 { Lang::Ja } else { Lang::En },
            email: Some(format!("user{i}@example.jp")),
            webhook: None,
        })
        .collect();
    let msg = |s: &str| Message {
        subject: format!("{s} AOULU 電子便"),
        text: "AOULU 電子便で障害が発生しています。\n".repeat(10),
        html: "<p>AOULU 電子便で障害が発生しています。</p>".repeat(10),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _enter = rt.enter();
    println!(
        "notify delivery: {n} contacts, one message each, aiosmtpd 1.4.6 on loopback (STARTTLS, AUTH)"
    );
    println!("| concurrency | wall s | messages/s | mimamori CPU s | aiosmtpd CPU s |");
    println!("|---|---|---|---|---|");
    for concurrency in [1, 8] {
        let run = d.join(format!("run-{concurrency}"));
        std::fs::create_dir_all(&run).unwrap();
        let yaml = format!(
            "secrets:\n  pw: {{env: BENCH_PW}}\nservices:\n  - name: denshibin\n    display_name: {{ja: AOULU 電子便, en: AOULU Mail}}\n    transactions:\n      - name: t\n        steps: [{{name: s, url: 'https://x.invalid/'}}]\n\
             notify:\n  contacts: contacts.csv\n  outbox: {}\n  concurrency: {concurrency}\n  smtp:\n    host: localhost\n    port: {port}\n    ca_file: {}\n    username: bench\n    password: ${{secret:pw}}\n    from: AOULU <status@aoulu.example.jp>\n",
            run.join("outbox.sqlite").display(),
            d.join("ca.pem").display()
        );
        let path = run.join("mimamori.yaml");
        std::fs::write(&path, yaml).unwrap();
        let cfg = mimamori::config::load(&path).unwrap();
        let secrets =
            mimamori::config::load_secrets(&cfg, &|_| Some("bench-password".into())).unwrap();
        let notifier = Notifier::new(&cfg, &secrets, Arc::new(Metrics::new()))
            .unwrap()
            .unwrap();
        let now = mimamori::clock::now().timestamp();
        let event = Event {
            key: format!("incident/bench-{concurrency}/started"),
            kind: EventKind::IncidentStarted,
            services: vec!["denshibin".into()],
            incident: Some(format!("bench-{concurrency}")),
            occurred_at: now,
            ja: msg("【障害発生中】"),
            en: msg("[Outage]"),
            ics: None,
            json: serde_json::json!({}),
        };
        assert_eq!(notifier.enqueue(&[event], &contacts, now).unwrap(), n);
        let before = std::fs::read_dir(&out).unwrap().count();
        let (cpu0, smtp0) = (cpu_seconds("self"), cpu_seconds(&smtp_pid));
        let started = tokio::time::Instant::now();
        let clock = || mimamori::clock::now().timestamp();
        let mut delivered = 0;
        while delivered < n {
            let r = rt.block_on(notifier.deliver(&contacts, &clock)).unwrap();
            assert_eq!(r.failed + r.retried, 0, "{r:?}");
            delivered += r.delivered;
        }
        let wall = started.elapsed().as_secs_f64();
        let (cpu, smtp_cpu) = (cpu_seconds("self") - cpu0, cpu_seconds(&smtp_pid) - smtp0);
        let written = (std::fs::read_dir(&out).unwrap().count() - before) / 2;
        assert_eq!(written, n, "messages the server wrote");
        println!(
            "| {concurrency} | {wall:.2} | {:.0} | {cpu:.2} | {smtp_cpu:.2} |",
            n as f64 / wall
        );
        drop(notifier);
    }
    let _ = smtp.kill();
    let _ = smtp.wait();
}
