//! `mimamori status`: the public status page the SLO's notices need (seed §1, §4).
//!
//! A refresh loop asks Prometheus once per `--refresh` (never per visitor),
//! builds one [`snapshot::Snapshot`] with [`crate::slo`]'s definitions of failure,
//! maintenance and unknown time, and renders every page and feed from it
//! ([`render`]); the server ([`web`]) only hands out the rendered files. Nothing
//! is stored: incidents are derived from Prometheus, so a restart or a second
//! replica shows the same page. `--render DIR` writes the same files once.

pub mod api;
pub mod backups;
pub mod render;
pub mod snapshot;
pub mod time;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use tokio::time::Instant;

use crate::config::Config;
use crate::query::{Client, ClientOptions};
use crate::slo::{self, plan::ServicePlan};
use render::Site;
use snapshot::{Cache, ServiceData, Snapshot};

/// Default listen address: next to the exporter's 9732.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9733";

/// What `mimamori status` is asked for: its flags, parsed and checked by clap
/// (durations and `--now` arrive as values, not text).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The mimamori configuration: services, `maintenance:` and `notices:`.
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub prometheus: ClientOptions,
    /// Address to serve the page on.
    #[arg(long = "web.listen-address", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Public address of the page (e.g. https://status.example.jp/), for absolute links in the feeds.
    #[arg(long = "web.external-url", value_name = "URL", default_value = "")]
    pub external_url: String,
    /// How often Prometheus is asked (every visitor sees the same snapshot).
    #[arg(long, default_value = "30s", value_parser = crate::config::duration::parse)]
    pub refresh: Duration,
    /// Write the pages and feeds as static files into DIR once, and exit.
    #[arg(long, value_name = "DIR")]
    pub render: Option<PathBuf>,
    /// Evaluate as if it were this time (RFC 3339), moving on with the clock:
    /// for backfilled data and post-mortems.
    #[arg(long, hide = true, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<FixedOffset>>,
    /// The internal view for staff: also the backups (seed §6), marked
    /// internal and not indexed. Never serve it on the public address.
    #[arg(long)]
    pub internal: bool,
}

/// `--now`: an RFC 3339 time, e.g. 2026-12-02T10:30:00+09:00.
fn parse_time(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-12-02T10:30:00+09:00)"))
}

/// The clock the page is evaluated with.
#[derive(Debug, Clone, Copy)]
struct Clock {
    offset: i64,
    started: Instant,
}

impl Clock {
    fn now(&self) -> i64 {
        self.offset + self.started.elapsed().as_secs() as i64
    }
}

/// What the refresh loop needs.
struct Source {
    cfg: Config,
    plans: Vec<ServicePlan>,
    tz: Tz,
    client: Client,
    refresh: Duration,
    external_url: String,
    /// Data older than this (seconds) is not shown as a state.
    stale_after: i64,
    /// See [`Options::internal`].
    internal: bool,
}

impl Source {
    fn new(args: &Options) -> anyhow::Result<Source> {
        let slo::Context {
            cfg,
            plans,
            tz,
            client,
        } = slo::Context::load(&args.config, &args.prometheus, &[])
            .map_err(slo::LoadError::into_anyhow)?;
        let max_step = plans.iter().map(|p| p.round_seconds).max().unwrap_or(60) as i64;
        let refresh = args.refresh.max(Duration::from_secs(1));
        let stale_after = (2 * refresh.as_secs() as i64).max(2 * max_step);
        Ok(Source {
            cfg,
            plans,
            tz,
            client,
            refresh,
            external_url: args.external_url.clone(),
            stale_after,
            internal: args.internal,
        })
    }

    /// One refresh: a new snapshot, or the last good one marked unknown.
    ///
    /// A refresh of the served page gets one refresh interval (at least 5 s),
    /// so a slow Prometheus shows as unknown instead of stopping the page;
    /// what it fetched stays in the cache and the next refresh goes on from
    /// there (a first fill of 90 days may take a few). `--render` waits for
    /// the whole fill (each request still has the client's timeout).
    async fn refresh(
        &self,
        cache: &mut Cache,
        last: Option<&Snapshot>,
        now: i64,
        deadline: Option<Duration>,
    ) -> Snapshot {
        let started = Instant::now();
        let fetch = async {
            let data =
                snapshot::fetch(&self.client, &self.cfg, &self.plans, cache, now, self.tz).await?;
            let backups = if self.internal {
                Some(backups::fetch(&self.client, &self.cfg, now, self.tz).await?)
            } else {
                None
            };
            Ok::<_, crate::query::Error>((data, backups))
        };
        let fetched = match deadline {
            Some(d) => tokio::time::timeout(d, fetch).await,
            None => Ok(fetch.await),
        };
        tracing::debug!(
            seconds = started.elapsed().as_secs_f64(),
            queries = self.client.queries_sent(),
            "status refresh"
        );
        let error = match fetched {
            Ok(Ok((data, backups))) => {
                return snapshot::assemble(
                    &self.cfg,
                    &self.plans,
                    &data,
                    now,
                    self.tz,
                    self.stale_after,
                )
                .with_backups(backups)
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!(
                "Prometheus did not answer within {:?}",
                deadline.unwrap_or_default()
            ),
        };
        tracing::warn!("status refresh failed: {error}");
        let mut snap = match last {
            Some(s) => s.clone(),
            None => {
                let empty = vec![ServiceData::default(); self.plans.len()];
                let unknown = self
                    .internal
                    .then(|| backups::unknown(&self.cfg, now, self.tz));
                snapshot::assemble(&self.cfg, &self.plans, &empty, now, self.tz, 0)
                    .with_backups(unknown)
            }
        };
        snapshot::mark_unknown(&mut snap);
        snap.generated_at = time::Time(now, snap.generated_at.1);
        snap.error = Some(error);
        snap
    }

    fn site(&self, snap: &Snapshot) -> Site {
        render::site(snap, &self.external_url, self.refresh.as_secs())
    }
}

/// Entry point from the CLI.
pub fn run(args: Options) -> anyhow::Result<ExitCode> {
    let source = Source::new(&args)?;
    let offset = match args.now {
        Some(t) => t.timestamp(),
        None => crate::clock::now().timestamp(),
    };
    let clock = Clock {
        offset,
        started: Instant::now(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if let Some(dir) = &args.render {
        let snap = rt.block_on(source.refresh(&mut Cache::default(), None, clock.now(), None));
        write_site(&source.site(&snap), dir)?;
        return Ok(if snap.fresh {
            ExitCode::SUCCESS
        } else {
            eprintln!(
                "mimamori status: {}",
                snap.error.as_deref().unwrap_or("status unknown")
            );
            ExitCode::from(2)
        });
    }
    rt.block_on(serve(source, clock, args.listen))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a site as static files: `/` as `index.html`, `/en/` as `en/index.html`.
pub fn write_site(site: &Site, dir: &std::path::Path) -> anyhow::Result<()> {
    for (path, file) in site {
        let mut rel = path.trim_start_matches('/').to_string();
        if rel.is_empty() || rel.ends_with('/') {
            rel.push_str("index.html");
        }
        let target = dir.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, &file.body)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

async fn serve(source: Source, clock: Clock, listen: SocketAddr) -> anyhow::Result<()> {
    let mut cache = Cache::default();
    let deadline = Some(source.refresh.max(Duration::from_secs(5)));
    // The first fill reads up to 93 days; the page is not served before it,
    // so it gets longer than a refresh (a slow or busy Prometheus still
    // shows the page, as unknown, after 30 s).
    let first_deadline = Some(source.refresh.max(Duration::from_secs(30)));
    let first = source
        .refresh(&mut cache, None, clock.now(), first_deadline)
        .await;
    let site = Arc::new(RwLock::new(Arc::new(source.site(&first))));
    // The customer notices (`notify:`), sent beside the page (docs/notices.md).
    let metrics = Arc::new(crate::notify::metrics::Metrics::new());
    let notifier = match &source.cfg.notify {
        Some(_) => {
            let secrets =
                crate::notify::deliver::load_secrets(&source.cfg, &|v| std::env::var(v).ok())?;
            crate::notify::deliver::Notifier::new(&source.cfg, &secrets, metrics.clone())?
                .map(Arc::new)
        }
        None => None,
    };
    if let Some(n) = &notifier {
        n.refresh(&first, &source.cfg, &source.external_url, clock.now());
    }
    let registry = Arc::new(if notifier.is_some() {
        metrics.registry.clone()
    } else {
        prometheus::Registry::new()
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line for the address.
    println!("status page on http://{addr}/");
    tracing::info!(%addr, prometheus = source.client.url(), "serving the status page");
    let refresher = {
        let site = site.clone();
        let notifier = notifier.clone();
        async move {
            let mut last = first;
            let mut tick = tokio::time::interval(source.refresh);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                // On failure the last snapshot is shown as unknown, with its data time.
                let snap = source
                    .refresh(&mut cache, Some(&last), clock.now(), deadline)
                    .await;
                let rendered = Arc::new(source.site(&snap));
                *site.write().unwrap() = rendered;
                if let Some(n) = &notifier {
                    n.refresh(&snap, &source.cfg, &source.external_url, clock.now());
                }
                last = snap;
            }
        }
    };
    let sender = async {
        match &notifier {
            Some(n) => n.run(&|| clock.now()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = refresher => {}
        _ = sender => {}
        r = web::serve(listener, site, registry) => r?,
        _ = shutdown() => tracing::info!("shutting down"),
    }
    if let Some(n) = &notifier {
        n.release();
    }
    Ok(())
}

async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
