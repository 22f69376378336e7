use super::*;

fn err(src: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    match parse(src, "web.yml", dir.path()) {
        Ok(w) => panic!("accepted: {w:?}"),
        Err(e) => e.to_string(),
    }
}

/// A certificate and key for localhost in `dir`, as `cert.pem` and `key.pem`.
fn server_files(dir: &FsPath) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
}

#[test]
fn invalid_web_configs_are_placed_in_the_file() {
    let hash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
    let cases: Vec<(String, &str)> = vec![
        (
            "tls_server_config:\n  cert_file: a.pem\n  keyfile: b.pem\n".into(),
            "web.yml:3:3: tls_server_config: unknown field `keyfile`, expected one of",
        ),
        (
            "basic_auth_users:\n  alice: hunter2\n".into(),
            "web.yml:2:3: basic_auth_users.alice: not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`; the file never holds plain passwords)",
        ),
        (
            format!("basic_auth_users:\n  'a:b': '{hash}'\n"),
            "web.yml:2:3: basic_auth_users.a:b: a user name cannot contain ':'",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n".into(),
            "web.yml:1:1: tls_server_config: missing key_file (or key)",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: TLS11\n".into(),
            "web.yml:4:3: tls_server_config.min_version: TLS11 is below TLS 1.2, which the SLO disables (use TLS12 or TLS13)",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  max_version: SSL3\n".into(),
            "web.yml:4:3: tls_server_config.max_version: unknown TLS version 'SSL3' (expected TLS12 or TLS13)",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: TLS13\n  max_version: TLS12\n".into(),
            "web.yml:4:3: tls_server_config.min_version: min_version is above max_version",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAnyClientCert\n".into(),
            "web.yml:4:3: tls_server_config.client_auth_type: RequireAnyClientCert accepts unverified client certificates; mimamori always verifies them",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAndVerifyClientCert\n".into(),
            "web.yml:4:3: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_ca_file: cert.pem\n".into(),
            "web.yml:4:3: tls_server_config.client_ca_file: client CAs are configured without a client_auth_type",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n".into(),
            "web.yml:4:19: tls_server_config.cipher_suites[0]: unsupported TLS 1.2 cipher suite 'TLS_RSA_WITH_RC4_128_SHA' (supported: TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  curve_preferences: [X25519, CurveP521]\n".into(),
            "web.yml:4:31: tls_server_config.curve_preferences[1]: unsupported curve 'CurveP521'",
        ),
        (
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n".into(),
            "web.yml:2:3: tls_server_config.cert_file: cannot read ",
        ),
        (
            "http_server_config:\n  headers:\n    Server: nginx\n".into(),
            "web.yml:3:5: http_server_config.headers.Server: header 'Server' cannot be set (allowed: Content-Security-Policy, ",
        ),
        (
            "basic_auth_users: [alice]\n".into(),
            "web.yml:1:19: basic_auth_users: invalid type: sequence, expected a map",
        ),
    ];
    // Files the TLS cases refer to exist, so each case fails for its own reason.
    let mut wrong = Vec::new();
    for (src, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        server_files(dir.path());
        let got = match parse(&src, "web.yml", dir.path()) {
            Ok(w) => panic!("accepted:\n{src}\n{w:?}"),
            Err(e) => e.to_string(),
        };
        if !got.starts_with(want) {
            wrong.push(format!("for\n{src}got  {got}\nwant {want}…"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn empty_file_and_empty_tls_section_mean_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let w = parse("", "web.yml", dir.path()).unwrap();
    assert!(w.tls.is_none() && w.auth.is_none());
    let w = parse("tls_server_config: {}\n", "web.yml", dir.path()).unwrap();
    assert_eq!(w.scheme(), "http");
}

#[test]
fn relative_paths_are_taken_from_the_web_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    server_files(dir.path());
    let path = dir.path().join("web.yml");
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: TLS13\n",
    )
    .unwrap();
    let w = load(&path).unwrap();
    assert_eq!(w.scheme(), "https");
    assert!(
        err("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
            .contains("cannot read")
    );
}

fn basic(user: &str, password: &str) -> HeaderMap {
    use base64::Engine;
    let mut h = HeaderMap::new();
    let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Basic {v}")).unwrap(),
    );
    h
}

#[tokio::test]
async fn basic_auth_checks_bcrypt_and_caches_only_successes() {
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let w = parse(
        &format!("basic_auth_users:\n  alice: '{hash}'\n"),
        "web.yml",
        dir.path(),
    )
    .unwrap();
    let cached = || w.auth.as_ref().unwrap().verified.lock().unwrap().len();

    assert!(!w.authorized(&HeaderMap::new()).await, "no credentials");
    assert!(!w.authorized(&basic("alice", "wrong")).await);
    assert!(!w.authorized(&basic("bob", "correct horse")).await);
    let mut bearer = HeaderMap::new();
    bearer.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_static("Bearer correct horse"),
    );
    assert!(!w.authorized(&bearer).await);
    assert_eq!(cached(), 0, "failures are never cached");

    assert!(w.authorized(&basic("alice", "correct horse")).await);
    assert_eq!(cached(), 1);
    assert!(w.authorized(&basic("alice", "correct horse")).await);
    assert_eq!(cached(), 1, "the second check is answered from the cache");
    assert!(!w.authorized(&basic("alice", "correct horsf")).await);
    // The cache holds digests, never the password.
    let auth = w.auth.as_ref().unwrap();
    let key = BasicAuth::digest("alice", &hash, "correct horse");
    assert!(auth.cached(&key));
    assert!(!auth.cached(&BasicAuth::digest("alice", &hash, "correct horsf")));
}

#[test]
fn headers_are_added_to_answers() {
    let dir = tempfile::tempdir().unwrap();
    let w = parse(
        "http_server_config:\n  http2: false\n  headers:\n    x-frame-options: deny\n    Strict-Transport-Security: max-age=31536000\n",
        "web.yml",
        dir.path(),
    )
    .unwrap();
    let r = w.decorate(unauthorized());
    assert_eq!(r.headers()["x-frame-options"], "deny");
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
}
