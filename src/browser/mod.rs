//! Browser transactions: the operations customers do in their browsers, run
//! in headless Chromium over the DevTools protocol (chromiumoxide), timed per
//! step like HTTP steps.
//!
//! - `engine.rs`: the prober's one Chromium process (lazy start, restart
//!   after a crash, a fresh profile), the concurrency limit.
//! - `page.rs`: one run in a new browser context: the request gate (only the
//!   configured origins leave the browser), steps, readiness, checks, facts.
//! - `artifacts.rs`: the screenshot and console log of the last failed runs.
//!
//! A run the prober's browser could not carry out (it crashed, could not
//! start, stopped answering, or no place was free in time) ends with the
//! reason `browser`: the metrics withdraw `mimamori_probe_success` for it,
//! so the location is blind for that transaction, never failing.

mod artifacts;
mod engine;
mod page;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{timeout, Instant};

use engine::Flags;
pub use engine::{default_executable, Engine};
use page::{Failure, Run, Seen};

use crate::probe::outcome::{BrowserFacts, Outcome, Reason};
use crate::probe::plan::{BrowserPlan, TransactionPlan};
use crate::probe::ProbeContext;

/// Runs a browser transaction: the first attempt and, while they fail, its
/// retries. Only the first attempt counts for the objective.
pub async fn run(plan: &Arc<TransactionPlan>, ctx: &Arc<ProbeContext>) -> Outcome {
    let Some(b) = plan.browser.clone() else {
        return Outcome::internal("not a browser transaction", Duration::ZERO);
    };
    let first = attempt(plan, &b, ctx).await;
    if first.reason == Some(Reason::Browser) {
        // The prober's browser, not the service: nothing to retry. The
        // ticket names the prober; the log says why.
        tracing::warn!(
            service = %plan.key.service,
            transaction = %plan.key.transaction,
            "browser run unknown: {}",
            first.message.as_deref().unwrap_or("")
        );
        return first;
    }
    first
        .retried(plan.retries, plan.retry_delay, || attempt(plan, &b, ctx))
        .await
}

/// An outcome for a run the prober's browser could not carry out.
fn unknown(message: String, started: Instant) -> Outcome {
    Outcome {
        success: false,
        reason: Some(Reason::Browser),
        message: Some(message),
        duration: started.elapsed(),
        browser: Some(BrowserFacts::default()),
        ..Default::default()
    }
}

/// One attempt on the browser thread, within a hard deadline: the
/// transaction's timeout plus the time closing the page may take. Past it
/// the browser counts as stuck: it is retired (and killed).
async fn attempt(
    plan: &Arc<TransactionPlan>,
    b: &Arc<BrowserPlan>,
    ctx: &Arc<ProbeContext>,
) -> Outcome {
    let started = Instant::now();
    let engine = &ctx.browser;
    let max = b.settings.max_concurrent;
    let flags = Flags::for_plan(plan, b).await;
    // Waiting for a place is not part of any step's time, but bounded.
    let permits = engine.permits(max);
    let Ok(Ok(_permit)) = timeout(plan.timeout, permits.acquire_owned()).await else {
        return unknown(
            format!(
                "no free browser place within {:?} (global.browser.max_concurrent: {max})",
                plan.timeout
            ),
            started,
        );
    };
    let rt = engine.runtime(max);
    let (plan2, b2, ctx2) = (plan.clone(), b.clone(), ctx.clone());
    let hard = plan.timeout + page::CLOSE_TIMEOUT + Duration::from_secs(1);
    let task = rt.spawn(async move { once(&plan2, &b2, &ctx2, flags).await });
    let abort = task.abort_handle();
    match timeout(hard, task).await {
        Ok(Ok(o)) => o,
        Ok(Err(_)) => Outcome::internal("browser run panicked", started.elapsed()),
        Err(_) => {
            abort.abort();
            ctx.browser.retire_current();
            unknown(
                format!("the browser did not finish the run within {hard:?}; it was restarted"),
                started,
            )
        }
    }
}

/// One attempt, on the browser thread.
async fn once(
    plan: &TransactionPlan,
    b: &BrowserPlan,
    ctx: &ProbeContext,
    flags: Flags,
) -> Outcome {
    let started = Instant::now();
    let engine = &ctx.browser;
    let live = match timeout(
        plan.timeout,
        engine.browser(b.settings.max_concurrent, &flags),
    )
    .await
    {
        Ok(Ok(l)) => l,
        Ok(Err(u)) => return unknown(u.0, started),
        Err(_) => return unknown("starting the browser took too long".into(), started),
    };
    let seen = Arc::new(Seen::default());
    let opened = timeout(plan.timeout, page::open(&live, b, &seen)).await;
    let (context, page) = match opened {
        Ok(Ok(x)) => x,
        Ok(Err(Failure::Browser(m))) | Ok(Err(Failure::Page(_, m))) => {
            engine.retire(&live);
            return unknown(m, started);
        }
        Err(_) => {
            engine.retire(&live);
            return unknown(
                format!(
                    "the browser did not open a page within {:?} (pages that die as they \
                     open, e.g. under systemd's MemoryDenyWriteExecute, look like this: \
                     docs/browser.md#deploying)",
                    plan.timeout
                ),
                started,
            );
        }
    };
    let mut vars = HashMap::new();
    for (k, t) in &plan.variables {
        let v = t.render(&vars, &plan.secrets);
        vars.insert(k.clone(), v);
    }
    let mut run = Run {
        plan,
        b,
        page: page.clone(),
        vars,
        masker: plan.masker.clone(),
        seen: seen.clone(),
        steps: Vec::new(),
        facts: BrowserFacts::default(),
        secret_fields: Vec::new(),
        current: None,
    };
    let finished = timeout(plan.timeout, steps(&mut run)).await;
    let mut browser_failure: Option<String> = match &finished {
        Ok(Err(m)) => Some(m.clone()),
        _ => None,
    };
    if finished.is_err() {
        // The transaction's deadline cut a step short: report that step.
        if let Some((i, t)) = run.current.take() {
            let name = &b.tx.steps[i].name;
            run.steps.push(page::step_outcome(
                name,
                t.elapsed(),
                Some((
                    Reason::Timeout,
                    format!("transaction timeout {:?} reached", plan.timeout),
                )),
            ));
        }
    }
    let failed = run.steps.iter().any(|s| !s.success) || finished.is_err();
    let mut facts = std::mem::take(&mut run.facts);
    facts.blocked_requests = seen.blocked.load(std::sync::atomic::Ordering::Relaxed);
    if failed && browser_failure.is_none() && b.settings.keep_failures > 0 {
        match timeout(page::CLOSE_TIMEOUT, artifacts::keep(&run)).await {
            Ok(Ok(path)) => facts.screenshot = Some(path),
            Ok(Err(m)) => {
                tracing::warn!(service = %plan.key.service, transaction = %plan.key.transaction, "screenshot not kept: {m}")
            }
            Err(_) => {
                tracing::warn!(service = %plan.key.service, transaction = %plan.key.transaction, "screenshot not kept: the browser took too long")
            }
        }
    }
    let closed = timeout(page::CLOSE_TIMEOUT, async {
        let _ = page.close().await;
        live.browser
            .execute(
                chromiumoxide::cdp::browser_protocol::target::DisposeBrowserContextParams::new(
                    context,
                ),
            )
            .await
    })
    .await;
    match closed {
        Ok(Ok(_)) => {}
        Ok(Err(e))
            if browser_failure.is_none() && live.dead.load(std::sync::atomic::Ordering::SeqCst) =>
        {
            browser_failure = Some(format!("the browser failed while closing the run: {e}"));
        }
        Ok(Err(_)) => {}
        Err(_) => {
            // Chromium no longer answers: retire it, the next run starts anew.
            engine.retire(&live);
        }
    }
    if live.dead.load(std::sync::atomic::Ordering::SeqCst) && browser_failure.is_none() && failed {
        browser_failure = Some("the browser process ended during the run".into());
    }
    if let Some(m) = browser_failure {
        engine.retire(&live);
        return unknown(run.masker.mask(&m), started);
    }
    let outcome = page::outcome(std::mem::take(&mut run.steps), facts, started);
    if let Some(path) = outcome.browser.as_ref().and_then(|f| f.screenshot.as_ref()) {
        tracing::info!(service = %plan.key.service, transaction = %plan.key.transaction, screenshot = %path.display(), "browser run failed");
    }
    outcome
}

/// The steps in order; a failed step ends the run. `Err` when the
/// prober's browser failed (the run is then unknown).
async fn steps(run: &mut Run<'_>) -> Result<(), String> {
    let b = run.b;
    for (i, step) in b.tx.steps.iter().enumerate() {
        let step_timeout = run
            .plan
            .steps
            .get(i)
            .map_or(run.plan.timeout, |s| s.timeout);
        let started = Instant::now();
        run.current = Some((i, started));
        let blocked_before = run.seen.blocked.load(std::sync::atomic::Ordering::Relaxed);
        *run.seen.exception.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let (_, long_before) = if step.goto.is_some() {
            (None, 0.0)
        } else {
            run.page_facts().await
        };
        let acted = timeout(step_timeout, run.act(step)).await;
        let duration = started.elapsed();
        let blocked = run.seen.blocked.load(std::sync::atomic::Ordering::Relaxed) > blocked_before;
        let failure = match acted {
            Ok(Ok(())) => {
                let left = step_timeout
                    .saturating_sub(duration)
                    .max(Duration::from_millis(500));
                match timeout(left, run.check(step)).await {
                    Ok(Ok(())) => None,
                    Ok(Err(Failure::Page(r, m))) => Some((r, m)),
                    Ok(Err(Failure::Browser(m))) => return Err(m),
                    Err(_) => Some((
                        Reason::Timeout,
                        "checks not done within the step timeout".into(),
                    )),
                }
            }
            Ok(Err(Failure::Page(r, m))) => Some((r, m)),
            Ok(Err(Failure::Browser(m))) => return Err(m),
            Err(_) => {
                let exception = run
                    .seen
                    .exception
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                Some(page::timed_out(
                    step,
                    step_timeout,
                    blocked,
                    exception.as_deref(),
                ))
            }
        };
        let (lcp, long) = run.page_facts().await;
        run.facts
            .largest_contentful_paint
            .push(if step.goto.is_some() { lcp } else { None });
        run.facts.long_tasks.push((long - long_before).max(0.0));
        run.current = None;
        let failure = failure.map(|(r, m)| (r, run.masker.mask(&m)));
        let ok = failure.is_none();
        run.steps
            .push(page::step_outcome(&step.name, duration, failure));
        if !ok {
            return Ok(());
        }
    }
    Ok(())
}
