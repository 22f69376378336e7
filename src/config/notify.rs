//! `notify:`: telling the customers' registered contacts (issue 24, seed §4:
//! a failure posted on the web site or sent by e-mail within one hour). The
//! section is optional; without it `mimamori status` sends nothing. What is
//! sent and to whom is `crate::notify`; this file is the settings only.

use std::path::PathBuf;

use serde::Deserialize;

use super::*;

/// The `notify:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// CSV or YAML file of the registered contacts (relative to the config file).
    pub contacts: PathBuf,
    /// An incident is told only after it has lasted this long (default 5m).
    #[serde(default = "default_confirm_after")]
    pub confirm_after: Dur,
    /// A maintenance window is recalled this long before it starts (default 1d).
    #[serde(default = "default_maintenance_reminder")]
    pub maintenance_reminder: Dur,
    /// The SQLite outbox and delivery log (relative to the config file).
    pub outbox: PathBuf,
    /// E-mail over SMTP; without it no e-mail is sent.
    #[serde(default)]
    pub smtp: Option<Smtp>,
    /// Webhook requests.
    #[serde(default)]
    pub webhook: WebhookSettings,
    /// Retries of transient failures.
    #[serde(default)]
    pub retry: Retry,
    /// How long the sending replica's lease lasts without renewal (default 60s).
    #[serde(default = "default_lease")]
    pub lease: Dur,
    /// Notices sent at once (default 8).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required), port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS), port 465 by default.
    Tls,
}

/// The SMTP server notices are submitted to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Host name (also the name its certificate is verified against).
    pub host: String,
    /// Port (default 587 with STARTTLS, 465 with TLS).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` or `tls`; TLS 1.2 or newer, certificate verified, always.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// PEM file of extra CA certificates trusted beside the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// User name for AUTH (`${secret:…}` or `${env:…}` allowed).
    #[serde(default)]
    pub username: Option<Template>,
    /// Password for AUTH: `${secret:NAME}`.
    #[serde(default)]
    pub password: Option<Template>,
    /// The sender, e.g. `AOULU <noreply@aoulu.example.jp>`.
    pub from: String,
    /// `List-Unsubscribe` value (`mailto:` or `https:` URL); none when unset.
    #[serde(default)]
    pub list_unsubscribe: Option<String>,
    /// Deadline for one message (default 30s).
    #[serde(default = "default_smtp_timeout")]
    pub timeout: Dur,
}

impl Smtp {
    /// The port, from the security when not set.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        })
    }
}

/// Webhook requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Deadline for one request (default 10s).
    pub timeout: Dur,
    /// PEM file of extra CA certificates trusted beside the system roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout: Dur::secs(10),
            ca_file: None,
        }
    }
}

/// Retries of transient failures: exponential backoff from `initial`, at
/// most `max` apart, until `give_up_after` from the first attempt.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retry {
    /// First wait (default 30s).
    pub initial: Dur,
    /// Longest wait (default 10m).
    pub max: Dur,
    /// A notice still not delivered this long after it was queued is recorded as failed (default 1d).
    pub give_up_after: Dur,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            initial: Dur::secs(30),
            max: Dur::secs(600),
            give_up_after: Dur::secs(86_400),
        }
    }
}

fn default_confirm_after() -> Dur {
    Dur::secs(300)
}

fn default_maintenance_reminder() -> Dur {
    Dur::secs(86_400)
}

fn default_lease() -> Dur {
    Dur::secs(60)
}

fn default_concurrency() -> usize {
    8
}

fn default_smtp_timeout() -> Dur {
    Dur::secs(30)
}

impl Notify {
    /// A path of the section, relative to the configuration file's directory.
    pub fn resolve(&self, config_file: &str, p: &std::path::Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        std::path::Path::new(config_file)
            .parent()
            .map(|d| d.join(p))
            .unwrap_or_else(|| p.to_path_buf())
    }
}

impl Config {
    /// Cross-field rules of `notify:`.
    pub(super) fn validate_notify(&self, errs: &mut Vec<ConfigError>) {
        let Some(n) = &self.notify else {
            return;
        };
        let src = self.source.clone();
        let p = Path::root().key("notify");
        for (field, path) in [("contacts", &n.contacts), ("outbox", &n.outbox)] {
            if path.as_os_str().is_empty() {
                errs.push(src.error(&p.key(field), "must not be empty"));
            }
        }
        for (field, d) in [
            ("lease", n.lease),
            ("webhook.timeout", n.webhook.timeout),
            ("retry.initial", n.retry.initial),
            ("retry.max", n.retry.max),
            ("retry.give_up_after", n.retry.give_up_after),
        ] {
            if d.0.is_zero() {
                let mut fp = p.clone();
                for k in field.split('.') {
                    fp = fp.key(k);
                }
                errs.push(src.error(&fp, "must be greater than 0s"));
            }
        }
        if n.retry.max < n.retry.initial {
            errs.push(src.error(
                &p.key("retry").key("max"),
                format!(
                    "max {} is shorter than initial {}",
                    n.retry.max, n.retry.initial
                ),
            ));
        }
        let longest = n
            .smtp
            .as_ref()
            .map_or(n.webhook.timeout, |s| s.timeout.max(n.webhook.timeout));
        if n.lease <= longest {
            errs.push(src.error(
                &p.key("lease"),
                format!(
                    "lease {} must be longer than the longest send timeout ({longest}), or another replica could take over while a message is on its way",
                    n.lease
                ),
            ));
        }
        if n.concurrency == 0 {
            errs.push(src.error(&p.key("concurrency"), "must be at least 1"));
        }
        if let Some(s) = &n.smtp {
            let sp = p.key("smtp");
            if s.host.trim().is_empty() {
                errs.push(src.error(&sp.key("host"), "must not be empty"));
            }
            if s.port == Some(0) {
                errs.push(src.error(&sp.key("port"), "must not be 0"));
            }
            if s.timeout.0.is_zero() {
                errs.push(src.error(&sp.key("timeout"), "must be greater than 0s"));
            }
            if let Err(e) = s.from.parse::<lettre::message::Mailbox>() {
                errs.push(src.error(
                    &sp.key("from"),
                    format!("not a mailbox ({e}); e.g. 'AOULU <noreply@aoulu.example.jp>'"),
                ));
            }
            if let Some(u) = &s.list_unsubscribe {
                let ok = url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "mailto" | "https"));
                if !ok {
                    errs.push(src.error(
                        &sp.key("list_unsubscribe"),
                        "must be a mailto: or https: URL",
                    ));
                }
            }
            if s.password.is_some() != s.username.is_some() {
                errs.push(src.error(&sp, "set both 'username' and 'password', or neither"));
            }
            for (field, t, secret_only) in [
                ("username", &s.username, false),
                ("password", &s.password, true),
            ] {
                let Some(t) = t else { continue };
                for part in &t.parts {
                    match part {
                        Part::Secret(name) if !self.secrets.contains_key(name) => errs.push(
                            src.error(&sp.key(field), format!("unknown secret '{name}'")),
                        ),
                        Part::Var(v) => errs.push(src.error(
                            &sp.key(field),
                            format!("'${{{v}}}': only ${{secret:...}} and ${{env:...}} are allowed here"),
                        )),
                        Part::Text(_) | Part::Env { .. } if secret_only => errs.push(src.error(
                            &sp.key(field),
                            "write the password as ${secret:NAME}, never in the file",
                        )),
                        _ => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config;

    const BASE: &str = r#"secrets:
  smtp_password: {env: SMTP_PASSWORD}
services:
  - name: svc
    display_name: {ja: サービス, en: Service}
    transactions:
      - name: tx
        steps: [{name: get, url: 'https://example.invalid/'}]
notify:
  contacts: contacts.csv
  outbox: /var/lib/mimamori/outbox.sqlite
  smtp:
    host: smtp.example.jp
    from: AOULU <noreply@aoulu.example.jp>
    username: mimamori
    password: ${secret:smtp_password}
    list_unsubscribe: mailto:unsubscribe@aoulu.example.jp
"#;

    fn with(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from}");
        BASE.replace(from, to)
    }

    #[test]
    fn a_full_section_loads_with_its_defaults() {
        let cfg = config::parse(BASE, "t.yaml").unwrap();
        let n = cfg.notify.unwrap();
        assert_eq!(n.confirm_after.0.as_secs(), 300);
        assert_eq!(n.retry.give_up_after.0.as_secs(), 86_400);
        let s = n.smtp.unwrap();
        assert_eq!(s.port(), 587);
        assert_eq!(
            n.contacts,
            std::path::PathBuf::from("contacts.csv"),
            "kept as written, resolved against the file when used"
        );
        let again = config::parse(BASE, "/etc/mimamori/m.yaml").unwrap();
        let n = again.notify.unwrap();
        assert_eq!(
            n.resolve("/etc/mimamori/m.yaml", &n.contacts),
            std::path::PathBuf::from("/etc/mimamori/contacts.csv")
        );
    }

    #[test]
    fn bad_values_are_placed_in_the_file() {
        for (yaml, want) in [
            (
                with("password: ${secret:smtp_password}", "password: hunter2"),
                "t.yaml:16:5: notify.smtp.password: write the password as ${secret:NAME}, never in the file",
            ),
            (
                with("${secret:smtp_password}", "${secret:nope}"),
                "t.yaml:16:5: notify.smtp.password: unknown secret 'nope'",
            ),
            (
                with("from: AOULU <noreply@aoulu.example.jp>", "from: nobody"),
                "t.yaml:14:5: notify.smtp.from: not a mailbox",
            ),
            (
                with("mailto:unsubscribe@aoulu.example.jp", "http://x.example/"),
                "t.yaml:17:5: notify.smtp.list_unsubscribe: must be a mailto: or https: URL",
            ),
            (
                with("  outbox:", "  retry: {initial: 1m, max: 10s}\n  outbox:"),
                "t.yaml:11:24: notify.retry.max: max 10s is shorter than initial 1m",
            ),
            (
                with("    host: smtp.example.jp\n", "    host: smtp.example.jp\n    security: ssl\n"),
                "t.yaml:14:15: notify.smtp.security: unknown variant `ssl`, expected `starttls` or `tls`",
            ),
            (
                with("  outbox:", "  lease: 30s\n  outbox:"),
                "t.yaml:11:3: notify.lease: lease 30s must be longer than the longest send timeout (30s)",
            ),
            (
                with("  contacts: contacts.csv\n", ""),
                "t.yaml:10:3: notify: missing field `contacts`",
            ),
        ] {
            let err = config::parse(&yaml, "t.yaml").unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}\nwanted {want}\ngot {err}");
        }
    }
}
