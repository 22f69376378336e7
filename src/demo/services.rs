//! Simulated AOULU 販売 and AOULU 電子便: HTTPS servers on loopback with the
//! endpoints the shipped transactions exercise, realistic latencies, and
//! injectable faults.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::ui;

/// What a simulated service is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Healthy.
    Ok,
    /// Every request answers 503.
    Down,
    /// The port is closed: connections are refused.
    Refuse,
    /// Every answer takes 4 s (past the 3 s objective, within the step timeout).
    Slow,
    /// The JSON API answers as fast as ever, but the web UI's script renders
    /// the list only after 6 s ([`super::ui`]): only a browser sees it.
    UiSlow,
    /// The JSON API answers as ever, but the web UI's script throws before
    /// rendering, so the list never appears.
    UiBroken,
}

/// Every mode `POST /demo/fault` takes, with what it does (Japanese, English).
pub const MODES: &[(&str, &str, &str)] = &[
    ("down", "全リクエストが 503", "every request answers 503"),
    ("refuse", "接続拒否", "connections refused"),
    ("slow", "全応答に 4 秒", "every answer takes 4 s"),
    (
        "ui_slow",
        "API は速いまま、画面の一覧表示に 6 秒",
        "API as fast as ever, the web UI shows its list after 6 s",
    ),
    (
        "ui_broken",
        "API は正常、画面のスクリプトが失敗し一覧が出ない",
        "API fine, the web UI's script fails and the list never appears",
    ),
    ("ok", "障害の解除", "clear the fault"),
];

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "ok" => Mode::Ok,
            "down" => Mode::Down,
            "refuse" => Mode::Refuse,
            "slow" => Mode::Slow,
            "ui_slow" => Mode::UiSlow,
            "ui_broken" => Mode::UiBroken,
            _ => return None,
        })
    }
}

/// Faults per service, each until a deadline.
#[derive(Default)]
pub struct Faults {
    map: Mutex<HashMap<String, (Mode, Instant)>>,
}

impl Faults {
    pub fn set(&self, service: &str, mode: Mode, for_: Duration) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(service.to_string(), (mode, Instant::now() + for_));
    }

    pub fn mode(&self, service: &str) -> Mode {
        match self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(service)
        {
            Some((m, until)) if Instant::now() < *until => *m,
            _ => Mode::Ok,
        }
    }

    /// Active faults with seconds left.
    pub fn active(&self) -> Vec<(String, Mode, u64)> {
        let now = Instant::now();
        let mut v: Vec<_> = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, (_, until))| *until > now)
            .map(|(s, (m, until))| (s.clone(), *m, (*until - now).as_secs()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// A certificate authority made at start, and a server certificate for loopback.
pub struct DemoPki {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

pub fn pki() -> anyhow::Result<DemoPki> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mimamori demo CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "aoulu demo");
    // A realistic lifetime, so certificate-expiry panels show days left.
    let expiry = crate::clock::now() + chrono::Duration::days(90);
    use chrono::Datelike;
    params.not_after =
        rcgen::date_time_ymd(expiry.year(), expiry.month() as u8, expiry.day() as u8);
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer)?;
    let chain = vec![cert.der().clone(), ca.der().clone()];
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| anyhow::anyhow!(e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(DemoPki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    })
}

/// Which simulated product a server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Hanbai,
    Denshibin,
}

impl Product {
    pub fn service(self) -> &'static str {
        match self {
            Product::Hanbai => "hanbai",
            Product::Denshibin => "denshibin",
        }
    }
}

struct Sim {
    product: Product,
    password: String,
    faults: Arc<Faults>,
    tokens: Mutex<HashSet<String>>,
}

/// Starts a simulated service on a loopback port and returns its address.
pub async fn start(
    product: Product,
    password: String,
    faults: Arc<Faults>,
    tls: Arc<rustls::ServerConfig>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(Sim {
        product,
        password,
        faults,
        tokens: Mutex::default(),
    });
    tokio::spawn(accept_loop(listener, addr, sim, tls));
    Ok(addr)
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    sim: Arc<Sim>,
    tls: Arc<rustls::ServerConfig>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let mut listener = Some(listener);
    loop {
        // `refuse`: close the port, so connections are refused for real.
        if sim.faults.mode(sim.product.service()) == Mode::Refuse {
            listener = None;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let Some(l) = listener.as_ref() else {
            listener = TcpListener::bind(addr).await.ok();
            if listener.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        };
        let accepted = tokio::time::timeout(Duration::from_millis(200), l.accept()).await;
        let Ok(Ok((stream, _))) = accepted else {
            continue;
        };
        let acceptor = acceptor.clone();
        let sim = sim.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
            else {
                return;
            };
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let sim = sim.clone();
                async move { Ok::<_, Infallible>(sim.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

fn json(status: StatusCode, v: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(v.to_string())))
        .expect("valid response")
}

/// Typical server time for an endpoint, with a rare slow tail.
fn think(lo_ms: u64, hi_ms: u64) -> Duration {
    if fastrand::u32(0..1000) == 0 {
        return Duration::from_millis(fastrand::u64(2_500..3_500));
    }
    Duration::from_millis(fastrand::u64(lo_ms..=hi_ms))
}

impl Sim {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let mode = self.faults.mode(self.product.service());
        // `slow` is a slow application: the API and the login take 4 s each,
        // while the web UI's static pages and script come from the front as
        // fast as ever (so a browser run needs 2 slow answers to show the list
        // and 1 to open an item, not 4 and 3).
        if mode == Mode::Slow && !(req.method() == Method::GET && ui::is_static(req.uri().path())) {
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
        if mode == Mode::Down {
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "障害発生中 / service unavailable (simulated)"}),
            );
        }
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let cookie_session = req
            .headers()
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(ui::session)
            .map(str::to_string);
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if method == Method::POST && path == "/api/login" {
            tokio::time::sleep(think(60, 180)).await;
            return self.login(&content_type, &body);
        }
        if method == Method::GET && path == "/" {
            let name = match self.product {
                Product::Hanbai => "AOULU 販売 (simulated)",
                Product::Denshibin => "AOULU 電子便 (simulated)",
            };
            return Response::builder()
                .header("content-type", "text/html; charset=utf-8")
                .body(Full::new(Bytes::from(format!(
                    "<h1>{name}</h1><p><a href=\"/ui/login\">ログイン / Log in</a></p>"
                ))))
                .expect("valid");
        }
        let known = |t: &Option<String>| {
            t.as_ref().is_some_and(|t| {
                self.tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains(t)
            })
        };
        if method == Method::GET || method == Method::POST {
            if let Some(r) = self.ui(&method, &path, mode, known(&cookie_session), &body) {
                return r;
            }
        }
        // The API takes the bearer token of /api/login, or the UI's session cookie.
        let authorized = known(&auth) || known(&cookie_session);
        if !authorized {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": "login required"}),
            );
        }
        match (self.product, path.split('/').collect::<Vec<_>>().as_slice()) {
            (Product::Hanbai, ["", "api", "orders"]) => {
                tokio::time::sleep(think(150, 600)).await;
                let orders: Vec<_> = (0..20)
                    .map(|i| serde_json::json!({"id": format!("SO-2026-{:05}", 1200 + i), "customer": format!("株式会社サンプル{i}"), "total": 10_000 + i * 1_250, "date": "2026-11-27"}))
                    .collect();
                json(
                    StatusCode::OK,
                    serde_json::json!({"orders": orders, "count": 20}),
                )
            }
            (Product::Hanbai, ["", "api", "orders", id]) => {
                tokio::time::sleep(think(50, 150)).await;
                json(
                    StatusCode::OK,
                    serde_json::json!({"id": id, "status": "shipped", "customer": "株式会社サンプル0",
                        "lines": [{"sku": "A-100", "name": "コピー用紙 A4", "qty": 10, "price": 450}, {"sku": "B-220", "name": "トナー", "qty": 2, "price": 8_900}]}),
                )
            }
            (Product::Denshibin, ["", "api", "inbox"]) => {
                tokio::time::sleep(think(100, 300)).await;
                let docs: Vec<_> = (0..20)
                    .map(|i| serde_json::json!({"id": format!("DOC-{:06}", 880_000 + i), "title": format!("請求書 2026年11月分 #{i}"), "from": "株式会社サンプル", "size": 31_744}))
                    .collect();
                json(StatusCode::OK, serde_json::json!({"documents": docs}))
            }
            (Product::Denshibin, ["", "api", "documents", id]) => {
                // The document's facts, for the UI's detail page.
                tokio::time::sleep(think(50, 150)).await;
                json(
                    StatusCode::OK,
                    serde_json::json!({"id": id, "title": "請求書 2026年11月分", "from": "株式会社サンプル", "size": 31_744, "content_type": "application/pdf"}),
                )
            }
            (Product::Denshibin, ["", "api", "documents", _id, "download"]) => {
                tokio::time::sleep(think(200, 450)).await;
                let mut pdf = b"%PDF-1.4\n% mimamori demo document\n".to_vec();
                pdf.resize(31_744, b' ');
                pdf.extend_from_slice(b"\n%%EOF\n");
                Response::builder()
                    .header("content-type", "application/pdf")
                    .header(
                        "content-disposition",
                        "attachment; filename=\"invoice.pdf\"",
                    )
                    .body(Full::new(Bytes::from(pdf)))
                    .expect("valid")
            }
            _ => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "not found"}),
            ),
        }
    }

    /// The web UI's routes (`/ui/…`), or `None` for any other path.
    fn ui(
        &self,
        method: &Method,
        path: &str,
        mode: Mode,
        logged_in: bool,
        body: &[u8],
    ) -> Option<Response<Full<Bytes>>> {
        let p = self.product;
        Some(match (method, path) {
            (&Method::GET, "/ui" | "/ui/") => ui::see_other("/ui/login", None),
            (&Method::GET, "/ui/login") => ui::html(ui::login_page(p)),
            (&Method::POST, "/ui/login") => {
                // Any user and password: the UI is there to be browsed, not to guard
                // anything. An optional `next` (a page of this UI) is where to go then.
                let next = form_urlencoded::parse(body)
                    .find(|(k, _)| k == "next")
                    .map(|(_, v)| v.into_owned())
                    .filter(|n| ui::is_page(n))
                    .unwrap_or_else(|| "/ui/list".into());
                ui::see_other(&next, Some(self.new_token()))
            }
            (&Method::GET, "/ui/app.js") => ui::script(ui::app_js(mode)),
            (&Method::GET, "/ui/list") if logged_in => ui::html(ui::list_page(p)),
            (&Method::GET, _) if path.starts_with("/ui/detail/") && logged_in => {
                let id = &path["/ui/detail/".len()..];
                if !ui::valid_id(id) {
                    return Some(json(
                        StatusCode::NOT_FOUND,
                        serde_json::json!({"error": "not found"}),
                    ));
                }
                ui::html(ui::detail_page(p, id))
            }
            (&Method::GET, "/ui/list") => ui::see_other("/ui/login", None),
            (&Method::GET, _) if path.starts_with("/ui/detail/") => {
                ui::see_other("/ui/login", None)
            }
            _ => return None,
        })
    }

    /// A new session token, known to the API from now on.
    fn new_token(&self) -> String {
        let token = format!("tok-{:016x}", fastrand::u64(..));
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() > 10_000 {
            tokens.clear(); // sessions expire; keeps a long demo's memory flat
        }
        tokens.insert(token.clone());
        token
    }

    fn login(&self, content_type: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let fields: HashMap<String, String> = if content_type.starts_with("application/json") {
            serde_json::from_slice::<HashMap<String, serde_json::Value>>(body)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                .collect()
        } else {
            form_urlencoded::parse(body).into_owned().collect()
        };
        if fields.get("password") != Some(&self.password)
            || fields.get("user").is_none_or(|u| u.is_empty())
        {
            return json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error": "invalid credentials"}),
            );
        }
        let token = self.new_token();
        let mut r = json(
            StatusCode::OK,
            serde_json::json!({"token": token, "user": fields["user"]}),
        );
        r.headers_mut().insert(
            "set-cookie",
            http::HeaderValue::from_static("aoulu_session=1; Path=/; Secure; HttpOnly"),
        );
        r
    }
}
