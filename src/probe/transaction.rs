//! Runs a transaction: its steps in order, variables and cookies carried from
//! one step to the next, every deadline enforced, every secret masked.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderValue;
use tokio::time::{timeout, Instant};

use super::assert::{self, Answer};
use super::context::ProbeContext;
use super::http::{Outgoing, Session};
use super::mask::Masker;
use super::outcome::{Outcome, Phases, Reason, StepOutcome};
use super::plan::{BodyPlan, StepPlan, TransactionPlan};
use crate::config::{JsonBody, Template};

/// The step in progress, kept outside the step's future so a deadline can
/// still report how far it got.
struct Current {
    index: usize,
    started: Instant,
    phases: Phases,
}

struct Run<'a> {
    plan: &'a TransactionPlan,
    vars: HashMap<String, String>,
    masker: Masker,
    steps: Vec<StepOutcome>,
    current: Option<Current>,
}

/// Runs the transaction: against one address (`resolve: first`) or against
/// every address of the first step's host at once (`resolve: all`), each
/// with its retries.
pub async fn run(plan: &TransactionPlan, ctx: &ProbeContext) -> Outcome {
    if !plan.addressing.every_address() {
        return attempts(plan, ctx, None).await;
    }
    let started = Instant::now();
    let a = &plan.addressing;
    // The first step's host, with the transaction's variables (a capture
    // cannot be known before the run).
    let mut vars = HashMap::new();
    for (k, t) in &plan.variables {
        let v = t.render(&vars, &plan.secrets);
        vars.insert(k.clone(), v);
    }
    let first = plan
        .steps
        .first()
        .map(|s| s.url.render(&vars, &plan.secrets));
    let origin = match first.as_deref().map(super::http::parse_url) {
        Some(Ok((o, _))) => o,
        _ => return attempts(plan, ctx, None).await,
    };
    let looking_up = Instant::now();
    let ips = match timeout(
        plan.timeout,
        super::resolve::lookup(&a.hosts, &origin.host, origin.port, a.ip_protocol),
    )
    .await
    {
        Ok(Ok(ips)) => ips,
        Ok(Err(m)) => return failed(Reason::Dns, plan.masker.mask(&m), started),
        Err(_) => {
            let m = format!(
                "resolving {}: timeout {:?} reached",
                origin.host, plan.timeout
            );
            return failed(Reason::Timeout, m, started);
        }
    };
    let lookup = looking_up.elapsed();
    let runs = ips
        .into_iter()
        .take(crate::config::MAX_ADDRESSES)
        .map(|ip| {
            let pin = (origin.host.clone(), ip);
            async move {
                let mut outcome = attempts(plan, ctx, Some(pin)).await;
                charge_lookup(&mut outcome, lookup);
                super::outcome::AddressOutcome { ip, outcome }
            }
        });
    let addresses = futures_util::future::join_all(runs).await;
    summarize(plan, addresses, started)
}

/// The one lookup of a `resolve: all` run is every address's: a customer
/// resolves the name too. It is the first step's `resolve` phase and part of
/// its duration and the run's, as with `resolve: first`.
fn charge_lookup(outcome: &mut Outcome, lookup: std::time::Duration) {
    outcome.duration += lookup;
    if let Some(first) = outcome.steps.first_mut() {
        first.duration += lookup;
        first.phases.add(super::outcome::Phase::Resolve, lookup);
    }
}

/// A run that failed before any address was tried.
fn failed(reason: Reason, message: String, started: Instant) -> Outcome {
    Outcome {
        success: false,
        reason: Some(reason),
        message: Some(message),
        duration: started.elapsed(),
        ..Default::default()
    }
}

/// Sums up a `resolve: all` run for people (`mimamori probe`, logs): it
/// fails as `fail_when` says, and tells the first failing address.
fn summarize(
    plan: &TransactionPlan,
    addresses: Vec<super::outcome::AddressOutcome>,
    started: Instant,
) -> Outcome {
    use crate::config::FailWhen;
    let ok = |a: &&super::outcome::AddressOutcome| a.outcome.success;
    let success = match plan.addressing.fail_when {
        FailWhen::AnyAddress => addresses.iter().all(|a| a.outcome.success),
        FailWhen::AllAddresses => addresses.iter().any(|a| a.outcome.success),
    };
    let shown = addresses
        .iter()
        .find(|a| !a.outcome.success)
        .or_else(|| addresses.iter().find(ok));
    let (reason, message, steps) = match shown {
        Some(a) if !a.outcome.success => (
            a.outcome.reason,
            a.outcome.message.as_ref().map(|m| format!("{}: {m}", a.ip)),
            a.outcome.steps.clone(),
        ),
        Some(a) => (None, None, a.outcome.steps.clone()),
        None => (None, None, Vec::new()),
    };
    Outcome {
        success,
        reason: if success { None } else { reason },
        message,
        duration: started.elapsed(),
        steps,
        retries: Vec::new(),
        addresses,
        browser: None,
    }
}

/// The first attempt and, while they fail, the retries after `retry_delay`.
async fn attempts(
    plan: &TransactionPlan,
    ctx: &ProbeContext,
    pin: Option<(String, std::net::IpAddr)>,
) -> Outcome {
    let first = once(plan, ctx, pin.clone()).await;
    if first.success {
        // The common case, without the retry future.
        return first;
    }
    first
        .retried(plan.retries, plan.retry_delay, || {
            once(plan, ctx, pin.clone())
        })
        .await
}

/// Runs every step once; a failed step ends the run.
async fn once(
    plan: &TransactionPlan,
    ctx: &ProbeContext,
    pin: Option<(String, std::net::IpAddr)>,
) -> Outcome {
    let started = Instant::now();
    let mut run = Run {
        plan,
        vars: HashMap::new(),
        masker: plan.masker.clone(),
        steps: Vec::new(),
        current: None,
    };
    for (k, t) in &plan.variables {
        let v = t.render(&run.vars, &plan.secrets);
        run.vars.insert(k.clone(), v);
    }
    let mut session = Session::new(
        ctx,
        plan.tls.clone(),
        plan.server_name.clone(),
        plan.max_header_bytes,
    )
    .with_addresses(
        plan.addressing.hosts.clone(),
        plan.addressing.ip_protocol,
        pin,
    );
    let finished = timeout(plan.timeout, run.steps(&mut session)).await;
    drop(session);
    if finished.is_err() {
        // The transaction deadline cut a step short: report that step.
        if let Some(c) = run.current.take() {
            let name = plan.steps[c.index].name.clone();
            run.steps.push(StepOutcome {
                name,
                success: false,
                status: None,
                duration: c.started.elapsed(),
                phases: c.phases,
                reason: Some(Reason::Timeout),
                message: Some(format!("transaction timeout {:?} reached", plan.timeout)),
                tls: None,
                body_bytes: 0,
            });
        }
    }
    let failed = run.steps.iter().find(|s| !s.success);
    let (reason, message) = match failed {
        Some(s) => (
            s.reason,
            s.message.as_ref().map(|m| format!("step {}: {m}", s.name)),
        ),
        None if finished.is_err() => (
            Some(Reason::Timeout),
            Some(format!("transaction timeout {:?} reached", plan.timeout)),
        ),
        None => (None, None),
    };
    Outcome {
        success: reason.is_none(),
        reason,
        message,
        duration: started.elapsed(),
        steps: run.steps,
        ..Default::default()
    }
}

impl Run<'_> {
    async fn steps(&mut self, session: &mut Session<'_>) {
        let plan = self.plan;
        for (index, step) in plan.steps.iter().enumerate() {
            self.current = Some(Current {
                index,
                started: Instant::now(),
                phases: Phases::default(),
            });
            let result = timeout(step.timeout, self.step(step, session)).await;
            let c = self.current.take().expect("set above");
            let duration = c.started.elapsed();
            let mut outcome = StepOutcome {
                name: step.name.clone(),
                success: true,
                status: None,
                duration,
                phases: c.phases,
                reason: None,
                message: None,
                tls: None,
                body_bytes: 0,
            };
            match result {
                Err(_) => {
                    outcome.success = false;
                    outcome.reason = Some(Reason::Timeout);
                    outcome.message = Some(format!(
                        "no complete answer within the step timeout {:?}",
                        step.timeout
                    ));
                }
                Ok(r) => {
                    outcome.status = r.status;
                    outcome.tls = r.tls;
                    outcome.body_bytes = r.body_bytes;
                    if let Some((reason, message)) = r.failure {
                        outcome.success = false;
                        outcome.reason = Some(reason);
                        outcome.message = Some(self.masker.mask(&message));
                    }
                }
            }
            let ok = outcome.success;
            self.steps.push(outcome);
            if !ok {
                return;
            }
        }
    }

    fn render(&self, t: &Template) -> String {
        t.render(&self.vars, &self.plan.secrets)
    }

    fn body(&self, step: &StepPlan) -> Option<(Bytes, Option<&'static str>)> {
        Some(match step.body.as_ref()? {
            BodyPlan::Raw(t) => (Bytes::from(self.render(t)), None),
            BodyPlan::Json(v) => {
                let rendered = self.render_json(v);
                (
                    Bytes::from(serde_json::to_vec(&rendered).unwrap_or_default()),
                    Some("application/json"),
                )
            }
            BodyPlan::Form(fields) => {
                let mut enc = form_urlencoded::Serializer::new(String::new());
                for (k, t) in fields {
                    enc.append_pair(k, &self.render(t));
                }
                (
                    Bytes::from(enc.finish()),
                    Some("application/x-www-form-urlencoded"),
                )
            }
        })
    }

    fn render_json(&self, body: &JsonBody) -> serde_json::Value {
        use serde_json::Value;
        match body {
            JsonBody::String(t) => Value::String(self.render(t)),
            JsonBody::Array(a) => Value::Array(a.iter().map(|x| self.render_json(x)).collect()),
            JsonBody::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.render_json(x)))
                    .collect(),
            ),
            JsonBody::Plain(v) => v.clone(),
        }
    }

    async fn step(&mut self, step: &StepPlan, session: &mut Session<'_>) -> StepResult {
        let plan = self.plan;
        let url = self.render(&step.url);
        let mut headers = Vec::with_capacity(step.headers.len());
        for (name, t) in &step.headers {
            match HeaderValue::from_str(&self.render(t)) {
                Ok(v) => headers.push((name.clone(), v)),
                Err(_) => {
                    return StepResult::fail(
                        Reason::Internal,
                        format!("header {name} has a value that is not allowed in HTTP"),
                    )
                }
            }
        }
        let user_agent = step
            .headers
            .iter()
            .find(|(n, _)| n == http::header::USER_AGENT)
            .map(|_| "")
            .unwrap_or(&plan.user_agent);
        let out = Outgoing {
            method: step.method.clone(),
            url,
            headers: &headers,
            body: self.body(step),
            user_agent,
        };
        let follow = step
            .follow_redirects
            .then_some((plan.max_redirects, step.allow_redirect_hosts.as_slice()));
        let mut phases = Phases::default();
        let resp = session
            .request(out, plan.max_body_bytes, follow, &mut phases)
            .await;
        if let Some(c) = self.current.as_mut() {
            c.phases = phases;
        }
        let resp = match resp {
            Ok(r) => r,
            Err((reason, message)) => return StepResult::fail(reason, message),
        };
        let mut result = StepResult {
            status: Some(resp.status),
            tls: resp.tls.clone(),
            body_bytes: resp.body.len() as u64,
            failure: None,
        };
        if !assert::status_ok(&step.expect, resp.status) {
            result.failure = Some((
                Reason::Status,
                format!(
                    "status {}, expected {}",
                    resp.status,
                    assert::expected_status(&step.expect)
                ),
            ));
            return result;
        }
        let answer = Answer {
            masker: &self.masker,
            status: resp.status,
            headers: &resp.headers,
            body: &resp.body,
        };
        if let Err(m) = assert::check(&step.expect, &answer) {
            result.failure = Some((Reason::Assertion, m));
            return result;
        }
        match assert::capture(step, &answer, &mut self.vars) {
            Ok(secrets) => secrets.into_iter().for_each(|s| self.masker.add(s)),
            Err(m) => result.failure = Some((Reason::Assertion, m)),
        }
        result
    }
}

struct StepResult {
    status: Option<u16>,
    tls: Option<super::outcome::TlsFacts>,
    body_bytes: u64,
    failure: Option<(Reason, String)>,
}

impl StepResult {
    fn fail(reason: Reason, message: String) -> Self {
        StepResult {
            status: None,
            tls: None,
            body_bytes: 0,
            failure: Some((reason, message)),
        }
    }
}

/// Renders an outcome for people, as `mimamori probe` prints it.
pub fn describe(o: &Outcome) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let verdict = if o.success {
        "SUCCESS".to_string()
    } else {
        format!("FAILURE ({})", o.reason.map(|r| r.as_str()).unwrap_or("?"))
    };
    let _ = writeln!(s, "{verdict} in {}", ms(o.duration));
    for st in &o.steps {
        let status = st
            .status
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "  step {:<20} status {status:<4} {:>10}  {}",
            st.name,
            ms(st.duration),
            if st.success { "ok" } else { "FAILED" }
        );
        let phases: Vec<String> = super::outcome::Phase::ALL
            .iter()
            .map(|p| format!("{} {}", p.as_str(), ms(st.phases.get(*p))))
            .collect();
        let _ = writeln!(s, "      {}", phases.join(", "));
        if let Some(t) = &st.tls {
            let _ = writeln!(s, "      tls {} {}", t.version, t.cipher);
        }
        if let Some(m) = &st.message {
            let _ = writeln!(s, "      {m}");
        }
    }
    s
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
