//! Notices to the customers' registered contacts (seed §4: a failure posted on
//! the web site or sent by e-mail within one hour; changes announced a month
//! ahead; planned outages notified in advance).
//!
//! The events come from the status page's own snapshot ([`crate::status::snapshot`]):
//! the same incident detection, maintenance windows and `notices:` as the page,
//! never a second computation. The parts:
//!
//! - what happened, as [`Event`]s with a stable [`Event::key`], derived from a
//!   snapshot and rendered in both languages;
//! - who is told: the registered [`Contact`]s, read from the file the provider
//!   exports from its customer system;
//! - the delivery: a persistent outbox keyed by event × contact × channel, so
//!   that a restart, an SMTP outage or a crash neither loses a notice nor sends
//!   it twice, and the channels (SMTP e-mail, signed webhooks).

pub mod contacts;
pub mod deliver;
pub mod email;
pub mod events;
pub mod metrics;
pub mod outbox;
pub mod render;
pub mod webhook;

use serde::Serialize;

/// The language a contact reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ja,
    En,
}

/// How a notice reaches a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    /// The value of the `channel` label and of the outbox's channel column.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

/// A webhook a contact registered, with the secret its requests are signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    /// Never printed: the `Debug` impl masks it.
    pub secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"<masked>")
            .finish()
    }
}

/// One registered customer contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Stable across exports (the customer system's id), part of the outbox key.
    pub id: String,
    /// The services this contact is told about; empty means every service.
    pub services: Vec<String>,
    pub lang: Lang,
    /// Never in metrics, logs or pages (counted or masked there).
    pub email: Option<String>,
    pub webhook: Option<Webhook>,
}

/// What an event tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An incident's first notice, once it has lasted the confirmation time.
    IncidentStarted,
    /// A `notices:` entry of kind `incident` attached to an incident.
    IncidentUpdate,
    /// The incident ended (with its duration).
    IncidentResolved,
    /// A maintenance window, when it is first announced.
    MaintenanceAnnounced,
    /// A maintenance window, a configured time before it starts.
    MaintenanceReminder,
    /// A `notices:` entry of kind `change`, at publication.
    Change,
}

/// One rendered message, in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Something the customers are told, ready to be sent to any contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Stable across restarts and replicas (derived from the incident, window
    /// or notice id and the kind), e.g. `incident/hanbai-20261202T0130/started`.
    /// With the contact id and the channel, the outbox's idempotency key.
    pub key: String,
    pub kind: EventKind,
    pub services: Vec<String>,
    /// The incident it belongs to (the status page's incident id), if any.
    pub incident: Option<String>,
    /// When what it tells of began, in Unix seconds (the incident's start, the
    /// notice's publication, the announcement): notice delays are measured from it.
    pub occurred_at: i64,
    pub ja: Message,
    pub en: Message,
    /// An iCalendar attachment (maintenance windows).
    pub ics: Option<String>,
    /// The event as the webhook body carries it.
    pub json: serde_json::Value,
}

impl Event {
    /// The message in a contact's language.
    pub fn message(&self, lang: Lang) -> &Message {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}
