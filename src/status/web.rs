//! The status page's HTTP server: hands out the files rendered at the last
//! refresh, with a strict Content-Security-Policy; it never queries Prometheus.

use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::render::Site;

/// Nothing but this origin's stylesheet and images: no script, font, frame or form anywhere.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub type Shared = Arc<RwLock<Arc<Site>>>;

/// Answers one request from the current site.
pub fn respond<B>(site: &Site, req: &Request<B>) -> Response<Full<Bytes>> {
    let mut resp = if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    } else {
        let path = req.uri().path();
        let path = match path {
            "/index.html" => "/",
            "/en" | "/en/index.html" => "/en/",
            p => p,
        };
        // The Statuspage-compatible API in Japanese: `?lang=ja`, or under `/ja`.
        let ja = api_lang_ja(path, req.uri().query());
        let path = &match ja {
            Some(true) => format!("/ja{path}"),
            _ => path.to_string(),
        };
        let path = path.as_str();
        if path == "/-/healthy" {
            text(StatusCode::OK, "OK\n")
        } else if ja.is_none() {
            text(StatusCode::BAD_REQUEST, "lang: ja or en\n")
        } else if path == "/en" {
            text(StatusCode::NOT_FOUND, "not found\n")
        } else if let Some(f) = site.get(path) {
            let body = if req.method() == Method::HEAD {
                Bytes::new()
            } else {
                Bytes::from(f.body.clone())
            };
            let mut r = Response::new(Full::new(body));
            if let Some(secs) = f.max_age {
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_str(&format!("public, max-age={secs}")).expect("ascii"),
                );
            }
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(f.content_type),
            );
            r
        } else {
            text(StatusCode::NOT_FOUND, "not found\n")
        }
    };
    let h = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-site"),
        ("permissions-policy", "interest-cohort=()"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    resp
}

/// For a path of the Statuspage-compatible API: `Some(true)` for `?lang=ja`,
/// `Some(false)` for English (no `lang`, or `lang=en`), `None` for another language.
/// Other paths: `Some(false)`, whatever the query.
fn api_lang_ja(path: &str, query: Option<&str>) -> Option<bool> {
    if !path.starts_with(super::api::PREFIX) {
        return Some(false);
    }
    let lang = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="));
    match lang {
        None | Some("en") => Some(false),
        Some("ja") => Some(true),
        Some(_) => None,
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `/metrics`: the status server's own series (the notices', when `notify:`
/// is configured), in the text format.
pub fn metrics(registry: &prometheus::Registry) -> Response<Full<Bytes>> {
    let body = crate::notify::metrics::render(registry);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// Serves `site` (and `registry` on `/metrics`) on `listener` until dropped.
pub async fn serve(
    listener: TcpListener,
    site: Shared,
    registry: Arc<prometheus::Registry>,
) -> anyhow::Result<()> {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let site = site.clone();
        let registry = registry.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let resp = if req.uri().path() == "/metrics" && req.method() == Method::GET {
                    metrics(&registry)
                } else {
                    respond(&site.read().unwrap().clone(), &req)
                };
                async move { Ok::<_, Infallible>(resp) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::render::File;

    #[test]
    fn files_come_with_security_headers_and_unknown_paths_are_404() {
        let mut site = Site::new();
        site.insert(
            "/en/".into(),
            File {
                content_type: "text/html; charset=utf-8",
                body: b"<p>en</p>".to_vec(),
                max_age: None,
            },
        );
        let get = |p: &str| respond(&site, &Request::get(p).body(()).unwrap());
        let r = get("/en");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-security-policy"], CSP);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(get("/-/healthy").status(), StatusCode::OK);
        assert_eq!(get("/nope").status(), StatusCode::NOT_FOUND);
        let post = respond(&site, &Request::post("/").body(()).unwrap());
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
