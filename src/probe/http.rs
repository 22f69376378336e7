//! One HTTP exchange with every phase timed: resolve, connect, TLS, processing
//! (request sent until the response head) and transfer (the body).
//!
//! Built on hyper's client connection API rather than a pooled client, because
//! the phases must be measured separately and every run starts from nothing:
//! connections live only for the run that opened them.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE, USER_AGENT,
};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::context::ProbeContext;
use super::outcome::{Phase, Phases, Reason, TlsFacts};

/// A failed exchange: the reason and a human-readable detail.
pub type Failure = (Reason, String);

/// Scheme, host and port: what a connection is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    fn host_header(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Splits an absolute http(s) URL.
pub fn parse_url(url: &str) -> Result<(Origin, String), String> {
    let uri: Uri = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err("URL must start with https:// or http://".into()),
    };
    let host = uri
        .host()
        .ok_or("URL has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    Ok((Origin { https, host, port }, path))
}

/// Resolves a redirect target against the URL that answered.
pub fn resolve_location(base: &Origin, base_path: &str, location: &str) -> String {
    let scheme = if base.https { "https" } else { "http" };
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{}{location}", base.host_header())
    } else {
        let dir = base_path.split('?').next().unwrap_or("/");
        let dir = &dir[..dir.rfind('/').map(|i| i + 1).unwrap_or(0)];
        format!("{scheme}://{}{dir}{location}", base.host_header())
    }
}

/// hyper's connection future: reads and writes the socket. Polled by the
/// run itself while it waits on the connection (see [`Conn::drive`]), not
/// by a task of its own: a task per connection cost an allocation and a
/// wake-up between tasks for every answer. Dropped with the run, which
/// closes the connection even if the peer never answers.
type Driver = Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send + Sync>>;

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    /// `None` once the connection has ended.
    driver: Option<Driver>,
    tls: Option<TlsFacts>,
}

/// Waits for `f` while the connection makes progress.
async fn drive<F: Future>(driver: &mut Option<Driver>, f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    if let Some(d) = driver {
        tokio::select! {
            biased;
            out = &mut f => return out,
            _ = d.as_mut() => *driver = None,
        }
    }
    // The connection has ended: `f` now ends too (hyper fails what was
    // waiting on it).
    f.await
}

/// Open connections of a run, by origin.
struct Conns(Vec<(Origin, Conn)>);

impl Conns {
    fn get_mut(&mut self, origin: &Origin) -> Option<&mut Conn> {
        self.0.iter_mut().find(|(o, _)| o == origin).map(|(_, c)| c)
    }

    fn remove(&mut self, origin: &Origin) {
        self.0.retain(|(o, _)| o != origin);
    }

    fn insert(&mut self, origin: Origin, conn: Conn) {
        self.remove(&origin);
        self.0.push((origin, conn));
    }
}

/// Per-run client state: open connections and cookies. Dropped at the end of
/// the run, closing everything it opened.
pub struct Session<'a> {
    ctx: &'a ProbeContext,
    tls: Arc<rustls::ClientConfig>,
    server_name: Option<String>,
    max_header_bytes: usize,
    /// A run talks to one or a few origins: a list beats hashing.
    conns: Conns,
    cookies: Vec<(String, String, String)>,
}

/// What a request produced, with the body read.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub tls: Option<TlsFacts>,
}

/// A request to send.
pub struct Outgoing<'a> {
    pub method: Method,
    pub url: String,
    pub headers: &'a [(http::HeaderName, HeaderValue)],
    pub body: Option<(Bytes, Option<&'static str>)>,
    pub user_agent: &'a str,
}

impl<'a> Session<'a> {
    pub fn new(
        ctx: &'a ProbeContext,
        tls: Arc<rustls::ClientConfig>,
        server_name: Option<String>,
        max_header_bytes: usize,
    ) -> Self {
        Session {
            ctx,
            tls,
            server_name,
            max_header_bytes,
            conns: Conns(Vec::new()),
            cookies: Vec::new(),
        }
    }

    async fn connect(&self, origin: &Origin, phases: &mut Phases) -> Result<Conn, Failure> {
        let t = Instant::now();
        let (literal, resolved): ([SocketAddr; 1], Vec<SocketAddr>);
        let addrs: &[SocketAddr] = match origin.host.parse::<IpAddr>() {
            Ok(ip) => {
                literal = [SocketAddr::new(ip, origin.port)];
                &literal
            }
            Err(_) => {
                let found = tokio::net::lookup_host((origin.host.as_str(), origin.port)).await;
                phases.add(Phase::Resolve, t.elapsed());
                resolved = found
                    .map_err(|e| (Reason::Dns, format!("resolving {}: {e}", origin.host)))?
                    .collect();
                &resolved
            }
        };
        if addrs.is_empty() {
            return Err((
                Reason::Dns,
                format!("resolving {}: no addresses", origin.host),
            ));
        }
        let t = Instant::now();
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(format!("connecting to {addr}: {e}")),
            }
        }
        phases.add(Phase::Connect, t.elapsed());
        let stream = stream.ok_or_else(|| (Reason::Connect, last.unwrap_or_default()))?;
        let _ = stream.set_nodelay(true);
        let mut builder = hyper::client::conn::http1::Builder::new();
        builder.max_buf_size(self.max_header_bytes.max(8192));
        if origin.https {
            let t = Instant::now();
            let name = self
                .server_name
                .clone()
                .unwrap_or_else(|| origin.host.clone());
            let server_name = rustls::pki_types::ServerName::try_from(name.clone())
                .map_err(|e| (Reason::Tls, format!("invalid TLS server name {name}: {e}")))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(server_name, stream)
                .await;
            phases.add(Phase::Tls, t.elapsed());
            let tls = tls.map_err(|e| {
                (
                    Reason::Tls,
                    format!("TLS handshake with {}: {e}", origin.host),
                )
            })?;
            let session = tls.get_ref().1;
            let facts = TlsFacts {
                version: session
                    .protocol_version()
                    .map(tls_version_name)
                    .unwrap_or_default(),
                cipher: session
                    .negotiated_cipher_suite()
                    .map(|c| format!("{:?}", c.suite()))
                    .unwrap_or_default(),
                not_after: session
                    .peer_certificates()
                    .and_then(|c| self.ctx.chain_expiry(c)),
            };
            http1(&builder, tls, Some(facts)).await
        } else {
            http1(&builder, stream, None).await
        }
    }

    fn cookie_header(&self, host: &str) -> Option<HeaderValue> {
        let v: Vec<String> = self
            .cookies
            .iter()
            .filter(|(h, ..)| h == host)
            .map(|(_, n, v)| format!("{n}={v}"))
            .collect();
        if v.is_empty() {
            None
        } else {
            HeaderValue::from_str(&v.join("; ")).ok()
        }
    }

    /// Keeps `name=value` of each Set-Cookie for the host; expired or empty ones are removed.
    fn store_cookies(&mut self, host: &str, headers: &HeaderMap) {
        for sc in headers.get_all(SET_COOKIE) {
            let Ok(s) = sc.to_str() else { continue };
            let mut attrs = s.split(';');
            let Some((name, value)) = attrs.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            let expired = attrs.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.cookies.retain(|(h, n, _)| !(h == host && *n == name));
            if !expired && !value.is_empty() {
                self.cookies.push((host.to_string(), name, value));
            }
        }
    }

    /// Sends one request (no redirects followed) and reads the body up to `max_body`.
    pub async fn exchange(
        &mut self,
        out: &Outgoing<'_>,
        max_body: u64,
        phases: &mut Phases,
    ) -> Result<Response, Failure> {
        let (origin, path) = parse_url(&out.url).map_err(|m| (Reason::Protocol, m))?;
        // Reuse this run's connection to the origin when it is still open.
        let reusable = match self.conns.get_mut(&origin) {
            Some(c) => {
                let ready = std::future::poll_fn(|cx| c.sender.poll_ready(cx));
                drive(&mut c.driver, ready).await.is_ok()
            }
            None => false,
        };
        if !reusable {
            self.conns.remove(&origin);
            let conn = self.connect(&origin, phases).await?;
            self.conns.insert(origin.clone(), conn);
        }
        let mut req = Request::builder()
            .method(out.method.clone())
            .uri(path.as_str());
        let headers = req.headers_mut().expect("builder is valid");
        headers.insert(
            HOST,
            HeaderValue::from_maybe_shared(Bytes::from(origin.host_header()))
                .map_err(|e| (Reason::Protocol, e.to_string()))?,
        );
        if let Ok(ua) = HeaderValue::from_str(out.user_agent) {
            headers.insert(USER_AGENT, ua);
        }
        if let Some(c) = self.cookie_header(&origin.host) {
            headers.insert(COOKIE, c);
        }
        let body = match &out.body {
            Some((b, ct)) => {
                if let Some(ct) = ct {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
                }
                b.clone()
            }
            None => Bytes::new(),
        };
        for (k, v) in out.headers {
            headers.insert(k.clone(), v.clone());
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| (Reason::Protocol, e.to_string()))?;
        let conn = self.conns.get_mut(&origin).expect("inserted above");
        let tls = conn.tls.clone();
        let t = Instant::now();
        let sent = conn.sender.send_request(req);
        let resp = drive(&mut conn.driver, sent)
            .await
            .map_err(|e| (Reason::Protocol, hyper_error(&e)))?;
        phases.add(Phase::Processing, t.elapsed());
        let t = Instant::now();
        let status = resp.status().as_u16();
        let (parts, mut incoming) = resp.into_parts();
        if let Some(len) = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if len > max_body {
                self.conns.remove(&origin);
                return Err((
                    Reason::BodyTooLarge,
                    format!("content-length {len} exceeds the limit of {max_body} bytes"),
                ));
            }
        }
        let mut buf = Vec::new();
        loop {
            let conn = self.conns.get_mut(&origin).expect("open while reading");
            let Some(frame) = drive(&mut conn.driver, incoming.frame()).await else {
                break;
            };
            let frame = frame.map_err(|e| {
                (
                    Reason::Protocol,
                    format!("reading body: {}", hyper_error(&e)),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if buf.len() as u64 + data.len() as u64 > max_body {
                    self.conns.remove(&origin);
                    return Err((
                        Reason::BodyTooLarge,
                        format!("body exceeds the limit of {max_body} bytes"),
                    ));
                }
                buf.extend_from_slice(&data);
            }
        }
        phases.add(Phase::Transfer, t.elapsed());
        self.store_cookies(&origin.host, &parts.headers);
        Ok(Response {
            status,
            headers: parts.headers,
            body: Bytes::from(buf),
            tls,
        })
    }

    /// Sends a request and follows redirects within the allowed hosts.
    pub async fn request(
        &mut self,
        mut out: Outgoing<'_>,
        max_body: u64,
        follow: Option<(u32, &[String])>,
        phases: &mut Phases,
    ) -> Result<Response, Failure> {
        let (first, _) = parse_url(&out.url).map_err(|m| (Reason::Protocol, m))?;
        let mut hops = 0;
        loop {
            let resp = self.exchange(&out, max_body, phases).await?;
            let Some((max, allowed)) = follow else {
                return Ok(resp);
            };
            if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            let Some(loc) = resp.headers.get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return Ok(resp);
            };
            if hops >= max {
                return Err((
                    Reason::Redirect,
                    format!("more than {max} redirects (last to {loc})"),
                ));
            }
            let (origin, path) = parse_url(&out.url).map_err(|m| (Reason::Protocol, m))?;
            let next = resolve_location(&origin, &path, loc);
            let (next_origin, _) = parse_url(&next)
                .map_err(|m| (Reason::Redirect, format!("redirect to {next}: {m}")))?;
            if next_origin.host != first.host
                && !allowed
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&next_origin.host))
            {
                return Err((Reason::Redirect, format!("redirect to another host {} is not allowed (add it to allow_redirect_hosts)", next_origin.host)));
            }
            if resp.status == 303
                || (matches!(resp.status, 301 | 302) && out.method == Method::POST)
            {
                out.method = Method::GET;
                out.body = None;
            }
            out.url = next;
            hops += 1;
        }
    }
}

/// Starts HTTP/1.1 on an open (plain or TLS) stream; the connection is driven
/// by its own task, which [`Conn`]'s drop ends.
async fn http1<T>(
    builder: &hyper::client::conn::http1::Builder,
    io: T,
    tls: Option<TlsFacts>,
) -> Result<Conn, Failure>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static,
{
    let (sender, conn) = builder
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| (Reason::Protocol, e.to_string()))?;
    Ok(Conn {
        sender,
        driver: Some(Box::pin(conn)),
        tls,
    })
}

fn tls_version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// hyper's error with its cause, which says what actually happened.
fn hyper_error(e: &hyper::Error) -> String {
    use std::error::Error;
    match e.source() {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_and_resolves_redirects() {
        let (o, p) = parse_url("https://a.example:8443/x/y?q=1").unwrap();
        assert_eq!(
            o,
            Origin {
                https: true,
                host: "a.example".into(),
                port: 8443
            }
        );
        assert_eq!(p, "/x/y?q=1");
        assert_eq!(resolve_location(&o, &p, "/z"), "https://a.example:8443/z");
        assert_eq!(
            resolve_location(&o, &p, "z?k"),
            "https://a.example:8443/x/z?k"
        );
        assert_eq!(resolve_location(&o, &p, "http://b/"), "http://b/");
        let (o, p) = parse_url("http://[::1]/").unwrap();
        assert_eq!(o.host, "::1");
        assert_eq!(o.host_header(), "[::1]");
        assert_eq!(p, "/");
        assert!(parse_url("ftp://x/").is_err());
    }
}
