//! `--web.config.file`: TLS and basic authentication for the exporter's own
//! endpoints, in the Prometheus exporter-toolkit format
//! (<https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md>),
//! so a Prometheus already set up to scrape node_exporter that way scrapes
//! mimamori unchanged.
//!
//! Differences from exporter-toolkit, each rejected with a message rather than
//! silently ignored: TLS below 1.2 cannot be enabled (the SLO disables it),
//! client certificates are always verified (`RequestClientCert` and
//! `RequireAnyClientCert` are refused), `client_allowed_sans` and the P-521
//! curve are not supported.
//!
//! As with exporter-toolkit, changes apply without a restart: before each
//! request the file and the certificate, key and CA files it names are read
//! (a few small files) and parsed again when one has changed, so a
//! rotated certificate or a new password takes effect at once. A changed file
//! that does not read or parse is logged and the last good configuration
//! stays in force.

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::config::locate::{Locator, Path, Pos};
use crate::config::{ConfigError, ConfigErrors};

/// How long a client may take to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Successful verifications remembered, so a scrape does not cost a bcrypt.
const VERIFIED_CACHE: usize = 100;

/// The web configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebFile {
    /// Serve over TLS when a certificate and key are given.
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    /// HTTP settings.
    #[serde(default)]
    http_server_config: HttpFile,
    /// User name → bcrypt hash of the password; empty means no authentication.
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

/// `tls_server_config`, as exporter-toolkit names its fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    /// Server certificate chain (PEM), relative to the web config file.
    cert_file: Option<PathBuf>,
    /// Server private key (PEM), relative to the web config file.
    key_file: Option<PathBuf>,
    /// Server certificate chain, inline PEM.
    cert: Option<String>,
    /// Server private key, inline PEM.
    key: Option<String>,
    /// `NoClientCert` (default), `VerifyClientCertIfGiven` or `RequireAndVerifyClientCert`.
    client_auth_type: Option<String>,
    /// CAs that client certificates must chain to (PEM file).
    client_ca_file: Option<PathBuf>,
    /// CAs that client certificates must chain to, inline PEM.
    client_ca: Option<String>,
    /// Not supported; must be empty.
    #[serde(default)]
    client_allowed_sans: Vec<String>,
    /// `TLS12` (default) or `TLS13`.
    min_version: Option<String>,
    /// `TLS12` or `TLS13` (default).
    max_version: Option<String>,
    /// TLS 1.2 cipher suites by their IANA/Go names; default: every AEAD suite.
    #[serde(default)]
    cipher_suites: Vec<String>,
    /// Prefer the server's order of cipher suites (default true).
    prefer_server_cipher_suites: Option<bool>,
    /// Key exchange groups in order of preference: `X25519`, `CurveP256`, `CurveP384`.
    #[serde(default)]
    curve_preferences: Vec<String>,
}

/// `http_server_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    /// Accepted for compatibility; mimamori answers HTTP/1.1, which every Prometheus speaks.
    #[allow(dead_code)]
    http2: Option<bool>,
    /// Security headers added to every answer.
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// Headers exporter-toolkit lets `http_server_config.headers` set.
const ALLOWED_HEADERS: [&str; 5] = [
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
];

/// What the exporter's listener does with each connection and request.
#[derive(Default)]
pub struct Web {
    /// Present when the endpoints are served over TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    auth: Option<BasicAuth>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The files it was read from: the web configuration and the files it names.
    files: Vec<PathBuf>,
}

/// What identifies the version of each file: a digest of its content, or
/// `None` when it cannot be read. (Content, not modification times: two
/// writes within the file system's clock tick would look the same.)
type Stamp = Vec<Option<[u8; 32]>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|f| {
            // Follows symbolic links: a Kubernetes secret update swaps the link.
            let bytes = std::fs::read(f).ok()?;
            let d = ring::digest::digest(&ring::digest::SHA256, &bytes);
            d.as_ref().try_into().ok()
        })
        .collect()
}

/// The web configuration in force, read again when its files change.
pub struct LiveWeb {
    path: Option<PathBuf>,
    state: Mutex<(Arc<Web>, Stamp)>,
}

impl LiveWeb {
    /// A configuration that never changes (no file, or tests).
    pub fn fixed(web: Web) -> Self {
        LiveWeb {
            path: None,
            state: Mutex::new((Arc::new(web), Vec::new())),
        }
    }

    /// Reads `path`; errors name `file:line:column`.
    pub fn from_file(path: &FsPath) -> Result<Self, ConfigErrors> {
        let web = load(path)?;
        let st = stamp(&web.files);
        Ok(LiveWeb {
            path: Some(path.to_path_buf()),
            state: Mutex::new((Arc::new(web), st)),
        })
    }

    /// The configuration for the next request: parsed again first when one of
    /// its files changed since it was read.
    pub fn current(&self) -> Arc<Web> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(path) = &self.path else {
            return state.0.clone();
        };
        let now = stamp(&state.0.files);
        if now == state.1 {
            return state.0.clone();
        }
        match load(path) {
            Ok(web) => {
                let st = stamp(&web.files);
                tracing::info!(file = %path.display(), scheme = web.scheme(), "web configuration changed and was read again");
                *state = (Arc::new(web), st);
            }
            Err(e) => {
                // Remembered, so the broken version is reported once, not per request.
                state.1 = now;
                tracing::error!("web configuration changed but cannot be used; the previous one stays in force:\n{e}");
            }
        }
        state.0.clone()
    }

    /// `https` or `http` as configured now.
    pub fn scheme(&self) -> &'static str {
        self.current().scheme()
    }
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.auth.is_some())
            .field("headers", &self.headers)
            .finish()
    }
}

struct BasicAuth {
    /// User → bcrypt hash.
    users: BTreeMap<String, String>,
    /// SHA-256 of (user, hash, password) for each recent successful check.
    verified: Mutex<Vec<[u8; 32]>>,
    /// One bcrypt at a time: a flood of wrong passwords costs one core, not all.
    bcrypt: tokio::sync::Mutex<()>,
}

impl Web {
    /// `https` or `http`, for messages.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// True when the request may proceed: no users are configured, or its
    /// `Authorization: Basic` header names a user and the right password.
    pub async fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(auth) = &self.auth else {
            return true;
        };
        let Some((user, password)) = basic_credentials(headers) else {
            return false;
        };
        auth.check(&user, &password).await
    }

    /// Adds the configured headers to an answer.
    pub fn decorate<B>(&self, mut r: http::Response<B>) -> http::Response<B> {
        for (n, v) in &self.headers {
            r.headers_mut().insert(n.clone(), v.clone());
        }
        r
    }
}

/// The 401 answer that makes clients (and people with a browser) send credentials.
pub fn unauthorized() -> http::Response<super::Body> {
    let mut r = super::text(
        http::StatusCode::UNAUTHORIZED,
        "text/plain",
        "Unauthorized\n".into(),
    );
    r.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"mimamori\", charset=\"UTF-8\""),
    );
    r
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl BasicAuth {
    fn digest(user: &str, hash: &str, password: &str) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [user, hash, password] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// Compares against every cached digest without stopping at a match.
    fn cached(&self, key: &[u8; 32]) -> bool {
        use subtle::ConstantTimeEq;
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        let mut hit = subtle::Choice::from(0);
        for k in verified.iter() {
            hit |= k.ct_eq(key);
        }
        hit.into()
    }

    async fn check(&self, user: &str, password: &str) -> bool {
        let known = self.users.get(user);
        // An unknown user is checked against a configured hash (and always
        // refused), so it costs the same bcrypt as a known one.
        let Some(hash) = known.or_else(|| self.users.values().next()) else {
            return false;
        };
        let key = Self::digest(user, hash, password);
        if known.is_some() && self.cached(&key) {
            return true;
        }
        let ok = {
            let _one_at_a_time = self.bcrypt.lock().await;
            let (password, hash) = (password.to_string(), hash.to_string());
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false)
        };
        let ok = ok && known.is_some();
        if ok {
            let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if verified.len() >= VERIFIED_CACHE {
                verified.remove(0);
            }
            verified.push(key);
        } else {
            tracing::debug!(user = %user, "basic authentication failed");
        }
        ok
    }
}

/// Reads and checks a web configuration file; every error names `file:line:column`.
pub fn load(path: &FsPath) -> Result<Web, ConfigErrors> {
    let (src, file) = crate::config::read_source(path)?;
    let dir = path.parent().unwrap_or(FsPath::new("."));
    let mut web = parse(&src, &file, dir)?;
    web.files.insert(0, path.to_path_buf());
    Ok(web)
}

/// Parses web configuration text; `file` names it in errors and relative paths
/// are taken from `dir`, as exporter-toolkit does.
pub fn parse(src: &str, file: &str, dir: &FsPath) -> Result<Web, ConfigErrors> {
    let locator = Locator::new(src);
    let err = |path: &Path, message: String| ConfigError {
        file: file.to_string(),
        pos: locator.find(path),
        field: path.to_string(),
        message,
    };
    let parsed: WebFile = if src.trim().is_empty() {
        WebFile::default()
    } else {
        serde_yaml::from_str(src).map_err(|e| {
            let pos = e
                .location()
                .map(|l| Pos {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or(Pos { line: 1, column: 1 });
            let mut message = e.to_string();
            if let Some(i) = message.rfind(" at line ") {
                message.truncate(i);
            }
            ConfigErrors(vec![ConfigError {
                file: file.to_string(),
                pos,
                field: String::new(),
                message,
            }])
        })?
    };
    let mut errs = Vec::new();

    let users_path = Path::root().key("basic_auth_users");
    for (user, hash) in &parsed.basic_auth_users {
        if user.contains(':') {
            errs.push(err(
                &users_path.key(user),
                "a user name cannot contain ':'".into(),
            ));
        }
        if hash.parse::<bcrypt::HashParts>().is_err() {
            errs.push(err(
                &users_path.key(user),
                "not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`; the file never holds plain passwords)".into(),
            ));
        }
    }

    let headers_path = Path::root().key("http_server_config").key("headers");
    let mut headers = Vec::new();
    for (name, value) in &parsed.http_server_config.headers {
        let p = headers_path.key(name);
        let Some(allowed) = ALLOWED_HEADERS
            .iter()
            .find(|a| a.eq_ignore_ascii_case(name))
        else {
            errs.push(err(
                &p,
                format!(
                    "header '{name}' cannot be set (allowed: {})",
                    ALLOWED_HEADERS.join(", ")
                ),
            ));
            continue;
        };
        match HeaderValue::from_str(value) {
            Ok(v) => headers.push((
                HeaderName::from_bytes(allowed.as_bytes()).expect("allowed header names are valid"),
                v,
            )),
            Err(_) => errs.push(err(&p, "not a valid header value".into())),
        }
    }

    let tls = match &parsed.tls_server_config {
        Some(t) => match tls_acceptor(t, dir, &Path::root().key("tls_server_config")) {
            Ok(a) => a,
            Err((p, m)) => {
                errs.push(err(&p, m));
                None
            }
        },
        None => None,
    };
    if !errs.is_empty() {
        return Err(ConfigErrors(errs));
    }
    if tls.is_none() && !parsed.basic_auth_users.is_empty() {
        tracing::warn!("{file}: basic_auth_users without tls_server_config: passwords cross the network in clear text");
    }
    let files = parsed
        .tls_server_config
        .iter()
        .flat_map(|t| [&t.cert_file, &t.key_file, &t.client_ca_file])
        .flatten()
        .map(|f| dir.join(f))
        .collect();
    Ok(Web {
        tls,
        files,
        auth: (!parsed.basic_auth_users.is_empty()).then(|| BasicAuth {
            users: parsed.basic_auth_users,
            verified: Mutex::new(Vec::new()),
            bcrypt: tokio::sync::Mutex::new(()),
        }),
        headers,
    })
}

type TlsResult<T> = Result<T, (Path, String)>;

fn version(
    v: &Option<String>,
    default: &'static rustls::SupportedProtocolVersion,
    p: Path,
) -> TlsResult<&'static rustls::SupportedProtocolVersion> {
    match v.as_deref() {
        None => Ok(default),
        Some("TLS12") => Ok(&rustls::version::TLS12),
        Some("TLS13") => Ok(&rustls::version::TLS13),
        Some(old @ ("TLS10" | "TLS11")) => Err((
            p,
            format!("{old} is below TLS 1.2, which the SLO disables (use TLS12 or TLS13)"),
        )),
        Some(other) => Err((
            p,
            format!("unknown TLS version '{other}' (expected TLS12 or TLS13)"),
        )),
    }
}

fn pem_certs(
    inline: &Option<String>,
    file: &Option<PathBuf>,
    dir: &FsPath,
    p: &Path,
) -> TlsResult<Vec<CertificateDer<'static>>> {
    let (certs, what): (Result<Vec<_>, _>, String) = match (inline, file) {
        (Some(s), _) => (
            CertificateDer::pem_slice_iter(s.as_bytes()).collect(),
            "inline PEM".into(),
        ),
        (None, Some(f)) => {
            let f = dir.join(f);
            let bytes = std::fs::read(&f)
                .map_err(|e| (p.clone(), format!("cannot read {}: {e}", f.display())))?;
            (
                CertificateDer::pem_slice_iter(&bytes).collect(),
                f.display().to_string(),
            )
        }
        (None, None) => return Ok(Vec::new()),
    };
    let certs = certs.map_err(|e| (p.clone(), format!("invalid PEM in {what}: {e}")))?;
    if certs.is_empty() {
        return Err((p.clone(), format!("no certificates in {what}")));
    }
    Ok(certs)
}

fn tls_acceptor(
    t: &TlsFile,
    dir: &FsPath,
    tp: &Path,
) -> TlsResult<Option<tokio_rustls::TlsAcceptor>> {
    let has_cert = t.cert_file.is_some() || t.cert.is_some();
    let has_key = t.key_file.is_some() || t.key.is_some();
    match (has_cert, has_key) {
        // exporter-toolkit serves plain HTTP when neither is given.
        (false, false) => return Ok(None),
        (true, false) => return Err((tp.clone(), "missing key_file (or key)".into())),
        (false, true) => return Err((tp.clone(), "missing cert_file (or cert)".into())),
        (true, true) => {}
    }
    if t.cert_file.is_some() && t.cert.is_some() {
        return Err((tp.key("cert"), "set cert_file or cert, not both".into()));
    }
    if t.key_file.is_some() && t.key.is_some() {
        return Err((tp.key("key"), "set key_file or key, not both".into()));
    }
    if !t.client_allowed_sans.is_empty() {
        return Err((
            tp.key("client_allowed_sans"),
            "not supported by mimamori (verify clients by client_ca_file instead)".into(),
        ));
    }
    let chain = pem_certs(
        &t.cert,
        &t.cert_file,
        dir,
        &tp.key(if t.cert.is_some() {
            "cert"
        } else {
            "cert_file"
        }),
    )?;
    let key = private_key(t, dir, tp)?;
    let provider = Arc::new(crypto_provider(t, tp)?);
    let versions = protocol_versions(t, tp)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| (tp.clone(), e.to_string()))?;
    let builder = client_verification(builder, t, dir, tp, provider)?;
    let mut cfg = builder.with_single_cert(chain, key).map_err(|e| {
        (
            tp.key("key_file"),
            format!("certificate and key do not fit: {e}"),
        )
    })?;
    cfg.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg))))
}

/// The server's private key, from `key` (inline PEM) or `key_file`.
fn private_key(t: &TlsFile, dir: &FsPath, tp: &Path) -> TlsResult<PrivateKeyDer<'static>> {
    Ok(match (&t.key, &t.key_file) {
        (Some(k), _) => PrivateKeyDer::from_pem_slice(k.as_bytes())
            .map_err(|e| (tp.key("key"), format!("no usable private key: {e}")))?,
        (None, Some(f)) => {
            let f = dir.join(f);
            PrivateKeyDer::from_pem_file(&f).map_err(|e| {
                (
                    tp.key("key_file"),
                    format!("no usable private key in {}: {e}", f.display()),
                )
            })?
        }
        (None, None) => unreachable!("tls_acceptor checked that a key is given"),
    })
}

/// The ring provider narrowed to the configured `cipher_suites` (TLS 1.2;
/// TLS 1.3's are always on) and `curve_preferences`.
fn crypto_provider(t: &TlsFile, tp: &Path) -> TlsResult<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    if !t.cipher_suites.is_empty() {
        let mut chosen: Vec<rustls::SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        for (i, name) in t.cipher_suites.iter().enumerate() {
            let found = provider.cipher_suites.iter().find(|s| {
                let n = format!("{:?}", s.suite());
                s.version() == &rustls::version::TLS12
                    && (n == *name || n == format!("{name}_SHA256"))
            });
            match found {
                Some(s) => chosen.push(*s),
                None => {
                    let known: Vec<String> = provider
                        .cipher_suites
                        .iter()
                        .filter(|s| s.version() == &rustls::version::TLS12)
                        .map(|s| format!("{:?}", s.suite()))
                        .collect();
                    return Err((
                        tp.key("cipher_suites").index(i),
                        format!(
                            "unsupported TLS 1.2 cipher suite '{name}' (supported: {})",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        provider.cipher_suites = chosen;
    }
    if !t.curve_preferences.is_empty() {
        let all = provider.kx_groups.clone();
        let mut chosen = Vec::new();
        for (i, name) in t.curve_preferences.iter().enumerate() {
            let want = match name.as_str() {
                "X25519" => rustls::NamedGroup::X25519,
                "CurveP256" => rustls::NamedGroup::secp256r1,
                "CurveP384" => rustls::NamedGroup::secp384r1,
                other => {
                    return Err((
                        tp.key("curve_preferences").index(i),
                        format!(
                            "unsupported curve '{other}' (supported: X25519, CurveP256, CurveP384)"
                        ),
                    ))
                }
            };
            chosen.extend(all.iter().filter(|g| g.name() == want).copied());
        }
        provider.kx_groups = chosen;
    }
    Ok(provider)
}

/// The protocol versions between `min_version` and `max_version`.
fn protocol_versions(
    t: &TlsFile,
    tp: &Path,
) -> TlsResult<Vec<&'static rustls::SupportedProtocolVersion>> {
    let min = version(
        &t.min_version,
        &rustls::version::TLS12,
        tp.key("min_version"),
    )?;
    let max = version(
        &t.max_version,
        &rustls::version::TLS13,
        tp.key("max_version"),
    )?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| {
                (u16::from(min.version)..=u16::from(max.version)).contains(&u16::from(v.version))
            })
            .collect();
    if versions.is_empty() {
        return Err((
            tp.key("min_version"),
            "min_version is above max_version".into(),
        ));
    }
    Ok(versions)
}

/// How clients are verified (`client_auth_type`, `client_ca`/`client_ca_file`):
/// only the modes that verify a certificate they accept.
fn client_verification(
    builder: rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier>,
    t: &TlsFile,
    dir: &FsPath,
    tp: &Path,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> TlsResult<rustls::ConfigBuilder<rustls::ServerConfig, rustls::server::WantsServerCert>> {
    let client_auth = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let ca_path = tp.key(if t.client_ca.is_some() {
        "client_ca"
    } else {
        "client_ca_file"
    });
    let client_cas = pem_certs(&t.client_ca, &t.client_ca_file, dir, &ca_path)?;
    let ap = tp.key("client_auth_type");
    Ok(match client_auth {
        "NoClientCert" | "" => {
            if !client_cas.is_empty() {
                return Err((
                    ca_path,
                    "client CAs are configured without a client_auth_type (use VerifyClientCertIfGiven or RequireAndVerifyClientCert)".into(),
                ));
            }
            builder.with_no_client_auth()
        }
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            if client_cas.is_empty() {
                return Err((
                    ap,
                    format!("{client_auth} needs client_ca_file (the CAs client certificates must chain to)"),
                ));
            }
            let mut roots = rustls::RootCertStore::empty();
            for c in client_cas {
                roots
                    .add(c)
                    .map_err(|e| (ca_path.clone(), format!("invalid client CA: {e}")))?;
            }
            let mut v =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if client_auth == "VerifyClientCertIfGiven" {
                v = v.allow_unauthenticated();
            }
            let v = v.build().map_err(|e| (ap, e.to_string()))?;
            builder.with_client_cert_verifier(v)
        }
        "RequestClientCert" | "RequireAnyClientCert" => {
            return Err((
                ap,
                format!("{client_auth} accepts unverified client certificates; mimamori always verifies them (use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file)"),
            ))
        }
        other => {
            return Err((
                ap,
                format!("unknown client_auth_type '{other}' (expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"),
            ))
        }
    })
}

#[cfg(test)]
mod tests;
