//! The delivery worker: queues the events for the contacts, and — on the one
//! replica holding the lease — sends what is due, records each result at
//! once, and retries transient failures with exponential backoff until
//! `notify.retry.give_up_after`.
//!
//! `mimamori status` runs it beside the page (see `crate::status`): at every
//! refresh the events derived from the new snapshot are queued, and between
//! refreshes a short tick sends what has become due (retries).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;

use super::email::{EmailSender, SendError};
use super::metrics::Metrics;
use super::outbox::{Job, Outbox};
use super::webhook::WebhookSender;
use super::{Channel, Contact, Event};
use crate::config::{Config, Retry};
use crate::status::snapshot::Snapshot;

/// The `secrets:` the notices may use, read for `mimamori status`: every
/// secret that can be read (contacts' webhook secrets may name any); one the
/// SMTP login names must be readable, the others are left out quietly (the
/// probes' secrets need not be on the status page's host).
pub fn load_secrets(
    cfg: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<HashMap<String, String>> {
    use crate::config::SecretSource;
    let needed: Vec<String> = cfg
        .notify
        .as_ref()
        .and_then(|n| n.smtp.as_ref())
        .map(|s| {
            [&s.username, &s.password]
                .into_iter()
                .flatten()
                .flat_map(|t| t.secrets().map(String::from).collect::<Vec<_>>())
                .collect()
        })
        .unwrap_or_default();
    let mut out = HashMap::new();
    for (name, src) in &cfg.secrets {
        let value = match src {
            SecretSource::Env(var) => {
                env(var).ok_or_else(|| format!("environment variable {var} is not set"))
            }
            SecretSource::File(file) => std::fs::read_to_string(file)
                .map(|v| v.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read {}: {e}", file.display())),
        };
        match value {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(m) if needed.contains(name) => {
                anyhow::bail!("secret '{name}' (notify.smtp): {m}")
            }
            Err(_) => {}
        }
    }
    Ok(out)
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Whether this replica held the lease (and so sent).
    pub held: bool,
    pub delivered: usize,
    pub failed: usize,
    pub retried: usize,
    /// Notices another replica (or this one before a crash) had claimed and
    /// that were put back: each may be sent a second time.
    pub recovered: usize,
}

/// The notifier of one `mimamori status` process.
pub struct Notifier {
    pub outbox: Arc<Outbox>,
    /// This process's lease owner id (host, pid and a random part).
    pub owner: String,
    email: Option<EmailSender>,
    webhook: WebhookSender,
    retry: Retry,
    lease_ttl: i64,
    concurrency: usize,
    pub metrics: Arc<Metrics>,
    /// The contacts read at the last refresh (what [`Notifier::run`] sends to).
    contacts: std::sync::RwLock<Arc<Vec<Contact>>>,
    /// Rung after a refresh queued something.
    wake: tokio::sync::Notify,
    /// How often [`Notifier::run`] looks for due retries between refreshes.
    tick: std::time::Duration,
    /// The contacts file, resolved, and the secrets its rows may name.
    contacts_file: std::path::PathBuf,
    secrets: HashMap<String, String>,
    /// Size and modification time of the contacts file at the last good read.
    contacts_stamp: std::sync::Mutex<Option<(u64, Option<std::time::SystemTime>)>>,
}

impl Notifier {
    /// The notifier for `cfg`'s `notify:` section (`None` without one);
    /// `secrets` are the loaded `secrets:` values.
    pub fn new(
        cfg: &Config,
        secrets: &HashMap<String, String>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Option<Notifier>> {
        let Some(n) = &cfg.notify else {
            return Ok(None);
        };
        let file = cfg.source.file.as_str();
        let outbox = Outbox::open(&n.resolve(file, &n.outbox))?;
        let email = match &n.smtp {
            Some(s) => Some(EmailSender::new(
                s,
                s.ca_file.as_ref().map(|p| n.resolve(file, p)).as_deref(),
                secrets,
                n.concurrency,
            )?),
            None => None,
        };
        let webhook = WebhookSender::new(
            n.webhook.timeout.0,
            n.webhook
                .ca_file
                .as_ref()
                .map(|p| n.resolve(file, p))
                .as_deref(),
        )?;
        for s in &cfg.services {
            metrics
                .unnotified
                .with_label_values(&[s.name.as_str()])
                .set(0.0);
        }
        Ok(Some(Notifier {
            outbox: Arc::new(outbox),
            owner: owner_id(),
            email,
            webhook,
            retry: n.retry.clone(),
            lease_ttl: n.lease.0.as_secs().max(1) as i64,
            concurrency: n.concurrency.max(1),
            metrics,
            contacts: std::sync::RwLock::new(Arc::new(Vec::new())),
            wake: tokio::sync::Notify::new(),
            contacts_file: n.resolve(file, &n.contacts),
            secrets: secrets.clone(),
            contacts_stamp: std::sync::Mutex::new(None),
            tick: n.retry.initial.0.clamp(
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(5),
            ),
        }))
    }

    /// Queues `events` for `contacts` (any replica may: the outbox keeps each
    /// notice once). Contacts' e-mail addresses are dropped when no SMTP
    /// server is configured, so nothing waits for a channel that cannot send.
    pub fn enqueue(
        &self,
        events: &[Event],
        contacts: &[Contact],
        now: i64,
    ) -> anyhow::Result<usize> {
        if self.email.is_some() {
            return self.outbox.enqueue(events, contacts, now);
        }
        let reachable: Vec<Contact> = contacts
            .iter()
            .map(|c| Contact {
                email: None,
                ..c.clone()
            })
            .collect();
        self.outbox.enqueue(events, &reachable, now)
    }

    /// Takes or renews the lease and, when held, sends every due notice
    /// (`now` is read again for each record). `contacts` are the current
    /// ones: a notice for a contact no longer registered (or no longer on
    /// that channel) fails permanently.
    pub async fn deliver(
        &self,
        contacts: &[Contact],
        now: &dyn Fn() -> i64,
    ) -> anyhow::Result<Round> {
        let mut round = Round::default();
        let lease = self
            .outbox
            .acquire_lease(&self.owner, now(), self.lease_ttl, &owner_gone)?;
        self.metrics.lease.set(lease.held as i64);
        round.held = lease.held;
        round.recovered = lease.recovered;
        if lease.recovered > 0 {
            tracing::warn!(
                notices = lease.recovered,
                "took over the notice sender's lease: notices another sender had in flight are sent again (at most once more each)"
            );
        }
        if !lease.held {
            self.update_pending()?;
            return Ok(round);
        }
        let by_id: HashMap<&str, &Contact> = contacts.iter().map(|c| (c.id.as_str(), c)).collect();
        let batch = self.concurrency * 4;
        loop {
            let jobs = self.outbox.claim_due(&self.owner, now(), batch)?;
            if jobs.is_empty() {
                break;
            }
            let results: Vec<anyhow::Result<Outcome>> = futures_util::stream::iter(jobs)
                .map(|job| self.send_and_record(job, &by_id, now))
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            let mut retried = 0;
            let claimed = results.len();
            for r in results {
                match r? {
                    Outcome::Delivered => round.delivered += 1,
                    Outcome::Failed => round.failed += 1,
                    Outcome::Retry => retried += 1,
                }
            }
            round.retried += retried;
            // Every notice of the batch failed for a passing reason (the
            // server down or unreachable): the rest waits for the next round
            // instead of each taking its timeout now.
            if retried == claimed {
                break;
            }
            // Keep the lease through a long batch; stop if it was lost.
            if !self
                .outbox
                .acquire_lease(&self.owner, now(), self.lease_ttl, &owner_gone)?
                .held
            {
                self.metrics.lease.set(0);
                round.held = false;
                break;
            }
        }
        self.update_pending()?;
        if round.delivered + round.failed + round.retried > 0 {
            tracing::info!(
                delivered = round.delivered,
                failed = round.failed,
                retried = round.retried,
                "notices sent"
            );
        }
        Ok(round)
    }

    /// Sends one notice and records the result at once (the shorter the time
    /// between the server's acceptance and this record, the smaller the
    /// window in which a crash causes a duplicate).
    async fn send_and_record(
        &self,
        job: Job,
        contacts: &HashMap<&str, &Contact>,
        now: &dyn Fn() -> i64,
    ) -> anyhow::Result<Outcome> {
        let result = self
            .send(&job, contacts.get(job.contact.as_str()).copied())
            .await;
        let at = now();
        // Renewed after every message, so a slow server cannot outlast the
        // lease mid-batch (one message's timeout must be shorter: checked
        // with the configuration).
        self.outbox.renew_lease(&self.owner, at, self.lease_ttl)?;
        let ch = [job.channel.as_str()];
        match result {
            Ok(()) => {
                if let Some(start) = self.outbox.mark_delivered(&self.owner, &job, at)? {
                    self.metrics
                        .delay
                        .with_label_values(&ch)
                        .observe((at - start).max(0) as f64);
                }
                self.metrics.delivered.with_label_values(&ch).inc();
                Ok(Outcome::Delivered)
            }
            Err(SendError::Permanent(e)) => {
                tracing::warn!(event = %job.event_key, channel = ch[0], error = %e, "notice failed for good");
                self.outbox.mark_failed(&self.owner, &job, at, &e)?;
                self.metrics.failed.with_label_values(&ch).inc();
                Ok(Outcome::Failed)
            }
            Err(SendError::Transient(e)) => {
                let give_up = self.retry.give_up_after.0.as_secs() as i64;
                if at - job.enqueued_at >= give_up {
                    let e = format!("gave up after {} attempts: {e}", job.attempts + 1);
                    tracing::warn!(event = %job.event_key, channel = ch[0], error = %e, "notice failed for good");
                    self.outbox.mark_failed(&self.owner, &job, at, &e)?;
                    self.metrics.failed.with_label_values(&ch).inc();
                    Ok(Outcome::Failed)
                } else {
                    let wait = backoff(&self.retry, job.attempts);
                    tracing::info!(event = %job.event_key, channel = ch[0], error = %e, retry_in = wait, "notice will be retried");
                    self.outbox.mark_retry(&self.owner, &job, at + wait, &e)?;
                    Ok(Outcome::Retry)
                }
            }
        }
    }

    /// One attempt. The Date header and the webhook's timestamp are the
    /// real time (what the receiver's clock is compared with), not the
    /// page's `--now`.
    async fn send(&self, job: &Job, contact: Option<&Contact>) -> Result<(), SendError> {
        let now = crate::clock::now().timestamp();
        let gone =
            || SendError::Permanent("the contact is no longer registered on this channel".into());
        let contact = contact.ok_or_else(gone)?;
        match job.channel {
            Channel::Email => {
                let (Some(email), Some(to)) = (&self.email, &contact.email) else {
                    return Err(gone());
                };
                let msg = email.message(job, to, contact.lang, now)?;
                email.send(msg).await
            }
            Channel::Webhook => {
                let hook = contact.webhook.as_ref().ok_or_else(gone)?;
                let body = webhook_body(job, contact);
                self.webhook
                    .send(
                        hook,
                        &job.event_key,
                        &delivery_id(job),
                        body.as_bytes(),
                        now,
                    )
                    .await
            }
        }
    }

    /// Sets the pending gauge from the outbox.
    fn update_pending(&self) -> anyhow::Result<()> {
        let counts = self.outbox.pending()?;
        for ch in [Channel::Email, Channel::Webhook] {
            let n = counts.iter().find(|(c, _)| *c == ch).map_or(0, |(_, n)| *n);
            self.metrics
                .pending
                .with_label_values(&[ch.as_str()])
                .set(n as i64);
        }
        Ok(())
    }

    /// Sets the gauges of the contacts read.
    pub fn set_contacts(&self, accepted: usize, rejected: usize) {
        self.metrics
            .contacts
            .with_label_values(&["accepted"])
            .set(accepted as i64);
        self.metrics
            .contacts
            .with_label_values(&["rejected"])
            .set(rejected as i64);
    }

    /// Sets, per service, the age of the oldest ongoing incident no notice
    /// of which was delivered yet; `ongoing` is `(service, incident, start)`.
    pub fn set_unnotified(
        &self,
        services: &[String],
        ongoing: &[(String, String, i64)],
        now: i64,
    ) -> anyhow::Result<()> {
        let ids: Vec<&str> = ongoing.iter().map(|(_, i, _)| i.as_str()).collect();
        let told = self.outbox.told(&ids)?;
        for s in services {
            let oldest = ongoing
                .iter()
                .filter(|(svc, i, _)| svc == s && !told.contains(i))
                .map(|(_, _, start)| *start)
                .min();
            let age = oldest.map_or(0, |start| (now - start).max(0));
            self.metrics
                .unnotified
                .with_label_values(&[s])
                .set(age as f64);
        }
        Ok(())
    }

    /// At every refresh of the page: reads the contacts file again if it
    /// changed, queues the events due now ([`crate::notify::events::derive`],
    /// the page's own incidents, windows and notices), records when incidents
    /// first appear on the page, sets the gauges and wakes [`Notifier::run`].
    pub fn refresh(&self, snap: &Snapshot, cfg: &Config, base_url: &str, now: i64) {
        let services: Vec<String> = cfg.services.iter().map(|s| s.name.to_string()).collect();
        self.reload_contacts(&services);
        let contacts = self
            .contacts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let events = super::events::derive(snap, cfg, now, base_url);
        match self.enqueue(&events, &contacts, now) {
            Ok(0) => {}
            Ok(n) => tracing::info!(notices = n, events = events.len(), "notices queued"),
            Err(e) => tracing::warn!("notices: queueing: {e:#}"),
        }
        // A page saying 状況不明 shows no new incident, and claims none.
        if snap.fresh {
            let mut ongoing = Vec::new();
            for s in &snap.services {
                for i in &s.incidents {
                    // Shown now: ongoing, or ended within the hour (an
                    // incident over before a refresh saw it ongoing). Older
                    // ones, seen at a first start, did not appear now.
                    if i.ongoing || i.end.is_some_and(|e| now - e.0 < 3600) {
                        if let Err(e) = self
                            .outbox
                            .record_page_seen(&i.id, &s.service, i.start.0, now)
                        {
                            tracing::warn!(
                                "notices: recording an incident's first appearance: {e:#}"
                            );
                        }
                    }
                    if i.ongoing {
                        ongoing.push((s.service.clone(), i.id.clone(), i.start.0));
                    }
                }
            }
            if let Err(e) = self.set_unnotified(&services, &ongoing, now) {
                tracing::warn!("notices: reading the outbox: {e:#}");
            }
        }
        self.wake.notify_one();
    }

    /// Reads the contacts file when it changed (size or modification time)
    /// since the last read; rows left out are logged (file and line, never an
    /// address). An unreadable file keeps the contacts read last.
    fn reload_contacts(&self, services: &[String]) {
        let stamp = std::fs::metadata(&self.contacts_file)
            .ok()
            .map(|m| (m.len(), m.modified().ok()));
        let mut last = self
            .contacts_stamp
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if stamp.is_some() && *last == stamp {
            return;
        }
        match super::contacts::load_with_secrets(&self.contacts_file, services, &self.secrets) {
            Ok(c) => {
                for r in &c.rejected {
                    tracing::warn!("notices: contact left out: {r}");
                }
                tracing::info!(
                    accepted = c.contacts.len(),
                    rejected = c.rejected.len(),
                    "notices: contacts read"
                );
                self.set_contacts(c.contacts.len(), c.rejected.len());
                *self.contacts.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(c.contacts);
                *last = stamp;
            }
            Err(e) => {
                // Logged at every refresh until mended; tried again each time.
                tracing::warn!("notices: {e:#} (keeping the contacts read before)");
                *last = None;
            }
        }
    }

    /// Sends what is due, forever: after every refresh and every tick (for
    /// retries). An error (the outbox unreadable) is logged and tried again.
    pub async fn run(&self, now: &dyn Fn() -> i64) {
        loop {
            let contacts = self
                .contacts
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Err(e) = self.deliver(&contacts, now).await {
                tracing::warn!("notices: {e:#}");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    /// Gives the lease up (clean shutdown).
    pub fn release(&self) {
        if let Err(e) = self.outbox.release_lease(&self.owner) {
            tracing::warn!("releasing the notice sender's lease: {e:#}");
        }
    }
}

enum Outcome {
    Delivered,
    Failed,
    Retry,
}

/// The wait before attempt `attempts + 2`: `initial · 2^attempts`, at most
/// `max`, plus up to a tenth at random so retries of many notices spread.
pub fn backoff(retry: &Retry, attempts: u32) -> i64 {
    let initial = retry.initial.0.as_secs_f64();
    let base = (initial * 2f64.powi(attempts.min(30) as i32)).min(retry.max.0.as_secs_f64());
    let jitter = base * 0.1 * fastrand::f64();
    (base + jitter).ceil().max(1.0) as i64
}

/// The notice's id, the same on every attempt.
pub fn delivery_id(job: &Job) -> String {
    use ring::digest;
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in [&job.event_key, &job.contact, job.channel.as_str()] {
        ctx.update(part.as_bytes());
        ctx.update(b"\0");
    }
    ctx.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The webhook body: the event's JSON with the contact's language message.
fn webhook_body(job: &Job, contact: &Contact) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&job.json).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(m) = &mut v {
        let msg = match contact.lang {
            super::Lang::Ja => &job.ja,
            super::Lang::En => &job.en,
        };
        m.entry("delivery")
            .or_insert_with(|| delivery_id(job).into());
        m.entry("lang")
            .or_insert_with(|| serde_json::to_value(contact.lang).unwrap_or_default());
        m.entry("subject")
            .or_insert_with(|| msg.subject.clone().into());
        m.entry("text").or_insert_with(|| msg.text.clone().into());
    }
    v.to_string()
}

/// Whether lease owner `owner` (`host:pid:random`) was a process of this
/// host that has ended: a restarted `mimamori status` then resumes sending
/// at once instead of waiting for its predecessor's lease to expire.
fn owner_gone(owner: &str) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (Some(_), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    host == hostname() && !Path::new(&format!("/proc/{pid}")).exists()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}

/// `host:pid:random`, unique per process.
fn owner_id() -> String {
    format!(
        "{}:{}:{:08x}",
        hostname(),
        std::process::id(),
        fastrand::u32(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Dur;

    #[test]
    fn a_lease_of_an_ended_process_of_this_host_is_taken_at_once() {
        assert!(!owner_gone(&owner_id()), "this process runs");
        let host = hostname();
        assert!(owner_gone(&format!("{host}:4194304999:0000abcd")));
        assert!(!owner_gone("other-host:4194304999:0000abcd"), "cannot tell");
        assert!(!owner_gone("garbage"));
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let r = Retry {
            initial: Dur::secs(30),
            max: Dur::secs(600),
            give_up_after: Dur::secs(86_400),
        };
        let waits: Vec<i64> = (0..8).map(|a| backoff(&r, a)).collect();
        for (w, base) in waits.iter().zip([30, 60, 120, 240, 480, 600, 600, 600]) {
            assert!((base..=base + base / 10 + 1).contains(w), "{waits:?}");
        }
    }
}
