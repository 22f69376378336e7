//! `--web.config.file` against a real listener: TLS with the right and a wrong
//! CA, plain HTTP to the TLS port, basic authentication, client certificates.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use mimamori::server::{self, App, ConfigSource};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const CFG: &str = "global: {location: test-a, interval: 1h, timeout: 10s}\nservices:\n  - name: svc\n    display_name: {ja: サービス, en: Service}\n    transactions:\n      - name: home\n        steps:\n          - {name: get, url: 'http://127.0.0.1:9/'}\n";

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
    pem: String,
}

fn make_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().clone(),
        pem: cert.pem(),
        params,
        key,
    }
}

/// A leaf certificate signed by `ca`: (cert PEM, key PEM, cert DER, key DER).
fn leaf(
    ca: &Ca,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (
    String,
    String,
    CertificateDer<'static>,
    PrivateKeyDer<'static>,
) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.extended_key_usages = vec![usage];
    let cert = params
        .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
        .unwrap();
    let key_der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().clone(), key_der)
}

fn client_config(
    trust: &CertificateDer<'static>,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trust.clone()).unwrap();
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match client {
        Some((c, k)) => b.with_client_auth_cert(vec![c], k).unwrap(),
        None => b.with_no_client_auth(),
    })
}

/// Starts the exporter with `web_yaml` (relative paths from `dir`).
async fn start(web_yaml: &str, dir: &Path) -> SocketAddr {
    let web = server::webconfig::parse(web_yaml, "web.yml", dir).unwrap();
    start_with(server::LiveWeb::fixed(web)).await
}

/// Starts the exporter with a web configuration.
async fn start_with(web: server::LiveWeb) -> SocketAddr {
    let cfg = mimamori::config::parse(CFG, "test.yaml").unwrap();
    let app = App::start(
        cfg.clone(),
        mimamori::server::AppOptions {
            env: Arc::new(|_| None),
            ..mimamori::server::AppOptions::new(ConfigSource::Fixed(Box::new(cfg)))
        },
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve_on_with(
        listener,
        app,
        Arc::new(web),
        std::future::pending(),
    ));
    addr
}

type Answer = (StatusCode, HeaderMap, String);

/// GET `path` from `localhost` at `addr` on a new connection, over TLS when
/// a client configuration is given.
async fn get(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    auth: Option<(&str, &str)>,
    path: &str,
) -> Result<Answer, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut client = reqwest::Client::builder()
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(10))
        .no_proxy();
    if let Some(cfg) = tls {
        client = client.use_preconfigured_tls((*cfg).clone());
    }
    let client = client.build().map_err(|e| chain(&e))?;
    let mut req = client.get(format!("{scheme}://localhost:{}{path}", addr.port()));
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().await.map_err(|e| chain(&e))?;
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = resp.text().await.map_err(|e| chain(&e))?;
    Ok((status, headers, body))
}

/// An error with its causes, which say what actually happened.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}: {c}");
        cause = c.source();
    }
    s
}

#[tokio::test]
async fn tls_and_basic_auth_protect_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca("web test CA");
    let (cert, key, _, _) = leaf(&ca, &["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let hash = bcrypt::hash("scrape-me", 4).unwrap();
    let addr = start(
        &format!(
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  prometheus: '{hash}'\n"
        ),
        dir.path(),
    )
    .await;
    let tls = Some(client_config(&ca.der, None));

    let (status, headers, body) = get(
        addr,
        tls.clone(),
        Some(("prometheus", "scrape-me")),
        "/metrics",
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("mimamori_build_info"), "{body}");
    assert_eq!(headers["x-content-type-options"], "nosniff");

    for (auth, why) in [
        (None, "no credentials"),
        (Some(("prometheus", "scrape-you")), "wrong password"),
        (Some(("grafana", "scrape-me")), "unknown user"),
    ] {
        for path in ["/metrics", "/-/healthy", "/", "/nope"] {
            let (status, headers, body) = get(addr, tls.clone(), auth, path).await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{why} {path}");
            assert!(
                headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Basic "),
                "{why}"
            );
            assert!(!body.contains("mimamori_"), "{why} {path}: {body}");
        }
    }
    let (status, _, _) = get(
        addr,
        tls.clone(),
        Some(("prometheus", "scrape-me")),
        "/-/reload",
    )
    .await
    .unwrap();
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "authorized, then routed"
    );

    // A client that does not trust the exporter's CA refuses it.
    let other = make_ca("some other CA");
    let e = get(
        addr,
        Some(client_config(&other.der, None)),
        Some(("prometheus", "scrape-me")),
        "/metrics",
    )
    .await
    .unwrap_err();
    assert!(e.contains("UnknownIssuer"), "{e}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = get(addr, None, Some(("prometheus", "scrape-me")), "/metrics").await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");

    // The listener still serves after all that.
    let (status, _, _) = get(addr, tls, Some(("prometheus", "scrape-me")), "/-/healthy")
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn client_certificates_are_required_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = make_ca("server CA");
    let client_ca = make_ca("client CA");
    let (cert, key, _, _) = leaf(
        &server_ca,
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    std::fs::write(dir.path().join("clients.pem"), &client_ca.pem).unwrap();
    let addr = start(
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.pem\n  min_version: TLS13\n",
        dir.path(),
    )
    .await;

    let (_, _, c, k) = leaf(
        &client_ca,
        &["prometheus"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let (status, _, _) = get(
        addr,
        Some(client_config(&server_ca.der, Some((c, k)))),
        None,
        "/metrics",
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::OK);

    // No certificate, or one from a CA the exporter does not trust: no answer.
    let none = get(
        addr,
        Some(client_config(&server_ca.der, None)),
        None,
        "/metrics",
    )
    .await;
    assert!(none.is_err(), "{none:?}");
    let (_, _, c, k) = leaf(
        &server_ca,
        &["intruder"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let foreign = get(
        addr,
        Some(client_config(&server_ca.der, Some((c, k)))),
        None,
        "/metrics",
    )
    .await;
    assert!(foreign.is_err(), "{foreign:?}");
}

#[test]
fn serve_flag_errors_name_the_file_and_exit_64() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, CFG).unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, "basic_auth_users:\n  alice: hunter2\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .arg("--web.config.file")
        .arg(&web)
        .args(["--web.listen-address", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(
        err.contains(&format!(
            "{}:2:3: basic_auth_users.alice: not a bcrypt hash",
            web.display()
        )),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn serve_flag_serves_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca("web test CA");
    let (cert, key, _, _) = leaf(&ca, &["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let hash = bcrypt::hash("scrape-me", 4).unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prometheus: '{hash}'\n"),
    )
    .unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, CFG).unwrap();
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .arg("--web.config.file")
        .arg(&web)
        .args(["--web.listen-address", &addr.to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::common::wait_until_async(Duration::from_secs(20), "the exporter to listen", || {
        std::net::TcpStream::connect(addr).is_ok()
    })
    .await;
    let tls = Some(client_config(&ca.der, None));
    let ok = get(
        addr,
        tls.clone(),
        Some(("prometheus", "scrape-me")),
        "/metrics",
    )
    .await;
    let denied = get(addr, tls, None, "/metrics").await;
    let plain = get(addr, None, None, "/metrics").await;
    let _ = child.kill();
    let _ = child.wait();
    let (status, _, body) = ok.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("mimamori_build_info"));
    assert_eq!(denied.unwrap().0, StatusCode::UNAUTHORIZED);
    assert!(plain.is_err(), "{plain:?}");
}

/// As with exporter-toolkit, a changed file applies to the next request: a new
/// password, a rotated certificate; a broken file keeps the last good one.
#[tokio::test]
async fn changes_to_the_web_config_apply_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let web_yml = |hash: &str| {
        format!("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prometheus: '{hash}'\n")
    };
    let (first_ca, second_ca) = (make_ca("first CA"), make_ca("second CA"));
    let (cert, key, _, _) = leaf(
        &first_ca,
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    write("cert.pem", &cert);
    write("key.pem", &key);
    write("web.yml", &web_yml(&bcrypt::hash("first", 4).unwrap()));

    let live = server::LiveWeb::from_file(&dir.path().join("web.yml")).unwrap();
    let addr = start_with(live).await;
    let first = Some(client_config(&first_ca.der, None));
    let second = Some(client_config(&second_ca.der, None));
    let status = |r: Result<Answer, String>| r.map(|(s, ..)| s);
    let health = |tls: &Option<Arc<rustls::ClientConfig>>, password: Option<&'static str>| {
        get(
            addr,
            tls.clone(),
            password.map(|p| ("prometheus", p)),
            "/-/healthy",
        )
    };

    let ok = health(&first, Some("first")).await;
    assert_eq!(status(ok), Ok(StatusCode::OK));

    // A new password: the old one stops working at the next request.
    write("web.yml", &web_yml(&bcrypt::hash("second", 4).unwrap()));
    let old = health(&first, Some("first")).await;
    let new = health(&first, Some("second")).await;
    assert_eq!(status(old), Ok(StatusCode::UNAUTHORIZED));
    assert_eq!(status(new), Ok(StatusCode::OK));

    // A rotated certificate under the same file names.
    let (cert, key, _, _) = leaf(
        &second_ca,
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    write("cert.pem", &cert);
    write("key.pem", &key);
    let old = health(&first, Some("second")).await;
    assert!(old.is_err(), "the old certificate is still served: {old:?}");
    let new = health(&second, Some("second")).await;
    assert_eq!(status(new), Ok(StatusCode::OK));

    // Broken files: the last good configuration stays in force.
    write("web.yml", "basic_auth_users: [\n");
    let still = health(&second, Some("second")).await;
    let denied = health(&second, None).await;
    assert_eq!(status(still), Ok(StatusCode::OK));
    assert_eq!(status(denied), Ok(StatusCode::UNAUTHORIZED));
    write("web.yml", &web_yml(&bcrypt::hash("third", 4).unwrap()));
    write("key.pem", "not a key\n");
    let still = health(&second, Some("second")).await;
    assert_eq!(
        status(still),
        Ok(StatusCode::OK),
        "a broken key file must not end TLS"
    );
}
