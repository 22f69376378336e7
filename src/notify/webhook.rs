//! Notices by webhook: the event as JSON, POSTed to the contact's URL and
//! signed so the receiver can tell it came from us and is not a replay.
//!
//! Headers (docs/notices.md, "Channels", says how a receiver verifies):
//! - `X-Mimamori-Timestamp`: Unix seconds when the request was made;
//! - `X-Mimamori-Signature`: `sha256=` and the lowercase hex HMAC-SHA256,
//!   keyed with the contact's secret, of `{timestamp}.{body}`;
//! - `X-Mimamori-Event`: the event's key; `X-Mimamori-Delivery`: the notice's
//!   id, the same on every attempt (a receiver can drop a repeat by it).
//!
//! Any 2xx is delivered. 408, 429 and 5xx are retried; any other 4xx (and a
//! redirect, which is not followed) is a permanent failure.

use std::time::Duration;

use ring::hmac;

use super::email::SendError;
use super::Webhook;

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Checks a signature the way a receiver should: in constant time, and only
/// within `window` seconds of `now` (against replays).
pub fn verify(
    secret: &[u8],
    timestamp: i64,
    body: &[u8],
    signature: &str,
    now: i64,
    window: i64,
) -> bool {
    if (now - timestamp).abs() > window {
        return false;
    }
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut msg = timestamp.to_string().into_bytes();
    msg.push(b'.');
    msg.extend_from_slice(body);
    hmac::verify(&key, &msg, &tag).is_ok()
}

/// The webhook channel: one HTTP client for every contact's URL.
pub struct WebhookSender {
    client: reqwest::Client,
}

impl WebhookSender {
    /// A client with `timeout` per request, trusting the system roots and the
    /// certificates of `ca_file` (PEM), following no redirect.
    pub fn new(
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<WebhookSender> {
        use anyhow::Context;
        let mut b = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mimamori/", env!("CARGO_PKG_VERSION")))
            .https_only(false)
            .min_tls_version(reqwest::tls::Version::TLS_1_2);
        if let Some(path) = ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading notify.webhook.ca_file {}", path.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("notify.webhook.ca_file {}", path.display()))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        Ok(WebhookSender {
            client: b.build().context("building the webhook client")?,
        })
    }

    /// POSTs `body` to the webhook, signed at `timestamp`.
    pub async fn send(
        &self,
        hook: &Webhook,
        event_key: &str,
        delivery_id: &str,
        body: &[u8],
        timestamp: i64,
    ) -> Result<(), SendError> {
        let resp = self
            .client
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Mimamori-Timestamp", timestamp.to_string())
            .header(
                "X-Mimamori-Signature",
                sign(hook.secret.as_bytes(), timestamp, body),
            )
            .header("X-Mimamori-Event", event_key)
            .header("X-Mimamori-Delivery", delivery_id)
            .body(body.to_vec())
            .send()
            .await;
        match resp {
            // The URL is the contact's address: never in a message.
            Err(e) => Err(SendError::Transient(e.without_url().to_string())),
            Ok(r) => {
                let s = r.status();
                if s.is_success() {
                    Ok(())
                } else if s.as_u16() == 408 || s.as_u16() == 429 || s.is_server_error() {
                    Err(SendError::Transient(format!("HTTP {}", s.as_u16())))
                } else {
                    Err(SendError::Permanent(format!("HTTP {}", s.as_u16())))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_key_the_body_and_in_time() {
        let sig = sign(b"k", 1000, b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify(b"k", 1000, b"{\"a\":1}", &sig, 1100, 300));
        assert!(!verify(b"other", 1000, b"{\"a\":1}", &sig, 1100, 300));
        assert!(!verify(b"k", 1000, b"{\"a\":2}", &sig, 1100, 300));
        assert!(!verify(b"k", 1001, b"{\"a\":1}", &sig, 1100, 300));
        assert!(
            !verify(b"k", 1000, b"{\"a\":1}", &sig, 1400, 300),
            "replayed too late"
        );
        // RFC 4231 test case 2, to know the construction is plain HMAC-SHA256.
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let tag = hmac::sign(&key, b"what do ya want for nothing?");
        assert_eq!(
            tag.as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
