//! The outbox and delivery log: every notice owed to a contact, in SQLite, so
//! that a restart, an SMTP outage or a crash neither loses a notice nor sends
//! it again.
//!
//! One row per event × contact × channel (the idempotency key, the primary
//! key: an event derived again at every refresh is inserted once). A row goes
//! `pending` → `sending` (claimed by the replica holding the lease) →
//! `delivered` or `failed`, or back to `pending` with a later `next_at` after
//! a transient failure. A row is marked `sending` and committed before its
//! message leaves, and marked `delivered` and committed as soon as the server
//! accepted it: a crash between the two leaves it `sending`, and the next
//! lease holder sends it again. That window (the server's "accepted" to our
//! commit, a few milliseconds) is the only way a notice is sent twice, at most
//! once more per crash for each row then in flight (docs/notices.md,
//! "Storage").
//!
//! Several `mimamori status` replicas may share the file: the `lease` row says
//! which one sends (see [`Outbox::acquire_lease`]). The schema is migrated
//! with `PRAGMA user_version`; WAL lets readers (`report`) read while the
//! sender writes.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{Channel, Contact, Event, EventKind, Message};

/// The schema, one entry per version; `user_version` is how many have run.
/// Never edit an entry that shipped: add one.
const MIGRATIONS: &[&str] = &[
    // 1: events, deliveries, first appearances on the page, the sender's lease.
    "CREATE TABLE events (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        incident TEXT,
        services TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        enqueued_at INTEGER NOT NULL,
        ja_subject TEXT NOT NULL, ja_text TEXT NOT NULL, ja_html TEXT NOT NULL,
        en_subject TEXT NOT NULL, en_text TEXT NOT NULL, en_html TEXT NOT NULL,
        ics TEXT,
        json TEXT NOT NULL
    );
    CREATE INDEX events_occurred ON events(occurred_at);
    CREATE INDEX events_incident ON events(incident);
    CREATE TABLE deliveries (
        event_key TEXT NOT NULL REFERENCES events(key),
        contact TEXT NOT NULL,
        channel TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        sends INTEGER NOT NULL DEFAULT 0,
        enqueued_at INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        sender TEXT,
        sending_since INTEGER,
        delivered_at INTEGER,
        failed_at INTEGER,
        error TEXT,
        PRIMARY KEY (event_key, contact, channel)
    );
    CREATE INDEX deliveries_due ON deliveries(state, next_at);
    CREATE TABLE page_seen (
        incident TEXT NOT NULL,
        service TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (incident, service)
    );
    CREATE TABLE lease (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );",
];

/// The outbox's schema version this build writes and reads.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// How an event was delivered on one channel, over all its contacts (for `report`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub event_key: String,
    pub kind: EventKind,
    pub incident: Option<String>,
    pub services: Vec<String>,
    pub occurred_at: i64,
    pub channel: Channel,
    /// When the first contact's notice was accepted on this channel.
    pub first_delivered_at: Option<i64>,
    pub delivered: u32,
    pub failed: u32,
    pub pending: u32,
}

/// When an incident first appeared on the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSeen {
    pub incident: String,
    pub service: String,
    pub started_at: i64,
    pub seen_at: i64,
}

/// One notice claimed for sending.
#[derive(Debug, Clone)]
pub struct Job {
    pub event_key: String,
    pub contact: String,
    pub channel: Channel,
    pub kind: EventKind,
    pub incident: Option<String>,
    pub occurred_at: i64,
    /// Attempts before this one.
    pub attempts: u32,
    pub enqueued_at: i64,
    pub ja: Message,
    pub en: Message,
    pub ics: Option<String>,
    pub json: String,
}

/// What the lease said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// This owner holds it until the expiry.
    pub held: bool,
    /// Rows another (expired) holder had claimed, put back to `pending` as
    /// this owner took the lease over: each may have been sent once already.
    pub recovered: usize,
}

/// The SQLite outbox and delivery log.
pub struct Outbox {
    conn: Mutex<Connection>,
}

impl Outbox {
    /// Opens (creating and migrating) the outbox at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Outbox> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the outbox directory {}", dir.display()))?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("opening the outbox {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL: `report` reads while the sender writes. NORMAL: a commit
        // survives the process being killed (the case that matters here);
        // a power loss may lose the last commits (docs/notices.md, "Storage").
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn).with_context(|| format!("migrating the outbox {}", path.display()))?;
        Ok(Outbox {
            conn: Mutex::new(conn),
        })
    }

    /// Opens an existing outbox for reading only (`report`); it must be of
    /// this build's schema version.
    pub fn open_read_only(path: &Path) -> anyhow::Result<Outbox> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening the outbox {} read-only", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .with_context(|| format!("reading the outbox {}", path.display()))?;
        if version != SCHEMA_VERSION {
            anyhow::bail!(
                "the outbox {} has schema version {version}, this mimamori reads {SCHEMA_VERSION}",
                path.display()
            );
        }
        Ok(Outbox {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half transaction
        // behind (rusqlite rolls back on drop), so the connection is usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues every event for every contact it concerns, once per event ×
    /// contact × channel (already queued ones are left alone); returns how
    /// many notices were new. A contact concerns an event when either lists
    /// no services or they share one; a contact gets a notice on each
    /// channel it has.
    pub fn enqueue(
        &self,
        events: &[Event],
        contacts: &[Contact],
        now: i64,
    ) -> anyhow::Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut added = 0;
        {
            let mut ins_event = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (key, kind, incident, services, occurred_at, enqueued_at,
                     ja_subject, ja_text, ja_html, en_subject, en_text, en_html, ics, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?;
            let mut ins_delivery = tx.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (event_key, contact, channel, enqueued_at, next_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )?;
            for ev in events {
                ins_event.execute(params![
                    ev.key,
                    kind_str(ev.kind),
                    ev.incident,
                    serde_json::to_string(&ev.services)?,
                    ev.occurred_at,
                    now,
                    ev.ja.subject,
                    ev.ja.text,
                    ev.ja.html,
                    ev.en.subject,
                    ev.en.text,
                    ev.en.html,
                    ev.ics,
                    serde_json::to_string(&ev.json)?,
                ])?;
                for c in contacts.iter().filter(|c| concerns(c, ev)) {
                    for ch in channels(c) {
                        added += ins_delivery.execute(params![ev.key, c.id, ch.as_str(), now])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Records when an incident first appeared on the page (later calls for
    /// the same incident and service keep the first time).
    pub fn record_page_seen(
        &self,
        incident: &str,
        service: &str,
        started_at: i64,
        seen_at: i64,
    ) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO page_seen (incident, service, started_at, seen_at) VALUES (?1, ?2, ?3, ?4)",
            params![incident, service, started_at, seen_at],
        )?;
        Ok(())
    }

    /// Takes or renews the sender's lease for `owner` until `now + ttl`; it is
    /// taken from another owner only once that one's expiry has passed. On a
    /// take-over, the rows the previous holder left `sending` go back to
    /// `pending` (they may have left already: the documented duplicate).
    /// `gone` says of another owner that it is known to have ended (a process
    /// of this host that no longer runs): its lease is then taken at once.
    pub fn acquire_lease(
        &self,
        owner: &str,
        now: i64,
        ttl: i64,
        gone: &dyn Fn(&str) -> bool,
    ) -> anyhow::Result<Lease> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: Option<(String, i64)> = tx
            .query_row(
                "SELECT owner, expires_at FROM lease WHERE name = 'sender'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let lease = match current {
            Some((o, expires)) if o != owner && expires > now && !gone(&o) => Lease {
                held: false,
                recovered: 0,
            },
            current => {
                tx.execute(
                    "INSERT INTO lease (name, owner, expires_at) VALUES ('sender', ?1, ?2)
                     ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
                    params![owner, now + ttl],
                )?;
                let taken_over = current.is_none_or(|(o, _)| o != owner);
                let recovered = if taken_over {
                    tx.execute(
                        "UPDATE deliveries SET state = 'pending', sender = NULL, sending_since = NULL
                         WHERE state = 'sending' AND (sender IS NULL OR sender != ?1)",
                        params![owner],
                    )?
                } else {
                    0
                };
                Lease {
                    held: true,
                    recovered,
                }
            }
        };
        tx.commit()?;
        Ok(lease)
    }

    /// Extends `owner`'s lease to `now + ttl` if it still holds it; whether it does.
    pub fn renew_lease(&self, owner: &str, now: i64, ttl: i64) -> anyhow::Result<bool> {
        let n = self.conn().execute(
            "UPDATE lease SET expires_at = max(expires_at, ?2) WHERE name = 'sender' AND owner = ?1",
            params![owner, now + ttl],
        )?;
        Ok(n == 1)
    }

    /// Gives the lease up (a clean shutdown), so another replica need not wait for its expiry.
    pub fn release_lease(&self, owner: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "DELETE FROM lease WHERE name = 'sender' AND owner = ?1",
            params![owner],
        )?;
        Ok(())
    }

    /// Claims up to `limit` due notices for `owner` (marked `sending`, committed).
    pub fn claim_due(&self, owner: &str, now: i64, limit: usize) -> anyhow::Result<Vec<Job>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let jobs = {
            let mut q = tx.prepare_cached(
                "SELECT d.event_key, d.contact, d.channel, e.kind, e.incident, e.occurred_at,
                        d.attempts, d.enqueued_at,
                        e.ja_subject, e.ja_text, e.ja_html, e.en_subject, e.en_text, e.en_html,
                        e.ics, e.json
                 FROM deliveries d JOIN events e ON e.key = d.event_key
                 WHERE d.state = 'pending' AND d.next_at <= ?1
                 ORDER BY d.next_at, e.occurred_at, d.event_key, d.contact, d.channel
                 LIMIT ?2",
            )?;
            let rows = q.query_map(params![now, limit as i64], |r| {
                Ok(Job {
                    event_key: r.get(0)?,
                    contact: r.get(1)?,
                    channel: channel_from(&r.get::<_, String>(2)?),
                    kind: kind_from(&r.get::<_, String>(3)?),
                    incident: r.get(4)?,
                    occurred_at: r.get(5)?,
                    attempts: r.get(6)?,
                    enqueued_at: r.get(7)?,
                    ja: Message {
                        subject: r.get(8)?,
                        text: r.get(9)?,
                        html: r.get(10)?,
                    },
                    en: Message {
                        subject: r.get(11)?,
                        text: r.get(12)?,
                        html: r.get(13)?,
                    },
                    ics: r.get(14)?,
                    json: r.get(15)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        {
            let mut upd = tx.prepare_cached(
                "UPDATE deliveries SET state = 'sending', sender = ?4, sending_since = ?5, sends = sends + 1
                 WHERE event_key = ?1 AND contact = ?2 AND channel = ?3 AND state = 'pending'",
            )?;
            for j in &jobs {
                upd.execute(params![
                    j.event_key,
                    j.contact,
                    j.channel.as_str(),
                    owner,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(jobs)
    }

    /// Records a notice as delivered. Returns the incident's start when this
    /// is the first notice of that incident delivered on the channel (for the
    /// notice delay), `None` otherwise.
    pub fn mark_delivered(&self, owner: &str, job: &Job, now: i64) -> anyhow::Result<Option<i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET state = 'delivered', delivered_at = ?4, attempts = attempts + 1, error = NULL
             WHERE event_key = ?1 AND contact = ?2 AND channel = ?3 AND state = 'sending' AND sender = ?5",
            params![job.event_key, job.contact, job.channel.as_str(), now, owner],
        )?;
        let mut first = None;
        if let Some(incident) = &job.incident {
            let delivered: i64 = tx.query_row(
                "SELECT count(*) FROM deliveries d JOIN events e ON e.key = d.event_key
                 WHERE e.incident = ?1 AND d.channel = ?2 AND d.state = 'delivered'",
                params![incident, job.channel.as_str()],
                |r| r.get(0),
            )?;
            if delivered == 1 {
                let start: Option<i64> = tx.query_row(
                    "SELECT min(occurred_at) FROM events WHERE incident = ?1 AND kind = 'incident_started'",
                    params![incident],
                    |r| r.get(0),
                )?;
                first = Some(start.unwrap_or(job.occurred_at));
            }
        }
        tx.commit()?;
        Ok(first)
    }

    /// Puts a notice back for another attempt at `next_at` after a transient failure.
    pub fn mark_retry(
        &self,
        owner: &str,
        job: &Job,
        next_at: i64,
        error: &str,
    ) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE deliveries SET state = 'pending', attempts = attempts + 1, next_at = ?4, error = ?5,
                 sender = NULL, sending_since = NULL
             WHERE event_key = ?1 AND contact = ?2 AND channel = ?3 AND state = 'sending' AND sender = ?6",
            params![job.event_key, job.contact, job.channel.as_str(), next_at, error, owner],
        )?;
        Ok(())
    }

    /// Records a notice as failed for good (a permanent failure, or retried until `give_up_after`).
    pub fn mark_failed(&self, owner: &str, job: &Job, now: i64, error: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, failed_at = ?4, error = ?5
             WHERE event_key = ?1 AND contact = ?2 AND channel = ?3 AND state = 'sending' AND sender = ?6",
            params![job.event_key, job.contact, job.channel.as_str(), now, error, owner],
        )?;
        Ok(())
    }

    /// Notices not yet delivered nor failed, per channel.
    pub fn pending(&self) -> anyhow::Result<Vec<(Channel, u64)>> {
        let conn = self.conn();
        let mut q = conn.prepare_cached(
            "SELECT channel, count(*) FROM deliveries WHERE state IN ('pending', 'sending') GROUP BY channel",
        )?;
        let rows = q.query_map([], |r| {
            Ok((
                channel_from(&r.get::<_, String>(0)?),
                r.get::<_, i64>(1)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The incidents (of `incidents`) with at least one notice delivered on any channel.
    pub fn told(&self, incidents: &[&str]) -> anyhow::Result<HashSet<String>> {
        let conn = self.conn();
        let mut q = conn.prepare_cached(
            "SELECT 1 FROM deliveries d JOIN events e ON e.key = d.event_key
             WHERE e.incident = ?1 AND d.state = 'delivered' LIMIT 1",
        )?;
        let mut out = HashSet::new();
        for i in incidents {
            if q.exists(params![i])? {
                out.insert(i.to_string());
            }
        }
        Ok(out)
    }

    /// Per event and channel, how its notices went, for the events that
    /// occurred in `[from, to)`, oldest first.
    pub fn deliveries(&self, from: i64, to: i64) -> anyhow::Result<Vec<DeliveryRecord>> {
        let conn = self.conn();
        let mut q = conn.prepare_cached(
            "SELECT e.key, e.kind, e.incident, e.services, e.occurred_at, d.channel,
                    min(d.delivered_at),
                    sum(d.state = 'delivered'), sum(d.state = 'failed'),
                    sum(d.state IN ('pending', 'sending'))
             FROM events e JOIN deliveries d ON d.event_key = e.key
             WHERE e.occurred_at >= ?1 AND e.occurred_at < ?2
             GROUP BY e.key, d.channel
             ORDER BY e.occurred_at, e.key, d.channel",
        )?;
        let rows = q.query_map(params![from, to], |r| {
            let services: String = r.get(3)?;
            Ok(DeliveryRecord {
                event_key: r.get(0)?,
                kind: kind_from(&r.get::<_, String>(1)?),
                incident: r.get(2)?,
                services: serde_json::from_str(&services).unwrap_or_default(),
                occurred_at: r.get(4)?,
                channel: channel_from(&r.get::<_, String>(5)?),
                first_delivered_at: r.get(6)?,
                delivered: r.get(7)?,
                failed: r.get(8)?,
                pending: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The incidents that started in `[from, to)` with when each first appeared on the page.
    pub fn page_seen(&self, from: i64, to: i64) -> anyhow::Result<Vec<PageSeen>> {
        let conn = self.conn();
        let mut q = conn.prepare_cached(
            "SELECT incident, service, started_at, seen_at FROM page_seen
             WHERE started_at >= ?1 AND started_at < ?2 ORDER BY started_at, incident, service",
        )?;
        let rows = q.query_map(params![from, to], |r| {
            Ok(PageSeen {
                incident: r.get(0)?,
                service: r.get(1)?,
                started_at: r.get(2)?,
                seen_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many times each notice was started, for the crash tests: `(sends, rows)`.
    pub fn send_counts(&self) -> anyhow::Result<Vec<(u32, u64)>> {
        let conn = self.conn();
        let mut q = conn.prepare_cached(
            "SELECT sends, count(*) FROM deliveries GROUP BY sends ORDER BY sends",
        )?;
        let rows = q.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Runs the migrations the file has not had, each in its own transaction.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "schema version {version} is newer than this mimamori's {SCHEMA_VERSION}; run a newer mimamori"
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > i {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Whether `ev` concerns contact `c`: either lists no services, or they share one.
fn concerns(c: &Contact, ev: &Event) -> bool {
    c.services.is_empty()
        || ev.services.is_empty()
        || ev.services.iter().any(|s| c.services.contains(s))
}

/// The channels a contact can be reached on.
fn channels(c: &Contact) -> impl Iterator<Item = Channel> {
    [
        c.email.is_some().then_some(Channel::Email),
        c.webhook.is_some().then_some(Channel::Webhook),
    ]
    .into_iter()
    .flatten()
}

fn kind_str(k: EventKind) -> &'static str {
    match k {
        EventKind::IncidentStarted => "incident_started",
        EventKind::IncidentUpdate => "incident_update",
        EventKind::IncidentResolved => "incident_resolved",
        EventKind::MaintenanceAnnounced => "maintenance_announced",
        EventKind::MaintenanceReminder => "maintenance_reminder",
        EventKind::Change => "change",
    }
}

fn kind_from(s: &str) -> EventKind {
    match s {
        "incident_started" => EventKind::IncidentStarted,
        "incident_update" => EventKind::IncidentUpdate,
        "incident_resolved" => EventKind::IncidentResolved,
        "maintenance_announced" => EventKind::MaintenanceAnnounced,
        "maintenance_reminder" => EventKind::MaintenanceReminder,
        _ => EventKind::Change,
    }
}

fn channel_from(s: &str) -> Channel {
    match s {
        "webhook" => Channel::Webhook,
        _ => Channel::Email,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::notify::{Lang, Webhook};

    pub fn event(key: &str, kind: EventKind, incident: Option<&str>, at: i64) -> Event {
        let msg = |l: &str| Message {
            subject: format!("{l} {key}"),
            text: format!("{l} text"),
            html: format!("<p>{l}</p>"),
        };
        Event {
            key: key.into(),
            kind,
            services: vec!["sales".into()],
            incident: incident.map(String::from),
            occurred_at: at,
            ja: msg("ja"),
            en: msg("en"),
            ics: None,
            json: serde_json::json!({"key": key}),
        }
    }

    pub fn contact(id: &str, services: &[&str], email: bool, webhook: bool) -> Contact {
        Contact {
            id: id.into(),
            services: services.iter().map(|s| s.to_string()).collect(),
            lang: Lang::Ja,
            email: email.then(|| format!("{id}@example.jp")),
            webhook: webhook.then(|| Webhook {
                url: "http://127.0.0.1:1/".into(),
                secret: "s".into(),
            }),
        }
    }

    #[test]
    fn enqueue_is_idempotent_per_event_contact_and_channel() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(&dir.path().join("o.sqlite")).unwrap();
        let evs = [event(
            "incident/a/started",
            EventKind::IncidentStarted,
            Some("a"),
            100,
        )];
        let cs = [
            contact("c1", &[], true, true),
            contact("c2", &["sales"], true, false),
            contact("c3", &["mail"], true, true),
        ];
        assert_eq!(ob.enqueue(&evs, &cs, 200).unwrap(), 3);
        assert_eq!(
            ob.enqueue(&evs, &cs, 230).unwrap(),
            0,
            "derived again: nothing new"
        );
        drop(ob);
        // Reopened (a restart): still queued once, still not new.
        let ob = Outbox::open(&dir.path().join("o.sqlite")).unwrap();
        assert_eq!(ob.enqueue(&evs, &cs, 260).unwrap(), 0);
        let mut pending = ob.pending().unwrap();
        pending.sort();
        assert_eq!(pending, [(Channel::Email, 2), (Channel::Webhook, 1)]);
    }

    #[test]
    fn a_claimed_row_is_sent_by_one_owner_and_recovered_on_take_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.sqlite");
        let a = Outbox::open(&path).unwrap();
        let b = Outbox::open(&path).unwrap();
        let evs = [event(
            "incident/a/started",
            EventKind::IncidentStarted,
            Some("a"),
            100,
        )];
        a.enqueue(&evs, &[contact("c1", &[], true, false)], 100)
            .unwrap();
        assert!(a.acquire_lease("A", 100, 60, &|_| false).unwrap().held);
        assert!(
            !b.acquire_lease("B", 130, 60, &|_| false).unwrap().held,
            "A's lease holds"
        );
        let jobs = a.claim_due("A", 130, 10).unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(
            a.claim_due("A", 130, 10).unwrap().is_empty(),
            "claimed once"
        );
        // A dies here (sent, not recorded). B takes over after the expiry.
        let lease = b.acquire_lease("B", 161, 60, &|_| false).unwrap();
        assert_eq!((lease.held, lease.recovered), (true, 1));
        assert!(!a.acquire_lease("A", 170, 60, &|_| false).unwrap().held);
        // A late record of A's does not count.
        assert_eq!(a.mark_delivered("A", &jobs[0], 171).unwrap(), None);
        let jobs = b.claim_due("B", 172, 10).unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(b.mark_delivered("B", &jobs[0], 173).unwrap(), Some(100));
        assert_eq!(b.send_counts().unwrap(), [(2, 1)]);
        let recs = b.deliveries(0, 1000).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(
            (
                recs[0].first_delivered_at,
                recs[0].delivered,
                recs[0].pending
            ),
            (Some(173), 1, 0)
        );
        assert!(b.told(&["a", "b"]).unwrap().contains("a"));
    }

    #[test]
    fn retries_wait_and_failures_stay_failed() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(&dir.path().join("o.sqlite")).unwrap();
        let evs = [event("change/x", EventKind::Change, None, 100)];
        ob.enqueue(&evs, &[contact("c1", &[], true, true)], 100)
            .unwrap();
        ob.acquire_lease("A", 100, 60, &|_| false).unwrap();
        let jobs = ob.claim_due("A", 100, 10).unwrap();
        assert_eq!(jobs.len(), 2);
        ob.mark_retry("A", &jobs[0], 160, "connection refused")
            .unwrap();
        ob.mark_failed("A", &jobs[1], 100, "HTTP 410").unwrap();
        assert!(
            ob.claim_due("A", 159, 10).unwrap().is_empty(),
            "not due yet"
        );
        let again = ob.claim_due("A", 160, 10).unwrap();
        assert_eq!((again.len(), again[0].attempts), (1, 1));
        let recs = ob.deliveries(0, 1000).unwrap();
        assert_eq!(recs.iter().map(|r| r.failed).sum::<u32>(), 1);
    }

    #[test]
    fn page_seen_keeps_the_first_time_and_read_only_opening_checks_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.sqlite");
        assert!(Outbox::open_read_only(&path).is_err(), "no file yet");
        let ob = Outbox::open(&path).unwrap();
        ob.record_page_seen("a", "sales", 100, 130).unwrap();
        ob.record_page_seen("a", "sales", 100, 160).unwrap();
        let ro = Outbox::open_read_only(&path).unwrap();
        assert_eq!(
            ro.page_seen(0, 1000).unwrap(),
            [PageSeen {
                incident: "a".into(),
                service: "sales".into(),
                started_at: 100,
                seen_at: 130
            }]
        );
        assert!(
            ro.record_page_seen("b", "sales", 1, 2).is_err(),
            "read-only"
        );
    }
}
