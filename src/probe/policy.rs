//! The TLS policy, checked on its own slower schedule beside a transaction's
//! runs: whether each HTTPS origin still accepts a TLS 1.0/1.1 handshake, and
//! whether the service's plain-HTTP address is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::context::ProbeContext;
use super::http::{Outgoing, Session};
use super::outcome::{Phases, Reason};
use super::plan::{Addressing, TransactionPlan};
use super::tls::Legacy;

/// Legacy handshakes in flight at once per checker: thousands of transactions
/// start together, and each check holds a blocking thread.
const CHECKS_AT_ONCE: usize = 4;

/// Recent legacy-TLS verdicts per (host, port, server name, version, every
/// address, address family).
type Verdicts = HashMap<
    (
        String,
        u16,
        String,
        &'static str,
        bool,
        crate::config::IpProtocol,
    ),
    (Instant, bool),
>;

/// Owns what the policy loops of one app share: the bound on legacy
/// handshakes in flight, and recent verdicts, so that many transactions of
/// one server cost one handshake per version and interval.
pub struct PolicyChecker {
    ctx: Arc<ProbeContext>,
    checks: Semaphore,
    verdicts: Mutex<Verdicts>,
}

impl PolicyChecker {
    /// A checker whose plain-HTTP requests run in `ctx`.
    pub fn new(ctx: Arc<ProbeContext>) -> Arc<PolicyChecker> {
        Arc::new(PolicyChecker {
            ctx,
            checks: Semaphore::new(CHECKS_AT_ONCE),
            verdicts: Mutex::default(),
        })
    }
}

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Whether the origin first used by `step` accepted a `version` handshake.
    Legacy {
        step: &'a str,
        version: Legacy,
        accepted: bool,
    },
    /// Whether the service's plain-HTTP address refused service.
    PlainHttp { refused: bool },
}

impl PolicyChecker {
    /// Whether `host:port` accepts `version`, at the addresses the
    /// transaction would use ([`Addressing`]: the first one, or with
    /// `resolve: all` any of them: the customers who land there get the old
    /// protocol). A verdict from the last `fresh` (any transaction's)
    /// answers without resolving or a new handshake. `Err` when no address
    /// could be reached.
    async fn legacy(
        &self,
        (host, port, name): (&str, u16, &str),
        addressing: &Addressing,
        version: Legacy,
        fresh: Duration,
        timeout: Duration,
    ) -> Result<bool, String> {
        let _permit = self.checks.acquire().await;
        let key = (
            host.to_string(),
            port,
            name.to_string(),
            version.as_str(),
            addressing.every_address(),
            addressing.ip_protocol,
        );
        let cached = self
            .verdicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(at, _)| at.elapsed() < fresh)
            .map(|(_, b)| *b);
        if let Some(b) = cached {
            return Ok(b);
        }
        let mut verdict = Err(String::new());
        for ip in addresses(addressing, host, port, timeout).await? {
            let (h, n) = (ip.to_string(), name.to_string());
            let accepted = tokio::task::spawn_blocking(move || {
                super::tls::legacy_accepted(&h, port, &n, version, timeout)
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            match accepted {
                Ok(true) => {
                    tracing::debug!(%host, %ip, version = version.as_str(), "legacy TLS accepted");
                    verdict = Ok(true);
                    break;
                }
                Ok(false) => verdict = Ok(false),
                Err(e) if verdict.is_err() => verdict = Err(e),
                Err(_) => {}
            }
        }
        let accepted = verdict?;
        self.verdicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (Instant::now(), accepted));
        Ok(accepted)
    }
}

/// The addresses whose legacy handshakes are tried, resolved as the
/// transaction resolves (`global.hosts_file`, `ip_protocol`): the first one,
/// or with `resolve: all` every one (up to the same limit as the runs).
async fn addresses(
    a: &Addressing,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<std::net::IpAddr>, String> {
    let lookup = super::resolve::lookup(&a.hosts, host, port, a.ip_protocol);
    let ips = tokio::time::timeout(timeout, lookup)
        .await
        .map_err(|_| format!("resolving {host}: timeout {timeout:?} reached"))??;
    let n = if a.every_address() {
        crate::config::MAX_ADDRESSES
    } else {
        1
    };
    Ok(ips.into_iter().take(n).collect())
}

/// Checks the policy of `plan` after `first` and then every policy
/// interval, telling `report` each verdict. Never returns when there is
/// something to check.
pub async fn policy_loop(
    checker: Arc<PolicyChecker>,
    plan: Arc<TransactionPlan>,
    first: Duration,
    report: impl Fn(Verdict<'_>) + Send + Sync,
) {
    let policy = &plan.policy;
    if policy.legacy_targets.is_empty() && policy.plain_http_url.is_none() {
        return;
    }
    let timeout = plan.timeout.min(Duration::from_secs(10));
    tokio::time::sleep(first).await;
    loop {
        for (step, host, port, name) in &policy.legacy_targets {
            for version in Legacy::ALL {
                let fresh = policy.interval / 2;
                match checker
                    .legacy(
                        (host, *port, name),
                        &plan.addressing,
                        version,
                        fresh,
                        timeout,
                    )
                    .await
                {
                    Ok(accepted) => report(Verdict::Legacy {
                        step,
                        version,
                        accepted,
                    }),
                    Err(e) => {
                        tracing::debug!(service = %plan.key.service, %host, version = version.as_str(), "legacy TLS check inconclusive: {e}")
                    }
                }
            }
        }
        if let Some(url) = &policy.plain_http_url {
            // Boxed: the check's future is kilobytes, and every transaction's
            // loop task would otherwise carry that space while it sleeps.
            let check = plain_http_refused(&checker.ctx, url, plan.tls.clone(), timeout);
            if let Some(refused) = Box::pin(check).await {
                report(Verdict::PlainHttp { refused });
            }
        }
        tokio::time::sleep(policy.interval).await;
    }
}

/// Whether a plain-HTTP address refuses service: `Some(true)` when the
/// connection is refused, the port does not speak plain HTTP, or the answer is
/// a redirect to `https://`; `Some(false)` when content is served unencrypted;
/// `None` when the host does not resolve (nothing is known).
pub async fn plain_http_refused(
    ctx: &ProbeContext,
    url: &str,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Option<bool> {
    let mut session = Session::new(ctx, tls, None, 64 * 1024);
    let out = Outgoing {
        method: http::Method::GET,
        url: url.to_string(),
        headers: &[],
        body: None,
        user_agent: "mimamori",
    };
    let mut phases = Phases::default();
    match tokio::time::timeout(
        timeout,
        session.request(out, 1024 * 1024, None, &mut phases),
    )
    .await
    {
        Err(_) => Some(true),
        Ok(Err((Reason::Dns, _))) => None,
        Ok(Err(_)) => Some(true),
        Ok(Ok(resp)) => {
            let location = resp
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Some((300..400).contains(&resp.status) && location.starts_with("https://"))
        }
    }
}
