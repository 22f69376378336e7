//! A small client for the Prometheus HTTP query API, shared by `report`, `status` and `doctor`.
//!
//! Queries speak only `/api/v1/query` and `/api/v1/query_range`, which Prometheus,
//! Thanos Query, Mimir and VictoriaMetrics all serve, under any path prefix.
//! Range queries are cut into chunks that stay under the server's limit of
//! 11,000 points per series and sent a few at a time. Credentials (basic-auth
//! password, bearer token) are read from files and never appear in an error.
//! The status APIs `doctor` reads (rules, targets, Alertmanagers, flags) are in [`api`].

pub mod api;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;

/// Points per series Prometheus answers at most in one range query.
pub const MAX_POINTS: u64 = 11_000;

/// Range-query chunks in flight at once.
pub const CONCURRENCY: usize = 4;

/// How to reach Prometheus: the `--prometheus.*` flags of every command that
/// queries it (`report`, `status`, `doctor`), parsed and checked by clap, so
/// a malformed header or duration never gets past the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientOptions {
    /// Prometheus (or Thanos Query, Mimir, VictoriaMetrics) base address; may carry a path
    /// prefix, e.g. https://mimir.example/prometheus.
    #[arg(long = "prometheus.url", value_name = "URL")]
    pub url: String,
    /// User name for HTTP basic authentication.
    #[arg(long = "prometheus.basic-auth-user", value_name = "USER")]
    pub basic_auth_user: Option<String>,
    /// File holding the basic-auth password (trailing newline removed).
    #[arg(
        long = "prometheus.basic-auth-password-file",
        value_name = "FILE",
        requires = "basic_auth_user"
    )]
    pub basic_auth_password_file: Option<PathBuf>,
    /// File holding a bearer token (trailing newline removed).
    #[arg(
        long = "prometheus.bearer-token-file",
        value_name = "FILE",
        conflicts_with = "basic_auth_user"
    )]
    pub bearer_token_file: Option<PathBuf>,
    /// Extra request header, e.g. X-Scope-OrgID=tenant-a; repeatable.
    #[arg(long = "prometheus.header", value_name = "NAME=VALUE", value_parser = Header::parse)]
    pub headers: Vec<Header>,
    /// CA certificate(s) (PEM) to trust besides the bundled Mozilla roots (webpki-roots).
    #[arg(long = "prometheus.ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Deadline for one HTTP request.
    #[arg(long = "prometheus.timeout", default_value = "30s", value_parser = crate::config::duration::parse)]
    pub timeout: Duration,
}

/// One extra request header (`--prometheus.header NAME=VALUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: reqwest::header::HeaderName,
    pub value: reqwest::header::HeaderValue,
}

impl Header {
    /// Parses `NAME=VALUE` (spaces around either trimmed).
    pub fn parse(h: &str) -> Result<Header, String> {
        use reqwest::header::{HeaderName, HeaderValue};
        let (name, value) = h
            .split_once('=')
            .ok_or("expected NAME=VALUE, e.g. X-Scope-OrgID=tenant-a")?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("invalid header name '{name}'"))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("{name}: invalid header value"))?;
        Ok(Header { name, value })
    }
}

/// What can go wrong. Messages never hold a password or token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The flags are wrong (bad URL, unreadable file, malformed header): a usage error.
    #[error("{0}")]
    Options(String),
    #[error(
        "cannot reach Prometheus at {url}: {cause} (is --prometheus.url right, and is it running?)"
    )]
    Unreachable { url: String, cause: String },
    #[error("Prometheus at {url} answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("Prometheus at {url} refused the query ({kind}): {message}")]
    Api {
        url: String,
        kind: String,
        message: String,
    },
    #[error("unexpected answer from Prometheus at {url}: {message}")]
    Decode { url: String, message: String },
}

/// One series of a range query: its labels and `(unix seconds, value)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(f64, f64)>,
}

/// One series of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A configured client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// Base address ending in `/`, so `api/v1/query` joins under its path prefix.
    base: reqwest::Url,
    /// The base address as printed: without any user info.
    shown: String,
    auth: Option<reqwest::header::HeaderValue>,
    queries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Points (one value of one series at one time) decoded from range queries.
    points: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("url", &self.shown).finish()
    }
}

fn read_secret(path: &std::path::Path, what: &str) -> Result<String, Error> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| Error::Options(format!("cannot read {what} file {}: {e}", path.display())))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

impl Client {
    pub fn new(args: &ClientOptions) -> Result<Self, Error> {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut base = reqwest::Url::parse(&args.url).map_err(|e| {
            Error::Options(format!(
                "--prometheus.url '{}': {e} (expected e.g. http://127.0.0.1:9090)",
                redact(&args.url)
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Options(format!(
                "--prometheus.url '{}': scheme must be http or https",
                redact(&args.url)
            )));
        }
        // Credentials in the URL become basic auth; the URL we print carries none.
        let mut auth = None;
        if !base.username().is_empty() {
            let user = base.username().to_string();
            let pass = base.password().map(str::to_string);
            auth = Some(basic(&user, pass.as_deref()));
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        base.set_query(None);
        base.set_fragment(None);
        let shown = base.to_string();

        if let Some(user) = &args.basic_auth_user {
            let pass = match &args.basic_auth_password_file {
                Some(p) => Some(read_secret(p, "basic-auth password")?),
                None => None,
            };
            auth = Some(basic(user, pass.as_deref()));
        }
        if let Some(p) = &args.bearer_token_file {
            let token = read_secret(p, "bearer token")?;
            let mut v = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                Error::Options(format!(
                    "bearer token file {}: not a valid header value",
                    p.display()
                ))
            })?;
            v.set_sensitive(true);
            auth = Some(v);
        }

        let mut headers = HeaderMap::new();
        for h in &args.headers {
            headers.append(h.name.clone(), h.value.clone());
        }

        let mut builder = reqwest::Client::builder()
            .timeout(args.timeout)
            .default_headers(headers)
            .user_agent(format!("mimamori/{}", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &args.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                Error::Options(format!("cannot read CA file {}: {e}", ca.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| Error::Options(format!("CA file {}: {e}", ca.display())))?;
            if certs.is_empty() {
                return Err(Error::Options(format!(
                    "CA file {}: no PEM certificate in it",
                    ca.display()
                )));
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder
            .build()
            .map_err(|e| Error::Options(format!("HTTP client: {}", e.without_url())))?;
        Ok(Client {
            http,
            base,
            shown,
            auth,
            queries: Default::default(),
            points: Default::default(),
        })
    }

    /// The base address, without credentials: safe to print.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// How many range-query points this client (and its clones) has decoded.
    pub fn points_fetched(&self) -> u64 {
        self.points.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many HTTP queries this client (and its clones) has sent.
    pub fn queries_sent(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn post(&self, api: &str, form: &[(&str, String)]) -> Result<Data, Error> {
        let url = self.base.join(api).expect("a relative API path joins");
        self.send(api, self.http.post(url).form(form)).await
    }

    /// Sends `req` (to `api`) with the client's credentials and counts it;
    /// the `data` of a successful answer, or why there is none. Shared by the
    /// queries (`POST`) and the status APIs (`GET`, [`api`]).
    pub(crate) async fn send<T: serde::de::DeserializeOwned>(
        &self,
        api: &str,
        mut req: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(a) = &self.auth {
            req = req.header(reqwest::header::AUTHORIZATION, a.clone());
        }
        let shown = || self.shown.clone();
        let asked = tokio::time::Instant::now();
        let resp = req.send().await.map_err(|e| Error::Unreachable {
            url: shown(),
            cause: cause_chain(&e),
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| Error::Unreachable {
            url: shown(),
            cause: cause_chain(&e),
        })?;
        let answered = asked.elapsed();
        let decoded = serde_json::from_slice::<Envelope<T>>(&bytes);
        tracing::debug!(
            api,
            bytes = bytes.len(),
            answered_ms = answered.as_millis() as u64,
            decoded_ms = (asked.elapsed() - answered).as_millis() as u64,
            "query"
        );
        match decoded {
            Ok(Envelope {
                status: s,
                data: Some(data),
                ..
            }) if s == "success" => Ok(data),
            Ok(Envelope {
                error_type, error, ..
            }) if error.is_some() => Err(Error::Api {
                url: shown(),
                kind: error_type.unwrap_or_default(),
                message: error.unwrap_or_default(),
            }),
            _ if !status.is_success() => Err(Error::Status {
                url: shown(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
            }),
            Ok(_) => Err(self.decode("no data in a successful answer".into())),
            Err(e) => Err(self.decode(format!("{api}: {e}"))),
        }
    }

    /// An instant query at `time` (unix seconds).
    pub async fn query(&self, expr: &str, time: i64) -> Result<Vec<Sample>, Error> {
        let data = self
            .post(
                "api/v1/query",
                &[("query", expr.to_string()), ("time", time.to_string())],
            )
            .await?;
        match data {
            Data::Vector(v) => v
                .into_iter()
                .map(|r| {
                    Ok(Sample {
                        labels: r.metric,
                        value: parse_value(&r.value.1).map_err(|m| self.decode(m))?,
                    })
                })
                .collect(),
            Data::Scalar((_, v)) => Ok(vec![Sample {
                labels: BTreeMap::new(),
                value: parse_value(&v).map_err(|m| self.decode(m))?,
            }]),
            Data::Matrix(_) => Err(self.decode("a matrix for an instant query".into())),
        }
    }

    /// A range query at every `step_seconds` from `start` to `end` (unix seconds, both
    /// included), in chunks of at most [`MAX_POINTS`] points, [`CONCURRENCY`] at a time.
    /// Series are merged across chunks by their labels.
    pub async fn query_range(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step_seconds: u64,
    ) -> Result<Vec<Series>, Error> {
        let chunks = chunks(start, end, step_seconds, MAX_POINTS);
        let step = step_seconds.to_string();
        let answers: Vec<Vec<RangeSeries>> = stream::iter(chunks.into_iter().map(|(a, b)| {
            let form = [
                ("query", expr.to_string()),
                ("start", a.to_string()),
                ("end", b.to_string()),
                ("step", step.clone()),
            ];
            async move {
                match self.post("api/v1/query_range", &form).await? {
                    Data::Matrix(m) => Ok(m),
                    _ => Err(self.decode("not a matrix for a range query".into())),
                }
            }
        }))
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
        let mut merged: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        let mut n = 0;
        for chunk in answers {
            for s in chunk {
                n += s.values.len() as u64;
                let points = merged.entry(s.metric).or_default();
                for (t, v) in s.values {
                    points.push((t, parse_value(&v).map_err(|m| self.decode(m))?));
                }
            }
        }
        self.points
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(merged
            .into_iter()
            .map(|(labels, points)| Series { labels, points })
            .collect())
    }

    fn decode(&self, message: String) -> Error {
        Error::Decode {
            url: self.shown.clone(),
            message,
        }
    }
}

/// `[start, end]` at `step` cut into pieces of at most `max_points` points that
/// share no point: `(chunk start, chunk end)`, both on the grid.
pub fn chunks(start: i64, end: i64, step: u64, max_points: u64) -> Vec<(i64, i64)> {
    let step = step.max(1) as i64;
    let span = (max_points.max(1) as i64 - 1) * step;
    let mut out = Vec::new();
    let mut a = start;
    while a <= end {
        let b = (a + span).min(end);
        let b = a + (b - a) / step * step;
        out.push((a, b));
        a = b + step;
    }
    out
}

fn basic(user: &str, pass: Option<&str>) -> reqwest::header::HeaderValue {
    use base64::Engine;
    let raw = format!("{user}:{}", pass.unwrap_or(""));
    let enc = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut v = reqwest::header::HeaderValue::from_str(&format!("Basic {enc}"))
        .expect("base64 is a valid header value");
    v.set_sensitive(true);
    v
}

/// A URL as it may be printed: user info replaced.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => match url.split_once('@') {
            Some((_, rest)) => format!("****@{rest}"),
            None => url.to_string(),
        },
    }
}

/// The error and its causes, without the URL reqwest puts in its message.
fn cause_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    if e.is_timeout() {
        parts.push("timed out".to_string());
    }
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let m = s.to_string();
        if !parts.iter().any(|p: &String| p.contains(&m)) {
            parts.push(m);
        }
        src = s.source();
    }
    if parts.is_empty() {
        parts.push(reqwest_kind(e));
    }
    parts.join(": ")
}

fn reqwest_kind(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection failed".into()
    } else if e.is_body() || e.is_decode() {
        "answer cut short".into()
    } else {
        "request failed".into()
    }
}

fn parse_value(v: &str) -> Result<f64, String> {
    match v {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => v
            .parse()
            .map_err(|_| format!("value '{v}' is not a number")),
    }
}

#[derive(Deserialize)]
pub(crate) struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Matrix(Vec<RangeSeries>),
    Vector(Vec<InstantSeries>),
    Scalar((f64, String)),
}

#[derive(Deserialize)]
struct RangeSeries {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct InstantSeries {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_under_the_limit_and_cover_the_grid_once() {
        // A 31-day month at 15 s: 178,560 points → 17 chunks.
        let (start, step) = (1_000_000_i64, 15_u64);
        let end = start + 31 * 86400;
        let c = chunks(start, end, step, MAX_POINTS);
        assert_eq!(c.first().unwrap().0, start);
        assert_eq!(c.last().unwrap().1, end);
        let mut points = 0;
        for w in c.windows(2) {
            assert_eq!(w[1].0, w[0].1 + step as i64);
        }
        for (a, b) in &c {
            let n = (b - a) / step as i64 + 1;
            assert!(n as u64 <= MAX_POINTS);
            points += n;
        }
        assert_eq!(points, (end - start) / step as i64 + 1);
        assert_eq!(c.len(), 17);
        assert_eq!(chunks(10, 10, 60, MAX_POINTS), vec![(10, 10)]);
    }

    #[test]
    fn credentials_never_show() {
        assert_eq!(
            redact("https://u:secret@prom.example/prefix"),
            "https://prom.example/prefix"
        );
        let args = ClientOptions {
            url: "https://u:secret@prom.example/prefix".into(),
            basic_auth_user: None,
            basic_auth_password_file: None,
            bearer_token_file: None,
            headers: vec![Header::parse("X-Scope-OrgID=tenant-a").unwrap()],
            ca_file: None,
            timeout: Duration::from_secs(1),
        };
        let c = Client::new(&args).unwrap();
        assert_eq!(c.url(), "https://prom.example/prefix/");
        assert!(!format!("{c:?}").contains("secret"));
        let bad = ClientOptions {
            url: "ftp://prom.example/".into(),
            ..args
        };
        assert!(matches!(Client::new(&bad), Err(Error::Options(_))));
        for (bad, says) in [
            ("nonsense", "expected NAME=VALUE"),
            ("X Y=1", "invalid header name 'X Y'"),
            ("X-Y=a\nb", "x-y: invalid header value"),
        ] {
            let e = Header::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn answers_decode() {
        let m: Envelope<Data> = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"a"},"values":[[1.5,"1"],[2,"NaN"]]}]}}"#,
        )
        .unwrap();
        assert!(matches!(m.data, Some(Data::Matrix(ref v)) if v[0].values.len() == 2));
        let e: Envelope<Data> = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
        .unwrap();
        assert_eq!(e.error.as_deref(), Some("parse error"));
    }
}
