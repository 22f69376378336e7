//! The simulated services' web UI (`/ui/…`): what a customer sees in a
//! browser — a login form, a list rendered by a script from the product's
//! JSON API on the same origin, and a detail page — so the demo has something
//! only a browser transaction can watch (issue 27). Its contract with the
//! browser engine's tests is written in docs/browser.md ("Demo").
//!
//! The fault modes `ui_slow` and `ui_broken` change only what `/ui/app.js`
//! does: the API keeps answering as fast as ever.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::services::{Mode, Product};

/// Name of the session cookie the UI login sets; the JSON API accepts it as
/// well as a bearer token.
pub const SESSION_COOKIE: &str = "aoulu_ui";

/// How long `ui_slow` holds the rendered list back: past the 3 s objective,
/// within a 10 s step timeout.
pub const UI_SLOW_DELAY_MS: u64 = 6_000;

struct Words {
    /// Product name, Japanese then English.
    name: &'static str,
    name_en: &'static str,
    list_ja: &'static str,
    list_en: &'static str,
    detail_ja: &'static str,
    detail_en: &'static str,
}

fn words(p: Product) -> Words {
    match p {
        Product::Hanbai => Words {
            name: "AOULU 販売",
            name_en: "AOULU Sales",
            list_ja: "注文一覧",
            list_en: "Orders",
            detail_ja: "注文詳細",
            detail_en: "Order",
        },
        Product::Denshibin => Words {
            name: "AOULU 電子便",
            name_en: "AOULU e-Delivery",
            list_ja: "受信一覧",
            list_en: "Inbox",
            detail_ja: "文書",
            detail_en: "Document",
        },
    }
}

/// Escapes text for HTML content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:0;color:#222}\
header{background:#1d4e89;color:#fff;padding:.6em 1em}header small{opacity:.8}\
main{padding:1em}#list{list-style:none;padding:0}#list li{padding:.3em 0;border-bottom:1px solid #ddd}\
label{display:block;margin:.5em 0}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}";

fn page(p: Product, title_ja: &str, title_en: &str, body_attrs: &str, main: &str) -> String {
    let w = words(p);
    format!(
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{name} — {title_ja} / {title_en}</title><style>{STYLE}</style></head>\n\
         <body data-product=\"{service}\"{body_attrs}><header><strong>{name}</strong> <small>{name_en} · \
         デモ（模擬） / demo (simulated)</small></header>\n<main id=\"main\">{main}</main></body></html>\n",
        name = w.name,
        name_en = w.name_en,
        service = p.service(),
    )
}

/// `GET /ui/login`: the login form (any user and password are accepted).
pub fn login_page(p: Product) -> String {
    page(
        p,
        "ログイン",
        "Log in",
        "",
        "<h1>ログイン / Log in</h1>\
         <form id=\"login\" method=\"post\" action=\"/ui/login\">\
         <label>ユーザー名 / User <input id=\"user\" name=\"user\" autocomplete=\"username\"></label>\
         <label>パスワード / Password <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\"></label>\
         <button id=\"submit\" type=\"submit\">ログイン / Log in</button></form>",
    )
}

/// `GET /ui/list`: a shell whose script fills `#list` from the JSON API.
pub fn list_page(p: Product) -> String {
    let w = words(p);
    page(
        p,
        w.list_ja,
        w.list_en,
        "",
        &format!(
            "<h1>{} / {}</h1><p id=\"status\">読み込み中… / Loading…</p><ul id=\"list\"></ul>\
             <script src=\"/ui/app.js\"></script>",
            w.list_ja, w.list_en
        ),
    )
}

/// Whether `id` can name an order or a document (letters, digits, `-`).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `path` is a page of this UI a login may lead to (`next`).
pub fn is_page(path: &str) -> bool {
    path == "/ui/list" || path.strip_prefix("/ui/detail/").is_some_and(valid_id)
}

/// Whether `GET path` is one of the UI's static answers (the pages' shells
/// and their script), which the `slow` fault leaves fast.
pub fn is_static(path: &str) -> bool {
    matches!(path, "/ui/login" | "/ui/list" | "/ui/app.js") || path.starts_with("/ui/detail/")
}

/// `GET /ui/detail/ID`: a shell whose script renders `#detail` from the API.
pub fn detail_page(p: Product, id: &str) -> String {
    let w = words(p);
    page(
        p,
        w.detail_ja,
        w.detail_en,
        &format!(" data-id=\"{}\"", esc(id)),
        "<p id=\"status\">読み込み中… / Loading…</p>\
         <p><a href=\"/ui/list\">← 一覧へ / Back to the list</a></p>\
         <script src=\"/ui/app.js\"></script>",
    )
}

/// The page script, with the service's current fault mode written into it.
const APP_JS: &str = r#"
(function () {
  "use strict";
  var body = document.body;
  var P = {
    hanbai: {
      list: "/api/orders?limit=20",
      items: function (d) { return d.orders; },
      label: function (o) {
        return o.id + "  " + o.customer + "  ¥" + Number(o.total).toLocaleString("ja-JP") + "  (" + o.date + ")";
      },
      detail: function (id) { return "/api/orders/" + encodeURIComponent(id); },
      render: function (d, el) {
        add(el, "h1", "注文 / Order " + d.id);
        add(el, "p", "状態 / Status: " + d.status);
        add(el, "p", "顧客 / Customer: " + d.customer);
        var t = add(el, "table", "");
        var head = add(t, "tr", "");
        ["品番 / SKU", "品名 / Item", "数量 / Qty", "単価 / Price"].forEach(function (h) { add(head, "th", h); });
        d.lines.forEach(function (l) {
          var r = add(t, "tr", "");
          [l.sku, l.name, l.qty, "¥" + Number(l.price).toLocaleString("ja-JP")].forEach(function (v) { add(r, "td", String(v)); });
        });
      }
    },
    denshibin: {
      list: "/api/inbox?limit=20",
      items: function (d) { return d.documents; },
      label: function (o) { return o.id + "  " + o.title + "  (" + o.from + ")"; },
      detail: function (id) { return "/api/documents/" + encodeURIComponent(id); },
      render: function (d, el) {
        add(el, "h1", d.title);
        add(el, "p", "文書番号 / Document: " + d.id);
        add(el, "p", "差出人 / From: " + d.from);
        add(el, "p", "サイズ / Size: " + d.size + " bytes");
        var a = add(el, "a", "ダウンロード / Download (PDF)");
        a.href = "/api/documents/" + encodeURIComponent(d.id) + "/download";
      }
    }
  }[body.dataset.product];
  function add(parent, tag, text) {
    var e = document.createElement(tag);
    if (text) { e.textContent = text; }
    parent.appendChild(e);
    return e;
  }
  var status = document.getElementById("status");
  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
  }
  function failed(e) {
    status.textContent = "読み込めませんでした / Could not load: " + e.message;
    body.dataset.error = "1";
  }
  if (FAULT.mode === "ui_broken") {
    // The simulated fault: the script dies before it renders anything.
    throw new Error("demo fault ui_broken: the page script failed before rendering");
  }
  var list = document.getElementById("list");
  if (list) {
    get(P.list)
      .then(function (d) {
        // ui_slow: the API has answered; the page takes its time all the same.
        return new Promise(function (done) { setTimeout(function () { done(d); }, FAULT.delay_ms); });
      })
      .then(function (d) {
        var items = P.items(d);
        items.forEach(function (o) {
          var a = add(add(list, "li", ""), "a", P.label(o));
          a.href = "/ui/detail/" + encodeURIComponent(o.id);
          a.dataset.id = o.id;
        });
        status.textContent = items.length + " 件 / items";
        body.dataset.ready = "1";
      })
      .catch(failed);
  } else if (body.dataset.id) {
    get(P.detail(body.dataset.id))
      .then(function (d) {
        var el = document.createElement("div");
        el.id = "detail";
        P.render(d, el);
        document.getElementById("main").insertBefore(el, status);
        status.textContent = "";
        body.dataset.ready = "1";
      })
      .catch(failed);
  }
})();
"#;

/// `GET /ui/app.js` for a service in `mode`.
pub fn app_js(mode: Mode) -> String {
    let (name, delay) = match mode {
        Mode::UiSlow => ("ui_slow", UI_SLOW_DELAY_MS),
        Mode::UiBroken => ("ui_broken", 0),
        _ => ("ok", 0),
    };
    format!(
        "// AOULU demo UI (simulated by mimamori demo).\n\
         var FAULT = {{ \"mode\": \"{name}\", \"delay_ms\": {delay} }};\n{APP_JS}"
    )
}

/// Headers every UI answer carries: never cached (a fault switched on must
/// show at the next load), scripts and requests from this origin only.
fn ui_response(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .header(
            "content-security-policy",
            "default-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        )
        .header("x-content-type-options", "nosniff")
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

pub fn html(body: String) -> Response<Full<Bytes>> {
    ui_response(StatusCode::OK, "text/html; charset=utf-8", body)
}

pub fn script(body: String) -> Response<Full<Bytes>> {
    ui_response(StatusCode::OK, "text/javascript; charset=utf-8", body)
}

/// A `303 See Other` to `to`, with an optional `set-cookie`.
pub fn see_other(to: &str, cookie: Option<String>) -> Response<Full<Bytes>> {
    let mut r = ui_response(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        String::new(),
    );
    r.headers_mut().insert(
        "location",
        http::HeaderValue::from_str(to).expect("ASCII path"),
    );
    if let Some(c) = cookie {
        r.headers_mut().insert(
            "set-cookie",
            http::HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={c}; Path=/; Secure; HttpOnly; SameSite=Lax"
            ))
            .expect("ASCII cookie"),
        );
    }
    r
}

/// The UI session token in a `cookie` header, if any.
pub fn session(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_contract() {
        let login = login_page(Product::Hanbai);
        for part in [
            "<form id=\"login\"",
            "<input id=\"user\"",
            "<input id=\"password\" name=\"password\" type=\"password\"",
            "<button id=\"submit\" type=\"submit\"",
        ] {
            assert!(login.contains(part), "{part}");
        }
        let list = list_page(Product::Hanbai);
        assert!(list.contains("<title>AOULU 販売 — 注文一覧 / Orders</title>"));
        assert!(list.contains("<ul id=\"list\"></ul>"));
        assert!(list.contains("<script src=\"/ui/app.js\"></script>"));
        assert!(list_page(Product::Denshibin).contains("AOULU 電子便 — 受信一覧 / Inbox"));
        let d = detail_page(Product::Denshibin, "DOC-880000");
        assert!(d.contains("data-id=\"DOC-880000\""));
    }

    #[test]
    fn fault_modes_change_the_script() {
        assert!(app_js(Mode::Ok).contains("\"mode\": \"ok\", \"delay_ms\": 0"));
        assert!(app_js(Mode::Slow).contains("\"mode\": \"ok\", \"delay_ms\": 0"));
        assert!(app_js(Mode::UiSlow).contains("\"mode\": \"ui_slow\", \"delay_ms\": 6000"));
        assert!(app_js(Mode::UiBroken).contains("\"mode\": \"ui_broken\""));
    }

    #[test]
    fn ids_and_cookies() {
        assert!(valid_id("SO-2026-01200"));
        for bad in ["", "a/b", "<x>", "a b", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
        assert!(is_page("/ui/list") && is_page("/ui/detail/DOC-1"));
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/ui/detail/",
            "/ui/login",
        ] {
            assert!(!is_page(bad), "{bad}");
        }
        assert_eq!(session("a=1; aoulu_ui=tok-1; b=2"), Some("tok-1"));
        assert_eq!(session("aoulu_session=1"), None);
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
