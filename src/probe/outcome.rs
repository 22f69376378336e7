//! What one run of a transaction produced. A failed probe is data, not an error.

use std::time::Duration;

use serde::Serialize;

/// Why a run failed: a closed set, so the `reason` label stays bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The host name did not resolve.
    Dns,
    /// No TCP connection (refused, unreachable, reset during connect).
    Connect,
    /// TLS handshake failed (certificate invalid, expired, wrong host, protocol).
    Tls,
    /// A step or the whole transaction ran past its deadline.
    Timeout,
    /// The status code was not one the step accepts.
    Status,
    /// A body, header or JSON assertion failed, or a capture found nothing.
    Assertion,
    /// The body was larger than `global.max_body_bytes`.
    BodyTooLarge,
    /// The peer broke HTTP: invalid response, connection closed mid-answer, oversized headers.
    Protocol,
    /// Too many redirects, or a redirect to a host the step does not allow.
    Redirect,
    /// mimamori itself failed (a bug); never the target's fault.
    Internal,
    /// Browser: the page did not open (DNS, connection, TLS, an error page
    /// of the browser itself).
    Navigation,
    /// Browser: an element or text the step waits for did not appear in time.
    SelectorTimeout,
    /// Browser: the page's script failed an action (e.g. an invalid selector).
    ScriptError,
    /// Browser: the step waited in vain after the page requested an origin
    /// that is not allowed (that request was blocked).
    BlockedRequest,
    /// Browser: the prober's Chromium crashed, could not start or stopped
    /// answering. The prober's fault: the run is unknown, never a failure
    /// of the service (`mimamori_probe_success` is withdrawn).
    Browser,
}

impl Reason {
    pub const ALL: [Reason; 15] = [
        Reason::Dns,
        Reason::Connect,
        Reason::Tls,
        Reason::Timeout,
        Reason::Status,
        Reason::Assertion,
        Reason::BodyTooLarge,
        Reason::Protocol,
        Reason::Redirect,
        Reason::Internal,
        Reason::Navigation,
        Reason::SelectorTimeout,
        Reason::ScriptError,
        Reason::BlockedRequest,
        Reason::Browser,
    ];

    /// The reasons an HTTP transaction's failure counter lists.
    pub const HTTP: [Reason; 10] = [
        Reason::Dns,
        Reason::Connect,
        Reason::Tls,
        Reason::Timeout,
        Reason::Status,
        Reason::Assertion,
        Reason::BodyTooLarge,
        Reason::Protocol,
        Reason::Redirect,
        Reason::Internal,
    ];

    /// The reasons a browser transaction's failure counter lists.
    pub const BROWSER: [Reason; 8] = [
        Reason::Navigation,
        Reason::SelectorTimeout,
        Reason::Assertion,
        Reason::ScriptError,
        Reason::BlockedRequest,
        Reason::Browser,
        Reason::Timeout,
        Reason::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Dns => "dns",
            Reason::Connect => "connect",
            Reason::Tls => "tls",
            Reason::Timeout => "timeout",
            Reason::Status => "status",
            Reason::Assertion => "assertion",
            Reason::BodyTooLarge => "body_too_large",
            Reason::Protocol => "protocol",
            Reason::Redirect => "redirect",
            Reason::Internal => "internal",
            Reason::Navigation => "navigation",
            Reason::SelectorTimeout => "selector_timeout",
            Reason::ScriptError => "script_error",
            Reason::BlockedRequest => "blocked_request",
            Reason::Browser => "browser",
        }
    }
}

/// Where the time of one step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Name resolution.
    Resolve,
    /// TCP connect.
    Connect,
    /// TLS handshake.
    Tls,
    /// Request sent until the response head arrived (the server's work).
    Processing,
    /// Reading the response body.
    Transfer,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Resolve,
        Phase::Connect,
        Phase::Tls,
        Phase::Processing,
        Phase::Transfer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Processing => "processing",
            Phase::Transfer => "transfer",
        }
    }
}

/// Seconds spent per phase, indexed like [`Phase::ALL`]. Redirect hops add up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases(pub [Duration; 5]);

impl Phases {
    pub fn add(&mut self, p: Phase, d: Duration) {
        self.0[p as usize] += d;
    }
    pub fn get(&self, p: Phase) -> Duration {
        self.0[p as usize]
    }
}

impl Serialize for Phases {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(5))?;
        for p in Phase::ALL {
            m.serialize_entry(p.as_str(), &self.get(p).as_secs_f64())?;
        }
        m.end()
    }
}

/// TLS facts of the connection a step used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsFacts {
    /// e.g. `TLSv1.3`.
    pub version: String,
    pub cipher: String,
    /// Earliest certificate expiry in the presented chain (Unix seconds).
    pub not_after: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub name: String,
    pub success: bool,
    pub status: Option<u16>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub phases: Phases,
    pub reason: Option<Reason>,
    /// Human-readable detail; secrets already masked.
    pub message: Option<String>,
    pub tls: Option<TlsFacts>,
    pub body_bytes: u64,
}

/// What a run produced. With retries, the fields up to `steps` are the
/// first attempt's: that is what the objective reads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub success: bool,
    pub reason: Option<Reason>,
    pub message: Option<String>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub steps: Vec<StepOutcome>,
    /// Attempts after a failed first one, in order; the last one decides
    /// [`Outcome::final_success`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<Attempt>,
    /// With `resolve: all`, the run against each address (each with its own
    /// retries); the fields above then sum them up for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<AddressOutcome>,
    /// What a browser transaction's run saw besides its steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<BrowserFacts>,
}

/// A browser run's page facts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BrowserFacts {
    /// Requests of the page to origins that are not allowed, blocked.
    pub blocked_requests: u64,
    /// Per step (in step order): the page's largest contentful paint in
    /// seconds from its navigation start, when the step navigated and
    /// Chromium reported one.
    pub largest_contentful_paint: Vec<Option<f64>>,
    /// Per step: seconds of long tasks (main-thread tasks over 50 ms) during the step.
    pub long_tasks: Vec<f64>,
    /// The screenshot kept of this failed run, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<std::path::PathBuf>,
}

/// One retry.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub success: bool,
    pub reason: Option<Reason>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

impl Outcome {
    /// After a failed first attempt, up to `retries` more `retry_delay` apart
    /// while they fail, each kept as evidence in `retries`. The outcome stays
    /// the first attempt's: only it counts for the objective.
    pub async fn retried<F, Fut>(
        mut self,
        retries: u32,
        retry_delay: Duration,
        mut again: F,
    ) -> Outcome
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Outcome>,
    {
        if self.success {
            return self;
        }
        for _ in 0..retries {
            tokio::time::sleep(retry_delay).await;
            let a = again().await;
            self.retries.push(Attempt {
                success: a.success,
                reason: a.reason,
                duration: a.duration,
            });
            if a.success {
                break;
            }
        }
        self
    }
}

/// A `resolve: all` run against one address.
#[derive(Debug, Clone, Serialize)]
pub struct AddressOutcome {
    pub ip: std::net::IpAddr,
    pub outcome: Outcome,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Outcome {
    /// A run that could not be carried out at all (e.g. the probe panicked).
    pub fn internal(message: impl Into<String>, duration: Duration) -> Self {
        Outcome {
            success: false,
            reason: Some(Reason::Internal),
            message: Some(message.into()),
            duration,
            ..Default::default()
        }
    }

    /// Whether the first attempt or, failing that, the last retry succeeded.
    pub fn final_success(&self) -> bool {
        self.success || self.retries.last().is_some_and(|a| a.success)
    }
}
