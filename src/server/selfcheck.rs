//! Self-checks: is this prober able to see anything at all?
//!
//! Every `self_check.interval` the prober checks its location's self-check
//! targets (endpoints outside the probed services: public resolvers, the
//! location's gateway, well-known sites). Only configured targets are ever
//! contacted. When every one of them fails, the prober is *blind*:
//! `mimamori_prober_healthy` drops to 0 and the rules treat its results as
//! unknown (`promql::probe_success_seen`). It counts as healthy again only
//! after the targets have passed for the longest transaction interval plus
//! its timeout, so results of runs that straddled the blind period are not
//! counted either.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{Config, SelfCheckTarget};
use crate::probe::ProbeContext;

use super::App;

/// The blind/healthy state of one prober, fed one round of checks at a time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// Unix seconds when it turned blind; `None` while healthy.
    blind_since: Option<f64>,
    /// While blind: since when every round had a passing target.
    passing_since: Option<Instant>,
}

impl Health {
    /// Takes one round: `all_failed` is true when every target failed (false
    /// without targets). `hold` is how long the targets must pass before
    /// the prober counts as healthy again. Returns whether it is healthy.
    pub fn observe(
        &mut self,
        all_failed: bool,
        now: Instant,
        unix_now: f64,
        hold: Duration,
    ) -> bool {
        if all_failed {
            self.passing_since = None;
            self.blind_since.get_or_insert(unix_now);
        } else if self.blind_since.is_some() {
            let since = *self.passing_since.get_or_insert(now);
            if now.duration_since(since) >= hold {
                *self = Health::default();
            }
        }
        self.blind_since.is_none()
    }

    /// Unix seconds when the prober turned blind; `None` while healthy.
    pub fn blind_since(&self) -> Option<f64> {
        self.blind_since
    }
}

/// How long the targets must pass again: the longest transaction interval
/// plus its timeout, so no run that started while blind is counted.
pub fn recovery_hold(cfg: &Config) -> Duration {
    let g = &cfg.global;
    cfg.services
        .iter()
        .flat_map(|s| &s.transactions)
        .map(|t| t.interval.unwrap_or(g.interval).0 + t.timeout.unwrap_or(g.timeout).0)
        .max()
        .unwrap_or(g.interval.0 + g.timeout.0)
}

/// The client for URL targets: redirects not followed, the self-check
/// timeout, the probes' TLS roots (`global.ca_file` included).
pub fn client(
    timeout: Duration,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Option<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("mimamori-self-check/", env!("CARGO_PKG_VERSION")));
    if let Some(tls) = tls {
        b = b.use_preconfigured_tls((**tls).clone());
    }
    b.build().ok()
}

/// Checks one target within `timeout`: a TCP connection, or an HTTP(S)
/// request with `client` answered with an accepted status.
pub async fn check(
    target: &SelfCheckTarget,
    timeout: Duration,
    client: Option<&reqwest::Client>,
) -> bool {
    let work = async {
        if let Some(addr) = &target.tcp {
            return tokio::net::TcpStream::connect(addr.as_str()).await.is_ok();
        }
        let (Some(url), Some(client)) = (&target.url, client) else {
            return false;
        };
        match client.get(url.as_str()).send().await {
            Ok(r) => {
                let code = r.status().as_u16();
                target.status.iter().any(|s| s.contains(code))
            }
            Err(e) => {
                // Without the URL: it may carry user information.
                tracing::debug!(target = %target.name, "self-check failed: {}", e.without_url());
                false
            }
        }
    };
    tokio::time::timeout(timeout, work).await.unwrap_or(false)
}

/// Runs the self-checks of `app` until it is dropped or stopped.
pub async fn run(app: Weak<App>, ctx: Arc<ProbeContext>) {
    let mut health = Health::default();
    let mut was_healthy = true;
    // Kept while the TLS roots and the timeout stay (`tls_config` hands out
    // the same `Arc` while the CA files are unchanged).
    let mut http: Option<(Option<Arc<rustls::ClientConfig>>, Duration, reqwest::Client)> = None;
    loop {
        let Some(a) = app.upgrade() else { return };
        let cfg = a.config();
        let location = a.location();
        let metrics = a.metrics.clone();
        drop(a);
        let sc = &cfg.self_check;
        let targets = sc.targets_of(&location);
        let client = if targets.iter().any(|t| t.url.is_some()) {
            let ca: Vec<_> = cfg.global.ca_file.iter().cloned().collect();
            let tls = ctx.tls_config(&ca).ok();
            // The kept client holds its roots' `Arc`, so equal pointers are the same roots.
            let kept = http.as_ref().is_some_and(|(t, d, _)| {
                *d == sc.timeout.0 && t.as_ref().map(Arc::as_ptr) == tls.as_ref().map(Arc::as_ptr)
            });
            if !kept {
                http = client(sc.timeout.0, tls.as_ref()).map(|c| (tls, sc.timeout.0, c));
            }
            http.as_ref().map(|(_, _, c)| c.clone())
        } else {
            None
        };
        let results = futures_util::future::join_all(
            targets
                .iter()
                .map(|t| check(t, sc.timeout.0, client.as_ref())),
        )
        .await;
        let all_failed = !results.is_empty() && results.iter().all(|ok| !ok);
        let healthy = health.observe(
            all_failed,
            Instant::now(),
            super::unix_now(),
            recovery_hold(&cfg),
        );
        if healthy != was_healthy {
            if healthy {
                tracing::info!(%location, "self-checks pass again: the prober's results count again");
            } else {
                tracing::warn!(%location, "every self-check target fails: this prober is blind, its results are unknown");
            }
        }
        metrics.set_self_checks(
            &location,
            &targets
                .iter()
                .zip(&results)
                .map(|(t, ok)| (t.name.to_string(), *ok))
                .collect::<Vec<_>>(),
        );
        metrics.set_prober_health(&location, healthy, health.blind_since().unwrap_or(0.0));
        was_healthy = healthy;
        tokio::time::sleep(sc.interval.0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn blind_only_when_every_target_fails_and_recovers_after_the_hold() {
        let hold = Duration::from_secs(40);
        let mut h = Health::default();
        let t0 = Instant::now();
        // Some target passes (or none is configured): healthy.
        assert!(h.observe(false, t0, 1000.0, hold));
        // Every target fails: blind, since that moment.
        assert!(!h.observe(true, t0, 1000.0, hold));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(!h.observe(true, Instant::now(), 1030.0, hold));
        assert_eq!(h.blind_since(), Some(1000.0));
        // Passing again is not enough until the hold has passed...
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(!h.observe(false, Instant::now(), 1060.0, hold));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(!h.observe(false, Instant::now(), 1090.0, hold));
        // ...and a failed round in between starts the hold again.
        assert!(!h.observe(true, Instant::now(), 1090.0, hold));
        assert_eq!(h.blind_since(), Some(1000.0));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(!h.observe(false, Instant::now(), 1120.0, hold));
        tokio::time::advance(Duration::from_secs(39)).await;
        assert!(!h.observe(false, Instant::now(), 1159.0, hold));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(h.observe(false, Instant::now(), 1160.0, hold));
        assert_eq!(h.blind_since(), None);
    }

    #[tokio::test]
    async fn checks_tcp_and_http_targets() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = |tcp: Option<String>, url: Option<String>| SelfCheckTarget {
            name: crate::config::LabelName::new("t").unwrap(),
            tcp,
            url,
            status: vec![crate::config::StatusSpec { lo: 200, hi: 399 }],
        };
        let t = Duration::from_secs(2);
        let http = client(t, None).expect("a client");
        assert!(check(&target(Some(addr.to_string()), None), t, Some(&http)).await);
        drop(listener);
        assert!(!check(&target(Some(addr.to_string()), None), t, Some(&http)).await);
        // Nothing listens there any more: the HTTP check fails too.
        assert!(
            !check(
                &target(None, Some(format!("http://{addr}/"))),
                t,
                Some(&http)
            )
            .await
        );
    }
}
