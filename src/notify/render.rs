//! The words of a notice: subject, plain text and HTML in Japanese and English,
//! and the webhook's JSON body, from one event's [`Facts`].
//!
//! minijinja templates (`src/notify/templates/`) with the status page's
//! filters ([`crate::status::render::filters`]: times in the SLO's time zone,
//! durations in words) and the page's words for states and reasons, so a mail
//! never says something the page words differently. HTML escaping is on for
//! the HTML body; the subject and the text are plain.

use std::sync::OnceLock;

use minijinja::{context, AutoEscape, Environment};
use serde_json::json;

use super::events::Facts;
use super::{Event, Message};
use crate::config::Config;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for (name, src) in [
            ("words.jinja", include_str!("templates/words.jinja")),
            ("subject.txt", include_str!("templates/subject.txt")),
            ("text.txt", include_str!("templates/text.txt")),
            ("body.html", include_str!("templates/body.html")),
        ] {
            env.add_template(name, src).expect("notice templates parse");
        }
        crate::status::render::filters(&mut env);
        env
    })
}

/// The address (mailto: or https:) a contact stops the notices at, if configured.
pub fn unsubscribe(cfg: &Config) -> Option<String> {
    cfg.notify.as_ref()?.smtp.as_ref()?.list_unsubscribe.clone()
}

/// The page's address for a language, at the event's place on it; `None`
/// without a base URL (a mail needs an absolute link).
pub fn page_url(base_url: &str, lang: &str, anchor: &str) -> Option<String> {
    let base = base_url.trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    let path = if lang == "ja" { "/" } else { "/en/" };
    Some(format!("{base}{path}#{anchor}"))
}

/// Escapes what an HTML attribute must not contain unescaped.
fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One language's message.
pub fn message(f: &Facts, lang: &str, base_url: &str, unsubscribe: Option<&str>) -> Message {
    let env = env();
    let url = page_url(base_url, lang, &f.anchor);
    let ctx = context! {
        f => minijinja::Value::from_serialize(f),
        lang => lang,
        // Ours (the operator's base URL and an id), escaped here and kept as
        // written: the escaper would turn `/` into `&#x2f;` in the link.
        url => url.clone(),
        url_html => url.map(|u| minijinja::Value::from_safe_string(attr_escape(&u))),
        unsubscribe => unsubscribe,
    };
    let render = |name: &str| {
        env.get_template(name)
            .expect("added")
            .render(&ctx)
            .expect("notice template renders")
    };
    // One line: a title with a line break must not end the Subject header.
    let subject = render("subject.txt")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Message {
        subject,
        text: render("text.txt"),
        html: render("body.html"),
    }
}

/// The event ready to send: both languages, the calendar, the webhook body.
pub fn event(f: &Facts, base_url: &str, unsubscribe: Option<&str>, ics: Option<String>) -> Event {
    let ja = message(f, "ja", base_url, unsubscribe);
    let en = message(f, "en", base_url, unsubscribe);
    let json = webhook_json(f, base_url, &ja, &en);
    Event {
        key: f.key.clone(),
        kind: f.kind,
        services: f.services.iter().map(|s| s.id.clone()).collect(),
        incident: f.incident.clone(),
        occurred_at: f.occurred_at.0,
        ja,
        en,
        ics,
        json,
    }
}

/// The webhook body (docs/notices.md, "Webhook JSON"): every key always
/// present (`null` where it does not apply), times RFC 3339 in the SLO's zone.
pub fn webhook_json(f: &Facts, base_url: &str, ja: &Message, en: &Message) -> serde_json::Value {
    json!({
        "version": 1,
        "kind": f.kind,
        "key": f.key,
        "services": f.services.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        "service_names": f.services,
        "incident": f.incident,
        "occurred_at": f.occurred_at,
        "start": f.start,
        "end": f.end,
        "duration_seconds": f.duration_seconds,
        "reason": f.reason,
        "effective_at": f.effective_at,
        "in_time": f.in_time,
        "url": page_url(base_url, "ja", &f.anchor),
        "url_en": page_url(base_url, "en", &f.anchor),
        "ja": {"title": ja.subject, "text": ja.text},
        "en": {"title": en.subject, "text": en.text},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DisplayName;
    use crate::notify::events::ServiceName;
    use crate::notify::EventKind;
    use crate::status::time::Time;

    const TZ: chrono_tz::Tz = chrono_tz::Asia::Tokyo;
    const T0: i64 = 1_796_173_200; // 2026-12-02T10:00:00+09:00

    fn incident(kind: EventKind) -> Facts {
        Facts {
            kind,
            key: "incident/incident-hanbai-1796173200/started".into(),
            services: vec![ServiceName {
                id: "hanbai".into(),
                ja: "AOULU 販売".into(),
                en: "AOULU Sales".into(),
            }],
            incident: Some("incident-hanbai-1796173200".into()),
            occurred_at: Time(T0, TZ),
            start: Some(Time(T0, TZ)),
            end: (kind == EventKind::IncidentResolved).then_some(Time(T0 + 1260, TZ)),
            duration_seconds: (kind == EventKind::IncidentResolved).then_some(1260),
            reason: Some("timeout".into()),
            reason_words: Some(crate::status::snapshot::reason_words("timeout")),
            locations: vec!["tokyo".into(), "osaka".into()],
            title: None,
            body: None,
            effective_at: None,
            in_time: None,
            anchor: "h-incident-hanbai-1796173200".into(),
        }
    }

    fn words(ja: &str, en: &str) -> Option<DisplayName> {
        Some(DisplayName {
            ja: ja.into(),
            en: en.into(),
        })
    }

    fn all() -> Vec<Facts> {
        let late_change = Facts {
            kind: EventKind::Change,
            key: "notice/change-1796086800".into(),
            incident: None,
            start: None,
            reason: None,
            reason_words: None,
            locations: vec![],
            occurred_at: Time(T0 - 86_400, TZ),
            title: words("帳票の変更", "New forms"),
            body: words("請求書の様式が変わります。", "Invoices get a new layout."),
            effective_at: Some(Time(T0 + 8 * 86_400, TZ)),
            in_time: Some(false),
            anchor: "notice-incident-1796086800".into(),
            ..incident(EventKind::Change)
        };
        let window = Facts {
            kind: EventKind::MaintenanceReminder,
            key: "maintenance/maint-hanbai-1797696000/reminder".into(),
            start: Some(Time(T0 + 18 * 86_400 - 32_400, TZ)),
            end: Some(Time(T0 + 18 * 86_400 - 25_200, TZ)),
            duration_seconds: Some(7200),
            title: words("定期メンテナンス", "Scheduled maintenance"),
            body: None,
            effective_at: None,
            in_time: Some(true),
            anchor: "maint-hanbai-1797696000".into(),
            ..late_change.clone()
        };
        let update = Facts {
            kind: EventKind::IncidentUpdate,
            title: words("販売で障害が発生しています", "Sales is failing"),
            body: words("原因を調査しています。", "We are investigating."),
            occurred_at: Time(T0 + 1200, TZ),
            ..incident(EventKind::IncidentUpdate)
        };
        vec![
            incident(EventKind::IncidentStarted),
            update,
            incident(EventKind::IncidentResolved),
            window,
            late_change,
        ]
    }

    #[test]
    fn notices_read_alike_in_both_languages() {
        let mut out = String::new();
        for f in all() {
            for lang in ["ja", "en"] {
                let m = message(&f, lang, "https://status.example.jp/", None);
                out.push_str(&format!(
                    "===== {:?} {lang}\nSubject: {}\n\n{}\n",
                    f.kind, m.subject, m.text
                ));
            }
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn the_html_escapes_written_text_and_links_the_page() {
        let mut f = incident(EventKind::IncidentUpdate);
        f.title = words("<script>x</script>", "a & b");
        f.body = words("<img src=x>", "ok");
        f.services[0].ja = "<b>販売".into();
        let m = message(
            &f,
            "ja",
            "https://status.example.jp",
            Some("mailto:stop@example.jp"),
        );
        for raw in ["<script>", "<img", "<b>"] {
            assert!(!m.html.contains(raw), "{raw} in {}", m.html);
        }
        assert!(m.html.contains("&lt;script&gt;"));
        assert!(m
            .html
            .contains(r#"<a href="https://status.example.jp/#h-incident-hanbai-1796173200">"#));
        assert!(
            m.text.contains("配信の停止: mailto:stop@example.jp"),
            "{}",
            m.text
        );
        let en = message(&f, "en", "https://status.example.jp", None);
        assert!(en.text.contains(
            "Current status: https://status.example.jp/en/#h-incident-hanbai-1796173200"
        ));
        insta::assert_snapshot!(
            message(
                &incident(EventKind::IncidentStarted),
                "ja",
                "https://status.example.jp/",
                None
            )
            .html
        );
    }

    #[test]
    fn the_webhook_json_has_every_key() {
        let f = incident(EventKind::IncidentResolved);
        let e = event(&f, "https://status.example.jp/", None, None);
        let keys: Vec<&str> = e
            .json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "duration_seconds",
                "effective_at",
                "en",
                "end",
                "in_time",
                "incident",
                "ja",
                "key",
                "kind",
                "occurred_at",
                "reason",
                "service_names",
                "services",
                "start",
                "url",
                "url_en",
                "version"
            ]
        );
        assert_eq!(e.json["kind"], "incident_resolved");
        assert_eq!(e.json["start"], "2026-12-02T10:00:00+09:00");
        assert_eq!(e.json["duration_seconds"], 1260);
        assert_eq!(e.json["ja"]["title"], e.ja.subject);
        assert_eq!(
            e.json["url"],
            "https://status.example.jp/#h-incident-hanbai-1796173200"
        );
    }
}
