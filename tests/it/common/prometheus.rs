//! A real Prometheus (Debian's 2.42) for the tests: backfilled from OpenMetrics
//! text with `promtool tsdb create-blocks-from openmetrics`, or scraping live
//! targets, optionally behind TLS, basic auth and a path prefix; and a recording
//! stand-in. Shared by tests/it/report.rs and tests/it/status.rs.

#![allow(
    clippy::disallowed_methods,
    reason = "how long promtool takes to backfill is a wall-clock time"
)]

use std::io::{BufWriter, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::wait_until;

/// `(name{labels}, points)`, points `(unix seconds, value)` in time order.
pub type SeriesSet = Vec<(String, Vec<(i64, f64)>)>;

/// Writes one OpenMetrics file per UTC day of `[start, end)` (promtool reads a
/// file once per 2-hour block, so one file for a month would be read 370
/// times) and turns them into blocks in `db`.
pub fn backfill(all: &[SeriesSet], start: i64, end: i64, dir: &Path, db: &Path) {
    let mut files = Vec::new();
    let mut day = start.div_euclid(86400) * 86400;
    while day < end {
        let path = dir.join(format!("day-{day}.om"));
        let mut w = BufWriter::new(std::fs::File::create(&path).unwrap());
        for series in all {
            for (name, points) in series {
                // Points are in time order: the day's are one slice.
                let a = points.partition_point(|(t, _)| *t < day);
                let b = points.partition_point(|(t, _)| *t < day + 86400);
                for (t, v) in &points[a..b] {
                    writeln!(w, "{name} {v} {t}").unwrap();
                }
            }
        }
        writeln!(w, "# EOF").unwrap();
        w.flush().unwrap();
        files.push(path);
        day += 86400;
    }
    std::thread::scope(|s| {
        for part in files.chunks(files.len().div_ceil(2).max(1)) {
            s.spawn(move || {
                for f in part {
                    let out = Command::new(super::tools::needed("promtool"))
                        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
                        .arg(f)
                        .arg(db)
                        .output()
                        .expect("promtool starts");
                    assert!(
                        out.status.success(),
                        "promtool on {}: {}",
                        f.display(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
}

/// A Prometheus on a free port, killed when dropped (also when a test panics).
pub struct Prometheus {
    child: Child,
    /// Base address including the `/prom` path prefix.
    pub url: String,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Kill-on-drop for a Prometheus a test started with its own flags.
    pub fn adopt(child: Child) -> Prometheus {
        Prometheus {
            child,
            url: String::new(),
            addr: String::new(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Fails the test if Prometheus has exited (while waiting for it to start on `port`).
    fn exited_at_start(&mut self, port: u16) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("Prometheus exited at start ({status}); is port {port} taken?");
        }
    }

    /// Seconds of CPU (user + system) the Prometheus process has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // After the command name (in parentheses): fields 14 and 15 are utime and stime.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            f.get(i - 3)
                .and_then(|x| x.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (field(14) + field(15)) / 100.0
    }

    /// Stops it now (to test what a client does without it).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status code of `GET path` on `addr`, if it answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split(' ').nth(1)?.parse().ok()
}

/// Debian's Prometheus serving the blocks in `db` under the path prefix
/// `/prom` on `addr`, with `extra` flags.
fn spawn_on_blocks(config: &Path, db: &Path, addr: &str, extra: &[String]) -> Child {
    Command::new(super::tools::needed("prometheus"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", db.display()))
        .args(extra)
        .args([
            "--storage.tsdb.retention.time=100y",
            // Equal block durations: no compaction of the backfilled blocks while we query.
            "--storage.tsdb.min-block-duration=2h",
            "--storage.tsdb.max-block-duration=2h",
            "--web.route-prefix=/prom",
        ])
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts")
}

/// Backfills `all` over `[start, end)` and serves it under the path prefix `/prom`.
pub fn start_backfilled(all: &[SeriesSet], start: i64, end: i64) -> Prometheus {
    let dir = backfilled(all, start, end);
    serve_backfilled(dir, &[])
}

/// Backfills `all` over `[start, end)` into a new directory that
/// [`serve_backfilled`] serves (once, or one after another with other flags).
pub fn backfilled(all: &[SeriesSet], start: i64, end: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data");
    std::fs::create_dir(&db).unwrap();
    let t = Instant::now();
    backfill(all, start, end, dir.path(), &db);
    eprintln!("backfill: {:?}", t.elapsed());
    std::fs::write(dir.path().join("prometheus.yml"), "global: {}\n").unwrap();
    dir
}

/// A Prometheus with `extra` flags on the blocks [`backfilled`] put in
/// `dir`, under the path prefix `/prom`; dropping it removes `dir`.
pub fn serve_backfilled(dir: tempfile::TempDir, extra: &[String]) -> Prometheus {
    let root = dir.path().to_path_buf();
    serve_at(&root, dir, extra)
}

/// A Prometheus on the blocks under `root` (as [`backfilled`] lays them out), owning `dir`.
fn serve_at(root: &Path, dir: tempfile::TempDir, extra: &[String]) -> Prometheus {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = spawn_on_blocks(
        &root.join("prometheus.yml"),
        &root.join("data"),
        &addr,
        extra,
    );
    let mut p = Prometheus {
        child,
        url: format!("http://{addr}/prom"),
        addr: addr.clone(),
        _dir: dir,
    };
    wait_until(Duration::from_secs(60), "Prometheus ready", || {
        p.exited_at_start(port);
        http_status(&addr, "/prom/-/ready") == Some(200)
    });
    p
}

impl Prometheus {
    /// Stops this one and serves its blocks again with `extra` flags.
    pub fn restart_with(mut self, extra: &[String]) -> Prometheus {
        self.stop();
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        serve_backfilled(dir, extra)
    }
}

/// A stand-in Prometheus that records each request's head and answers with empty results.
pub fn recording_server() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let mut buf = Vec::new();
            let mut byte = [0u8; 1];
            while !buf.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                buf.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&buf).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = s.read_exact(&mut body);
            let _ = tx.send(head.clone());
            let kind = if head.contains("query_range") {
                "matrix"
            } else {
                "vector"
            };
            let answer =
                format!(r#"{{"status":"success","data":{{"resultType":"{kind}","result":[]}}}}"#);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (addr, rx)
}

/// A real Prometheus behind TLS, basic auth (its own `--web.config.file`) and the path prefix
/// `/prom`, as Thanos Query or Mimir would sit behind a gateway.
pub struct Secured {
    pub prometheus: Prometheus,
    /// `https://localhost:PORT/prom`
    pub url: String,
    pub ca_file: std::path::PathBuf,
    /// Holds the right password (`pa55word`) for the user `reporter`.
    pub password_file: std::path::PathBuf,
    pub dir: tempfile::TempDir,
}

pub const SECURED_USER: &str = "reporter";
pub const SECURED_PASSWORD: &str = "pa55word";

/// Starts a [`Secured`] Prometheus, backfilled with `data` over `[start, end)` when given.
/// Ready when it answers an authenticated `/prom/-/ready` over TLS.
pub fn start_secured(data: Option<(&[SeriesSet], i64, i64)>) -> Secured {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = leaf
        .signed_by(&key, &Issuer::from_params(&ca, &ca_key))
        .unwrap();
    std::fs::write(d.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(d.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("key.pem"), key.serialize_pem()).unwrap();
    std::fs::write(d.join("password"), format!("{SECURED_PASSWORD}\n")).unwrap();
    let hash = bcrypt::hash(SECURED_PASSWORD, 4).unwrap();
    std::fs::write(
        d.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {0}/cert.pem\n  key_file: {0}/key.pem\nbasic_auth_users:\n  {SECURED_USER}: '{hash}'\n",
            d.display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("prometheus.yml"), "global: {}\n").unwrap();
    let db = d.join("data");
    std::fs::create_dir(&db).unwrap();
    if let Some((all, start, end)) = data {
        backfill(all, start, end, d, &db);
    }
    let port = free_port();
    let child = spawn_on_blocks(
        &d.join("prometheus.yml"),
        &db,
        &format!("127.0.0.1:{port}"),
        &[format!("--web.config.file={}/web.yml", d.display())],
    );
    let mut prometheus = Prometheus::adopt(child);
    let url = format!("https://localhost:{port}/prom");
    let ca = reqwest::Certificate::from_pem(ca_cert.pem().as_bytes()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .unwrap();
    wait_until(Duration::from_secs(60), "Prometheus ready", || {
        prometheus.exited_at_start(port);
        client
            .get(format!("{url}/-/ready"))
            .basic_auth(SECURED_USER, Some(SECURED_PASSWORD))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    Secured {
        prometheus,
        url,
        ca_file: d.join("ca.pem"),
        password_file: d.join("password"),
        dir,
    }
}

/// The `mimamori` a benchmark times: `MIMAMORI_BENCH_BIN` when set (e.g.
/// `target/release/mimamori` from `cargo build --release`: the figures that
/// count), else the one cargo built with the tests (a debug build unless
/// `cargo test --release`).
pub fn bench_bin() -> std::path::PathBuf {
    let bin = std::env::var_os("MIMAMORI_BENCH_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_mimamori").into());
    eprintln!("timing {}", bin.display());
    bin
}

/// A benchmark service's month: `mimamori_probe_success` of transaction `t`
/// every 15 s from `first` (until `end`) at each of `locations`, failing for
/// the three minutes from `outage`, and its `reason="timeout"` failure counter
/// around that outage.
pub fn bench_service(
    name: &str,
    locations: &[&str],
    first: i64,
    end: i64,
    outage: i64,
) -> SeriesSet {
    let failing = outage..outage + 180;
    let mut set = SeriesSet::new();
    for loc in locations {
        let labels = format!("service=\"{name}\",transaction=\"t\",location=\"{loc}\"");
        let times = (0..).map(|k| first + k * 15).take_while(|t| *t < end);
        set.push((
            format!("mimamori_probe_success{{{labels}}}"),
            times
                .clone()
                .map(|t| (t, if failing.contains(&t) { 0.0 } else { 1.0 }))
                .collect(),
        ));
        let mut count = 0.0;
        set.push((
            format!("mimamori_probe_failures_total{{{labels},reason=\"timeout\"}}"),
            times
                .filter(|&t| outage - 600 <= t && t < outage + 780)
                .map(|t| {
                    if failing.contains(&t) {
                        count += 1.0;
                    }
                    (t, count)
                })
                .collect(),
        ));
    }
    set
}

/// A benchmark's Prometheus: the data `make` gives, backfilled into
/// `MIMAMORI_BENCH_DATA/<name>` and kept there for the next run when that is
/// set (backfilling 50 services takes minutes), else into a temporary directory.
pub fn bench_backfilled(
    name: &str,
    make: impl FnOnce() -> (Vec<SeriesSet>, i64, i64),
) -> Prometheus {
    let Some(keep) = std::env::var_os("MIMAMORI_BENCH_DATA") else {
        let (all, start, end) = make();
        return start_backfilled(&all, start, end);
    };
    let root = Path::new(&keep).join(name);
    if !root.join("prometheus.yml").exists() {
        let (all, start, end) = make();
        let db = root.join("data");
        std::fs::create_dir_all(&db).unwrap();
        let work = tempfile::tempdir().unwrap();
        let t = Instant::now();
        backfill(&all, start, end, work.path(), &db);
        eprintln!("backfill: {:?}", t.elapsed());
        std::fs::write(root.join("prometheus.yml"), "global: {}\n").unwrap();
    } else {
        eprintln!("reusing the data in {}", root.display());
    }
    serve_at(&root, tempfile::tempdir().unwrap(), &[])
}
