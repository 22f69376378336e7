//! Notices by e-mail: one message per recipient over SMTP (lettre on tokio,
//! rustls with ring), STARTTLS or implicit TLS, TLS 1.2 or newer, the server's
//! certificate verified against the system roots and `notify.smtp.ca_file`.
//!
//! A message is plain text and HTML (`multipart/alternative`), with the
//! event's iCalendar attached when it has one; its Message-ID is derived from
//! the idempotency key, so the rare duplicate after a crash carries the same
//! id and mail clients can fold it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters, TlsVersion};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use ring::digest;

use super::outbox::Job;
use super::Lang;
use crate::config::{Smtp, SmtpSecurity};

/// How a send went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Will not get better by retrying (SMTP 5xx to the message, webhook 4xx).
    Permanent(String),
    /// Worth another attempt later (connection, timeout, 4xx, 5xx webhook).
    Transient(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Permanent(m) => write!(f, "permanent: {m}"),
            SendError::Transient(m) => write!(f, "transient: {m}"),
        }
    }
}

/// The e-mail channel: a pooled SMTP transport and the fixed headers.
pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The Message-ID's right-hand side: the sender's domain.
    domain: String,
    list_unsubscribe: Option<String>,
}

impl EmailSender {
    /// The transport for `smtp`; `ca_file` already resolved against the
    /// configuration file; credentials from the loaded secrets.
    pub fn new(
        smtp: &Smtp,
        ca_file: Option<&std::path::Path>,
        secrets: &HashMap<String, String>,
        pool: usize,
    ) -> anyhow::Result<EmailSender> {
        let from: Mailbox = smtp
            .from
            .parse()
            .with_context(|| format!("notify.smtp.from '{}'", smtp.from))?;
        let domain = from.email.domain().to_string();
        let mut tls =
            TlsParameters::builder(smtp.host.clone()).set_min_tls_version(TlsVersion::Tlsv12);
        if let Some(path) = ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading notify.smtp.ca_file {}", path.display()))?;
            let cert = Certificate::from_pem(&pem)
                .with_context(|| format!("notify.smtp.ca_file {}", path.display()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls.build_rustls().context("notify.smtp: TLS settings")?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port())
            .tls(match smtp.security {
                SmtpSecurity::Starttls => Tls::Required(tls),
                SmtpSecurity::Tls => Tls::Wrapper(tls),
            })
            .timeout(Some(smtp.timeout.0))
            .pool_config(
                PoolConfig::new()
                    .max_size(pool.max(1) as u32)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            let none = HashMap::new();
            builder = builder.credentials(Credentials::new(
                user.render(&none, secrets),
                password.render(&none, secrets),
            ));
        }
        Ok(EmailSender {
            transport: builder.build(),
            from,
            domain,
            list_unsubscribe: smtp.list_unsubscribe.clone(),
        })
    }

    /// The message of `job` for one recipient in `lang`, dated `now`.
    pub fn message(
        &self,
        job: &Job,
        to: &str,
        lang: Lang,
        now: i64,
    ) -> Result<lettre::Message, SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::Permanent("the contact's address is not valid".into()))?;
        let msg = match lang {
            Lang::Ja => &job.ja,
            Lang::En => &job.en,
        };
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone())
            .message_id(Some(message_id(&job.event_key, &job.contact, &self.domain)))
            .date(SystemTime::UNIX_EPOCH + Duration::from_secs(now.max(0) as u64))
            .header(ContentLanguage(lang))
            .user_agent(format!("mimamori/{}", env!("CARGO_PKG_VERSION")));
        if let Some(u) = &self.list_unsubscribe {
            b = b.header(ListUnsubscribe(format!("<{u}>")));
        }
        let body = MultiPart::alternative_plain_html(msg.text.clone(), msg.html.clone());
        let body = match &job.ics {
            Some(ics) => MultiPart::mixed().multipart(body).singlepart(ics_part(ics)),
            None => body,
        };
        b.multipart(body)
            .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
    }

    /// Submits one message.
    pub async fn send(&self, message: lettre::Message) -> Result<(), SendError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }
}

/// The iCalendar attachment.
fn ics_part(ics: &str) -> SinglePart {
    Attachment::new("event.ics".into()).body(
        ics.to_string(),
        ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
            .expect("a valid content type"),
    )
}

/// `<hex(sha256(event key, contact))@domain>`: the same for every attempt
/// at one notice.
fn message_id(event_key: &str, contact: &str, domain: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(event_key.as_bytes());
    ctx.update(b"\0");
    ctx.update(contact.as_bytes());
    let hex: String = ctx.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("<{hex}.notice@{domain}>")
}

/// Sorts an SMTP error into permanent and transient. A 5xx to the message
/// or its recipient is permanent; authentication refused (530, 534, 535,
/// 538) is our own configuration, so it is retried until `give_up_after`
/// like an outage, not blamed on the notice. The text is the server's with
/// every address in it masked.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = mask_addresses(&format!("{e}"));
    match e.status() {
        Some(code) if e.is_permanent() => {
            let n = code.to_string();
            if ["530", "534", "535", "538"].contains(&n.as_str()) {
                SendError::Transient(format!("authentication refused: {text}"))
            } else {
                SendError::Permanent(text)
            }
        }
        _ => SendError::Transient(text),
    }
}

/// Masks every e-mail address in `text` (`a***@example.jp`): server
/// replies quote the recipient, and addresses never reach logs or metrics.
pub fn mask_addresses(text: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+)").unwrap()
    });
    re.replace_all(text, "$1***@$2").into_owned()
}

/// `Content-Language` (RFC 3282).
#[derive(Debug, Clone)]
struct ContentLanguage(Lang);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        match s.trim() {
            "ja" => Ok(ContentLanguage(Lang::Ja)),
            "en" => Ok(ContentLanguage(Lang::En)),
            other => Err(format!("unknown language {other}").into()),
        }
    }
    fn display(&self) -> HeaderValue {
        let v = match self.0 {
            Lang::Ja => "ja",
            Lang::En => "en",
        };
        HeaderValue::new(Self::name(), v.to_string())
    }
}

/// `List-Unsubscribe` (RFC 2369): `<mailto:…>` or `<https://…>`.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            mask_addresses("550 5.1.1 <taro.yamada@example.jp>: Recipient address rejected"),
            "550 5.1.1 <t***@example.jp>: Recipient address rejected"
        );
    }

    #[test]
    fn message_ids_are_stable_per_notice() {
        let a = message_id("incident/x/started", "c1", "aoulu.example.jp");
        assert_eq!(
            a,
            message_id("incident/x/started", "c1", "aoulu.example.jp")
        );
        assert_ne!(
            a,
            message_id("incident/x/started", "c2", "aoulu.example.jp")
        );
        assert!(a.starts_with('<') && a.ends_with(".notice@aoulu.example.jp>"));
    }
}
