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
use cookie_store::CookieStore;
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
use super::resolve::{self, Hosts};
use crate::config::IpProtocol;

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

/// Splits an absolute http(s) URL into its origin and the request target
/// (path and query, `/` when empty) as the request line carries it. One
/// parse per request: the target is a slice of the parsed URL, not parsed
/// again.
pub fn parse_url(url: &str) -> Result<(Origin, Uri), String> {
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
    let target = match uri.into_parts().path_and_query {
        Some(p) if !p.as_str().is_empty() => Uri::from(p),
        _ => Uri::from_static("/"),
    };
    Ok((Origin { https, host, port }, target))
}

/// Resolves a redirect target against the URL that answered, as a browser
/// does (RFC 3986 reference resolution: `?page=2`, `../up`, `//host/x`).
pub fn resolve_location(base: &str, location: &str) -> Result<String, String> {
    let base = url::Url::parse(base).map_err(|e| format!("invalid URL {base}: {e}"))?;
    base.join(location)
        .map(String::from)
        .map_err(|e| format!("invalid Location {location}: {e}"))
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

/// Open connections of a run, one per origin.
struct Conns(Vec<(Origin, Conn)>);

impl Conns {
    fn position(&self, origin: &Origin) -> Option<usize> {
        self.0.iter().position(|(o, _)| o == origin)
    }

    fn at(&mut self, i: usize) -> &mut Conn {
        &mut self.0[i].1
    }

    /// Closes the connection at `i` (dropped).
    fn remove(&mut self, i: usize) {
        self.0.remove(i);
    }

    /// Adds the connection of an origin that has none; returns its index.
    fn push(&mut self, origin: Origin, conn: Conn) -> usize {
        self.0.push((origin, conn));
        self.0.len() - 1
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
    /// Made at the first Set-Cookie: most runs never need one.
    cookies: Option<CookieStore>,
    /// Names known before the system resolver is asked (`global.hosts_file`).
    hosts: Option<Arc<Hosts>>,
    /// Address families the run may connect to.
    family: IpProtocol,
    /// With `resolve: all`: every connection to this host goes to this address.
    pin: Option<(String, IpAddr)>,
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
            cookies: None,
            hosts: None,
            family: IpProtocol::Any,
            pin: None,
        }
    }

    /// Resolves through `hosts` first, keeps only `family`, and sends every
    /// connection to `pin`'s host to its address (TLS is still verified
    /// against the host name).
    pub fn with_addresses(
        mut self,
        hosts: Arc<Hosts>,
        family: IpProtocol,
        pin: Option<(String, IpAddr)>,
    ) -> Self {
        self.hosts = Some(hosts);
        self.family = family;
        self.pin = pin;
        self
    }

    async fn connect(&self, origin: &Origin, phases: &mut Phases) -> Result<Conn, Failure> {
        let t = Instant::now();
        let pinned = self
            .pin
            .as_ref()
            .filter(|(host, _)| host.eq_ignore_ascii_case(&origin.host))
            .map(|(_, ip)| *ip);
        // An address in the URL (or a pinned one) needs no list.
        let one: [SocketAddr; 1];
        let resolved: Vec<SocketAddr>;
        let addrs: &[SocketAddr] = match (pinned, origin.host.parse::<IpAddr>()) {
            (Some(ip), _) | (None, Ok(ip)) => {
                one = [SocketAddr::new(ip, origin.port)];
                &one
            }
            (None, Err(_)) => {
                let empty = Hosts::default();
                let hosts = self.hosts.as_deref().unwrap_or(&empty);
                let found = resolve::lookup(hosts, &origin.host, origin.port, self.family).await;
                phases.add(Phase::Resolve, t.elapsed());
                resolved = found
                    .map_err(|m| (Reason::Dns, m))?
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, origin.port))
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
            // Boxed: the handshake's state is kilobytes, and every run's
            // future (plain HTTP too) would otherwise carry that space and
            // copy it into the run's box (BENCHMARKS.md, section 1).
            Box::pin(self.tls(origin, stream, &builder, phases)).await
        } else {
            http1(&builder, stream, None).await
        }
    }

    /// The TLS handshake on a connected stream, then HTTP/1.1 over it.
    async fn tls(
        &self,
        origin: &Origin,
        stream: TcpStream,
        builder: &hyper::client::conn::http1::Builder,
        phases: &mut Phases,
    ) -> Result<Conn, Failure> {
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
        http1(builder, tls, Some(facts)).await
    }

    /// The `Cookie` header for `url`: the cookies whose Domain, Path, Secure
    /// and expiry (Expires, Max-Age) match, as RFC 6265 says.
    fn cookie_header(&self, url: &str) -> Option<HeaderValue> {
        let store = self.cookies.as_ref()?;
        let url = url::Url::parse(url).ok()?;
        let mut v = String::new();
        for (name, value) in store.get_request_values(&url) {
            if !v.is_empty() {
                v.push_str("; ");
            }
            v.push_str(name);
            v.push('=');
            v.push_str(value);
        }
        if v.is_empty() {
            None
        } else {
            HeaderValue::from_str(&v).ok()
        }
    }

    /// Keeps the cookies of each Set-Cookie for `url`, with their attributes;
    /// expired ones replace (and so remove) the cookie they name.
    fn store_cookies(&mut self, url: &str, headers: &HeaderMap) {
        let mut set = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .peekable();
        if set.peek().is_none() {
            return;
        }
        let Ok(url) = url::Url::parse(url) else {
            return;
        };
        let store = self.cookies.get_or_insert_with(CookieStore::default);
        for s in set {
            // A cookie the store refuses (another domain, say) is ignored, as a browser does.
            let _ = store.parse(s, &url);
        }
    }

    /// Sends one request (no redirects followed) to `origin` and `target`
    /// (`out.url`, split) and reads the body up to `max_body`.
    async fn exchange(
        &mut self,
        out: &Outgoing<'_>,
        (origin, target): (Origin, Uri),
        max_body: u64,
        phases: &mut Phases,
    ) -> Result<Response, Failure> {
        let host = HeaderValue::from_maybe_shared(Bytes::from(origin.host_header()))
            .map_err(|e| (Reason::Protocol, e.to_string()))?;
        // Reuse this run's connection to the origin when it is still open.
        let mut open = self.conns.position(&origin);
        if let Some(i) = open {
            let c = self.conns.at(i);
            let ready = std::future::poll_fn(|cx| c.sender.poll_ready(cx));
            if drive(&mut c.driver, ready).await.is_err() {
                self.conns.remove(i);
                open = None;
            }
        }
        // The connection's index in `self.conns` from here on.
        let i = match open {
            Some(i) => i,
            None => {
                let conn = self.connect(&origin, phases).await?;
                self.conns.push(origin, conn)
            }
        };
        let mut req = Request::builder().method(out.method.clone()).uri(target);
        let headers = req.headers_mut().expect("builder is valid");
        headers.insert(HOST, host);
        if let Ok(ua) = HeaderValue::from_str(out.user_agent) {
            headers.insert(USER_AGENT, ua);
        }
        if let Some(c) = self.cookie_header(&out.url) {
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
        let conn = self.conns.at(i);
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
                self.conns.remove(i);
                return Err((
                    Reason::BodyTooLarge,
                    format!("content-length {len} exceeds the limit of {max_body} bytes"),
                ));
            }
        }
        let mut buf = Vec::new();
        loop {
            let conn = self.conns.at(i);
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
                    self.conns.remove(i);
                    return Err((
                        Reason::BodyTooLarge,
                        format!("body exceeds the limit of {max_body} bytes"),
                    ));
                }
                buf.extend_from_slice(&data);
            }
        }
        phases.add(Phase::Transfer, t.elapsed());
        self.store_cookies(&out.url, &parts.headers);
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
        let mut split = parse_url(&out.url).map_err(|m| (Reason::Protocol, m))?;
        // Only a redirect needs the first host again.
        let first = if follow.is_some() {
            split.0.host.clone()
        } else {
            String::new()
        };
        let mut hops = 0;
        loop {
            let resp = self.exchange(&out, split, max_body, phases).await?;
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
            let next = resolve_location(&out.url, loc)
                .map_err(|m| (Reason::Redirect, format!("redirect: {m}")))?;
            split = parse_url(&next)
                .map_err(|m| (Reason::Redirect, format!("redirect to {next}: {m}")))?;
            let next_host = &split.0.host;
            if *next_host != first && !allowed.iter().any(|h| h.eq_ignore_ascii_case(next_host)) {
                return Err((Reason::Redirect, format!("redirect to another host {next_host} is not allowed (add it to allow_redirect_hosts)")));
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
        assert_eq!(p.to_string(), "/x/y?q=1");
        let base = "https://a.example:8443/x/y?q=1";
        let r = |loc: &str| resolve_location(base, loc).unwrap();
        assert_eq!(r("/z"), "https://a.example:8443/z");
        assert_eq!(r("z?k"), "https://a.example:8443/x/z?k");
        assert_eq!(r("http://b/"), "http://b/");
        assert_eq!(r("//c.example/p"), "https://c.example/p");
        // A query alone keeps the path (it used to become `/x/?page=2`).
        assert_eq!(r("?page=2"), "https://a.example:8443/x/y?page=2");
        assert_eq!(
            resolve_location("https://a.example/x/y/w", "../z").unwrap(),
            "https://a.example/x/z"
        );
        assert_eq!(
            resolve_location("https://a.example/x/y/w", "./../../z#frag").unwrap(),
            "https://a.example/z#frag"
        );
        let (o, p) = parse_url("http://[::1]/").unwrap();
        assert_eq!(o.host, "::1");
        assert_eq!(o.host_header(), "[::1]");
        assert_eq!(p.to_string(), "/");
        assert!(parse_url("ftp://x/").is_err());
        // The request line's target: path and query, `/` when empty.
        let target = |url: &str| parse_url(url).unwrap().1.to_string();
        assert_eq!(target("https://a.example:8443/x/y?q=1"), "/x/y?q=1");
        assert_eq!(target("http://a.example"), "/");
        assert_eq!(target("http://a.example?k=v"), "/?k=v");
    }

    fn session(ctx: &ProbeContext) -> Session<'_> {
        Session::new(ctx, ctx.tls_config(&[]).unwrap(), None, 8192)
    }

    fn set(session: &mut Session<'_>, url: &str, cookies: &[&str]) {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(SET_COOKIE, HeaderValue::from_str(c).unwrap());
        }
        session.store_cookies(url, &h);
    }

    /// The Cookie header sent to `url`, its cookies sorted.
    fn sent(session: &Session<'_>, url: &str) -> String {
        let header = session
            .cookie_header(url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let mut v: Vec<&str> = header.split("; ").collect();
        v.sort();
        v.join("; ")
    }

    #[test]
    fn cookies_follow_path_domain_and_expiry() {
        let ctx = ProbeContext::default();
        let mut s = session(&ctx);
        assert_eq!(sent(&s, "https://shop.example/"), "");
        set(
            &mut s,
            "https://shop.example/account/login",
            &[
                "sid=1; Path=/",
                "cart=2; Path=/cart",
                "wide=3; Domain=shop.example; Path=/",
                "gone=4; Max-Age=0",
                "old=5; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
                "later=6; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Path=/",
                "secure=7; Secure; Path=/",
                "theirs=8; Domain=other.example",
            ],
        );
        // No Path attribute: the directory of the URL that set it (`/account`).
        set(&mut s, "https://shop.example/account/login", &["acct=9"]);
        assert_eq!(
            sent(&s, "https://shop.example/"),
            "later=6; secure=7; sid=1; wide=3"
        );
        assert_eq!(
            sent(&s, "https://shop.example/cart/items"),
            "cart=2; later=6; secure=7; sid=1; wide=3"
        );
        assert_eq!(
            sent(&s, "https://shop.example/account/orders"),
            "acct=9; later=6; secure=7; sid=1; wide=3"
        );
        // Domain= reaches subdomains; host-only cookies do not.
        assert_eq!(sent(&s, "https://api.shop.example/"), "wide=3");
        // Secure cookies never go over plain HTTP to another host.
        assert_eq!(sent(&s, "http://shop.example/"), "later=6; sid=1; wide=3");
        assert_eq!(sent(&s, "https://other.example/"), "");

        // Max-Age=0 (or an Expires in the past) removes a cookie.
        set(
            &mut s,
            "https://shop.example/",
            &["sid=x; Max-Age=0; Path=/"],
        );
        assert_eq!(
            sent(&s, "https://shop.example/"),
            "later=6; secure=7; wide=3"
        );
        set(
            &mut s,
            "https://shop.example/",
            &["wide=new; Domain=shop.example; Path=/"],
        );
        assert_eq!(
            sent(&s, "https://shop.example/"),
            "later=6; secure=7; wide=new"
        );
    }
}
