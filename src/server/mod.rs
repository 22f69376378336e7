//! The exporter: owns the running configuration, the scheduler and the HTTP
//! endpoints (`/metrics`, `/-/healthy`, `/-/ready`, `/-/reload`).
//!
//! Nothing in a request can make the exporter contact a target: there is no
//! `?target=` parameter; only configured transactions are ever run.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::config::{self, Config, ConfigErrors, LabelName, Shard};
use crate::metrics::Metrics;
use crate::probe::policy::PolicyChecker;
use crate::probe::{plan, ProbeContext};
use crate::scheduler::{HttpRunner, Runner, Scheduler};
pub use body::Body;
pub use webconfig::{LiveWeb, Web};

mod body;
pub mod selfcheck;
pub mod webconfig;

/// Reads environment variables for `${env:...}` and secrets.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where the configuration comes from on reload.
pub enum ConfigSource {
    /// Re-read the file.
    File(PathBuf),
    /// Built in (the demo): reload re-applies it.
    Fixed(Box<Config>),
}

/// Extra routes mounted by the demo.
pub trait Extension: Send + Sync {
    /// Handles the request if it is one of the extension's routes.
    fn handle(&self, method: &Method, path: &str, query: &str) -> Option<Response<Body>>;
    /// Lines for the landing page.
    fn index(&self) -> String {
        String::new()
    }
}

/// Default listen address. 9732 is in the exporter range (9100–9999) and clear
/// of the common exporters, so mimamori can run beside blackbox_exporter (9115).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9732";

/// Scrapes of `/metrics` written at once; more get 503 and `Retry-After`.
/// Prometheus servers scrape one at a time each; this bounds the threads and
/// memory that clients which open many scrapes (and never read them) can take.
pub const MAX_SCRAPES: usize = 8;

/// The running exporter.
pub struct App {
    scrapes: Arc<tokio::sync::Semaphore>,
    pub metrics: Arc<Metrics>,
    config: RwLock<Arc<Config>>,
    scheduler: Mutex<Scheduler>,
    /// What this app's probes share (TLS settings, certificate expiry).
    ctx: Arc<ProbeContext>,
    source: ConfigSource,
    location_override: Option<String>,
    shard_override: Option<Shard>,
    env: EnvFn,
    extension: Option<Arc<dyn Extension>>,
    /// The self-check loop (see [`selfcheck`]), stopped with the app.
    self_check: Mutex<Option<tokio::task::AbortHandle>>,
    /// The backup checks (run by shard 0 only).
    backups: Mutex<crate::backup::Checks>,
}

fn unix_now() -> f64 {
    crate::clock::system_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// How to start an [`App`]: everything but the configuration itself.
pub struct AppOptions {
    /// Where reloads read the configuration.
    pub source: ConfigSource,
    /// `--location`: overrides `global.location`.
    pub location: Option<String>,
    /// `--shard`: overrides `global.shard`.
    pub shard: Option<Shard>,
    /// Reads environment variables for `${env:...}` and secrets.
    pub env: EnvFn,
    /// Extra routes (the demo's).
    pub extension: Option<Arc<dyn Extension>>,
    /// What runs a transaction; `None` is the HTTP engine.
    pub runner: Option<Arc<dyn Runner>>,
}

impl AppOptions {
    /// Options with the process environment and nothing extra.
    pub fn new(source: ConfigSource) -> Self {
        AppOptions {
            source,
            location: None,
            shard: None,
            env: Arc::new(|k| std::env::var(k).ok()),
            extension: None,
            runner: None,
        }
    }
}

impl App {
    /// Builds every plan and starts the scheduler. Must run inside a tokio
    /// runtime. Each app has a probe context of its own, so apps side by side
    /// share no state.
    pub fn start(cfg: Config, opts: AppOptions) -> Result<Arc<App>, ConfigErrors> {
        let AppOptions {
            source,
            location: location_override,
            shard: shard_override,
            env,
            extension,
            runner,
        } = opts;
        let ctx = ProbeContext::new();
        let runner = runner.unwrap_or_else(|| Arc::new(HttpRunner(ctx.clone())));
        let policy = PolicyChecker::new(ctx.clone());
        let (plans, shard, backup_plans) = plans_for(
            &ctx,
            &cfg,
            location_override.as_deref(),
            shard_override,
            &env,
        )?;
        let metrics = Arc::new(Metrics::new(&cfg.global.buckets));
        metrics.set_shard(shard);
        let mut backups = crate::backup::Checks::new(Arc::new(crate::backup::BackupMetrics::new(
            &metrics.registry,
        )));
        backups.apply(backup_plans);
        let runs_per_second: f64 = plans.iter().map(|p| 1.0 / p.interval.as_secs_f64()).sum();
        let threads = crate::scheduler::threads::configured(runs_per_second).unwrap_or(1);
        tracing::debug!(threads, runs_per_second, "probe threads");
        let mut scheduler =
            Scheduler::on_threads(metrics.clone(), runner.clone(), policy.clone(), threads)
                .unwrap_or_else(|e| {
                    tracing::warn!(
                        "could not start probe threads ({e}); probing on the main runtime"
                    );
                    Scheduler::new(metrics.clone(), runner, policy)
                });
        scheduler.apply(plans);
        metrics.reload_successful.set(1);
        metrics.reload_timestamp.set(unix_now());
        for w in cfg.warnings() {
            tracing::warn!("{w}");
        }
        metrics.set_prober_health(
            location_override
                .as_deref()
                .unwrap_or(cfg.global.location.as_str()),
            true,
            0.0,
        );
        let app = Arc::new(App {
            scrapes: Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPES)),
            metrics,
            config: RwLock::new(Arc::new(cfg)),
            scheduler: Mutex::new(scheduler),
            ctx,
            source,
            location_override,
            shard_override,
            env,
            extension,
            backups: Mutex::new(backups),
            self_check: Mutex::new(None),
        });
        let handle = tokio::spawn(selfcheck::run(Arc::downgrade(&app), app.ctx.clone()));
        *app.self_check.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.abort_handle());
        Ok(app)
    }

    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn location(&self) -> String {
        self.location_override
            .clone()
            .unwrap_or_else(|| self.config().global.location.to_string())
    }

    /// The shard this app runs: `--shard`, else `global.shard`.
    pub fn shard(&self) -> Shard {
        self.shard_override
            .unwrap_or_else(|| self.config().global.shard)
    }

    /// Loads the configuration again. On any error the running configuration
    /// stays in force and `mimamori_config_last_reload_successful` drops to 0.
    pub fn reload(&self) -> Result<(), ConfigErrors> {
        let result = (|| {
            let cfg = match &self.source {
                ConfigSource::File(p) => config::load(p)?,
                ConfigSource::Fixed(c) => (**c).clone(),
            };
            let (plans, shard, backup_plans) = plans_for(
                &self.ctx,
                &cfg,
                self.location_override.as_deref(),
                self.shard_override,
                &self.env,
            )?;
            Ok::<_, ConfigErrors>((cfg, plans, shard, backup_plans))
        })();
        match result {
            Ok((cfg, plans, shard, backup_plans)) => {
                if cfg.global.buckets != self.config().global.buckets {
                    tracing::warn!(
                        "global.buckets changed: the new buckets take effect at the next restart"
                    );
                }
                for w in cfg.warnings() {
                    tracing::warn!("{w}");
                }
                self.scheduler
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .apply(plans);
                self.backups
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .apply(backup_plans);
                *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(cfg);
                self.metrics.set_shard(shard);
                self.metrics.reload_successful.set(1);
                self.metrics.reload_timestamp.set(unix_now());
                tracing::info!("configuration reloaded");
                Ok(())
            }
            Err(e) => {
                self.metrics.reload_successful.set(0);
                tracing::error!("reload failed, keeping the running configuration:\n{e}");
                Err(e)
            }
        }
    }

    /// Sets `mimamori_maintenance_active` for this moment.
    fn update_maintenance(&self) {
        let cfg = self.config();
        let now = crate::clock::now();
        let active: Vec<(String, bool)> = cfg
            .services
            .iter()
            .map(|s| {
                let on = cfg.planned_windows().any(|w| {
                    w.services.iter().any(|n| *n == s.name) && w.start <= now && now < w.end
                });
                (s.name.to_string(), on)
            })
            .collect();
        self.metrics.set_maintenance(&self.location(), &active);
    }

    pub fn stop(&self) {
        if let Some(h) = self
            .self_check
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            h.abort();
        }
        self.backups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stop();
        self.scheduler
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stop();
    }

    /// Answers one request; usable without a socket (tests call it directly).
    pub fn respond(&self, method: &Method, path: &str, query: &str) -> Response<Body> {
        if let Some(ext) = &self.extension {
            if let Some(r) = ext.handle(method, path, query) {
                return r;
            }
        }
        match (method, path) {
            (&Method::GET, "/metrics") => {
                let Ok(permit) = self.scrapes.clone().try_acquire_owned() else {
                    let mut r = text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        format!("more than {MAX_SCRAPES} scrapes at once; try again\n"),
                    );
                    r.headers_mut().insert(
                        http::header::RETRY_AFTER,
                        http::HeaderValue::from_static("1"),
                    );
                    return r;
                };
                self.update_maintenance();
                let metrics = self.metrics.clone();
                Response::builder()
                    .status(StatusCode::OK)
                    .header(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )
                    .body(Body::stream(permit, move |send| {
                        metrics.render_chunked(body::CHUNK, send)
                    }))
                    .expect("static response is valid")
            }
            (&Method::GET, "/-/healthy") => text(StatusCode::OK, "text/plain", "Healthy\n".into()),
            (&Method::GET, "/-/ready") => text(StatusCode::OK, "text/plain", "Ready\n".into()),
            (&Method::POST, "/-/reload") | (&Method::PUT, "/-/reload") => match self.reload() {
                Ok(()) => text(StatusCode::OK, "text/plain", "reloaded\n".into()),
                Err(e) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    format!("reload failed; the running configuration is kept:\n{e}\n"),
                ),
            },
            (&Method::GET, "/") => text(StatusCode::OK, "text/html; charset=utf-8", self.index()),
            (_, "/metrics" | "/-/healthy" | "/-/ready" | "/-/reload" | "/") => text(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "method not allowed\n".into(),
            ),
            _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
        }
    }

    fn index(&self) -> String {
        let cfg = self.config();
        let mut rows = String::new();
        for s in &cfg.services {
            rows.push_str(&format!(
                "<li>{} / {} (<code>{}</code>): 稼働率目標 / availability {}%, 応答 {} 以内 / answers within {}</li>",
                html_escape(&s.display_name.ja),
                html_escape(&s.display_name.en),
                html_escape(&s.name),
                s.objectives.availability,
                s.objectives.latency.threshold,
                s.objectives.latency.threshold
            ));
        }
        let ext = self
            .extension
            .as_ref()
            .map(|e| e.index())
            .unwrap_or_default();
        format!(
            "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>mimamori 見守り</title></head><body>\
             <h1>mimamori 見守り</h1><p>合成トランザクション監視 / synthetic transaction monitoring — location <code>{}</code></p>\
             <ul>{rows}</ul><p><a href=\"/metrics\">/metrics</a> · <a href=\"/-/healthy\">/-/healthy</a> · <a href=\"/-/ready\">/-/ready</a></p>{ext}</body></html>\n",
            html_escape(&self.location())
        )
    }
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn text(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("static response is valid")
}

/// Serves the app on `listener` over plain HTTP until `shutdown` completes.
pub async fn serve_on(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    serve_on_with(
        listener,
        app,
        Arc::new(LiveWeb::fixed(Web::default())),
        shutdown,
    )
    .await
}

/// Serves the app on `listener` until `shutdown` completes, with the TLS,
/// basic authentication and headers of a `--web.config.file`: TLS as
/// configured when each connection opens, the rest as configured when each
/// request arrives.
pub async fn serve_on_with(
    listener: TcpListener,
    app: Arc<App>,
    web: Arc<LiveWeb>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let (app, web) = (app.clone(), web.clone());
                conns.spawn(async move {
                    match web.current().tls.clone() {
                        None => serve_connection(TokioIo::new(stream), app, web).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(webconfig::HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(tls)) => serve_connection(TokioIo::new(tls), app, web).await,
                                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    app.stop();
    // Let in-flight answers finish briefly, then close.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
}

async fn serve_connection<I>(io: I, app: Arc<App>, web: Arc<LiveWeb>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (app, web) = (app.clone(), web.current());
        async move {
            if !web.authorized(req.headers()).await {
                return Ok::<_, Infallible>(web.decorate(webconfig::unauthorized()));
            }
            let uri = req.uri();
            Ok(web.decorate(app.respond(req.method(), uri.path(), uri.query().unwrap_or(""))))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
}

/// Resolves on SIGINT or SIGTERM; SIGHUP reloads meanwhile.
pub async fn signals(app: Arc<App>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = hup.recv() => { let _ = app.reload(); }
        }
    }
    tracing::info!("shutting down");
}

/// What start and reload both build: the plans this prober runs, at its
/// location (`--location`, else `global.location`) and of its shard
/// (`--shard`, else `global.shard`), that shard, and its backup checks. The
/// secrets are read once here, for the transactions and the backups alike.
type Plans = (
    Vec<Arc<plan::TransactionPlan>>,
    Shard,
    Vec<Arc<crate::backup::BackupPlan>>,
);

/// See [`Plans`]. Every plan is built before the shard is picked, so each
/// shard refuses the same configurations.
fn plans_for(
    ctx: &ProbeContext,
    cfg: &Config,
    location_override: Option<&str>,
    shard_override: Option<Shard>,
    env: &EnvFn,
) -> Result<Plans, ConfigErrors> {
    let location = location_override.unwrap_or(cfg.global.location.as_str());
    let shard = shard_override.unwrap_or(cfg.global.shard);
    let secrets = config::load_secrets(cfg, env.as_ref());
    // A secret that cannot be read is an error of these plans.
    let mut plans = plan::build_in(ctx, cfg, location, env.as_ref(), &secrets)?;
    plans.retain(|p| shard.runs(&p.key.service, &p.key.transaction));
    let secrets = secrets.map_err(ConfigErrors)?;
    Ok((plans, shard, backup_plans_for(cfg, shard, &secrets)?))
}

/// The backup checks this prober runs: every configured one on shard 0 (of
/// any location), none on the other shards, so each backup is listed once
/// per location.
fn backup_plans_for(
    cfg: &Config,
    shard: Shard,
    secrets: &HashMap<String, String>,
) -> Result<Vec<Arc<crate::backup::BackupPlan>>, ConfigErrors> {
    let plans = crate::backup::plans(cfg, secrets)?;
    Ok(if shard.index() == 0 {
        plans
    } else {
        Vec::new()
    })
}

/// `mimamori serve`.
pub async fn serve(
    path: PathBuf,
    cfg: Config,
    listen: SocketAddr,
    location: Option<LabelName>,
    shard: Option<Shard>,
    web: LiveWeb,
) -> anyhow::Result<()> {
    let app = App::start(
        cfg,
        AppOptions {
            location: location.map(String::from),
            shard,
            ..AppOptions::new(ConfigSource::File(path))
        },
    )?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listen, location = %app.location(), shard = %app.shard(), scheme = web.scheme(), "serving /metrics");
    serve_on_with(listener, app.clone(), Arc::new(web), signals(app)).await;
    Ok(())
}

#[cfg(test)]
mod tests;
