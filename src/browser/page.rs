//! One run of a browser transaction in a new browser context: the request
//! gate (only allowed origins leave the browser), the steps with their
//! readiness conditions, the checks and captures, and the page facts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams as FetchEnable, EventRequestPaused, FailRequestParams,
    RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use chromiumoxide::cdp::browser_protocol::network::ErrorReason;
use chromiumoxide::cdp::browser_protocol::page::{
    AddScriptToEvaluateOnNewDocumentParams, NavigateParams,
};
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams, DisposeBrowserContextParams,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    EvaluateParams, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::error::CdpError;
use chromiumoxide::Page;
use futures_util::StreamExt as _;
use tokio::time::Instant;

use super::engine::Live;
use crate::config::{Action, BrowserStep, Condition};
use crate::probe::mask::Masker;
use crate::probe::outcome::{BrowserFacts, Outcome, Phases, Reason, StepOutcome};
use crate::probe::plan::{BrowserPlan, TransactionPlan};

/// How often a readiness condition is checked.
const POLL: Duration = Duration::from_millis(25);
/// Console lines kept per run (for the failure's log).
const MAX_CONSOLE: usize = 100;
/// How long closing a run's context may take before the browser counts as stuck.
pub(super) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Watches the page's largest contentful paint and long tasks from the
/// start of every document (`window.__mimamori`).
const OBSERVER_JS: &str = r#"(() => {
  const m = { lcp: null, long: 0 };
  try { Object.defineProperty(window, '__mimamori', { value: m }); } catch (e) { return; }
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) m.lcp = e.startTime; })
      .observe({ type: 'largest-contentful-paint', buffered: true });
  } catch (e) {}
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) m.long += e.duration; })
      .observe({ type: 'longtask', buffered: true });
  } catch (e) {}
})()"#;

/// Why a step failed, before it becomes a [`Reason`].
pub(super) enum Failure {
    /// The service's (or the page's) fault.
    Page(Reason, String),
    /// The prober's browser failed: the run is unknown.
    Browser(String),
}

impl From<CdpError> for Failure {
    fn from(e: CdpError) -> Self {
        classify(e)
    }
}

/// A CDP error: the connection to Chromium broke (the prober's fault), or
/// the page refused the command (the page's).
fn classify(e: CdpError) -> Failure {
    match e {
        CdpError::Ws(_)
        | CdpError::Io(_)
        | CdpError::ChannelSendError(_)
        | CdpError::NoResponse
        | CdpError::Timeout
        | CdpError::LaunchExit(..)
        | CdpError::LaunchTimeout(_)
        | CdpError::LaunchIo(..) => Failure::Browser(format!("the browser stopped answering: {e}")),
        CdpError::JavascriptException(d) => Failure::Page(Reason::ScriptError, exception_text(&d)),
        other => Failure::Page(Reason::ScriptError, other.to_string()),
    }
}

fn exception_text(d: &chromiumoxide::cdp::js_protocol::runtime::ExceptionDetails) -> String {
    let desc = d
        .exception
        .as_ref()
        .and_then(|x| x.description.clone())
        .unwrap_or_else(|| d.text.clone());
    desc.lines().next().unwrap_or_default().to_string()
}

/// What the run's listeners gathered.
#[derive(Default)]
pub(super) struct Seen {
    pub blocked: AtomicU64,
    /// The first blocked URLs (masked later), at most a few.
    pub blocked_urls: Mutex<Vec<String>>,
    pub console: Mutex<Vec<String>>,
    /// The first uncaught exception of the page since the step began.
    pub exception: Mutex<Option<String>>,
}

/// A run in progress.
pub(super) struct Run<'a> {
    pub plan: &'a TransactionPlan,
    pub b: &'a BrowserPlan,
    pub page: Page,
    pub vars: HashMap<String, String>,
    pub masker: Masker,
    pub seen: Arc<Seen>,
    pub steps: Vec<StepOutcome>,
    pub facts: BrowserFacts,
    /// Selectors of the fields that received a secret (masked before a screenshot).
    pub secret_fields: Vec<String>,
    /// The step in progress and when it started.
    pub current: Option<(usize, Instant)>,
}

/// Opens a new context and page in `live`, with the request gate and the
/// listeners in place. Returns the context id and the page.
pub(super) async fn open(
    live: &Live,
    b: &BrowserPlan,
    seen: &Arc<Seen>,
) -> Result<
    (
        chromiumoxide::cdp::browser_protocol::browser::BrowserContextId,
        Page,
    ),
    Failure,
> {
    let ctx = live
        .browser
        .create_browser_context(CreateBrowserContextParams::default())
        .await
        .map_err(|e| Failure::Browser(format!("cannot create a browser context: {e}")))?;
    let target = CreateTargetParams::builder()
        .url("about:blank")
        .browser_context_id(ctx.clone())
        .build()
        .map_err(Failure::Browser)?;
    let page = match live.browser.new_page(target).await {
        Ok(p) => p,
        Err(e) => {
            let _ = live
                .browser
                .execute(DisposeBrowserContextParams::new(ctx.clone()))
                .await;
            return Err(Failure::Browser(format!("cannot open a page: {e}")));
        }
    };
    let setup = async {
        let mut paused = page.event_listener::<EventRequestPaused>().await?;
        let mut console = page.event_listener::<EventConsoleApiCalled>().await?;
        let mut thrown = page.event_listener::<EventExceptionThrown>().await?;
        page.execute(AddScriptToEvaluateOnNewDocumentParams::new(OBSERVER_JS))
            .await?;
        // Every request of the page stops here until the gate lets it go.
        let gate = page.clone();
        let allowed = b.allowed.clone();
        let s = seen.clone();
        tokio::spawn(async move {
            while let Some(ev) = paused.next().await {
                let url = &ev.request.url;
                let ok = url::Url::parse(url)
                    .map(|u| allowed.contains(&u.origin().ascii_serialization()))
                    .unwrap_or(false);
                if ok {
                    let _ = gate
                        .execute(ContinueRequestParams::new(ev.request_id.clone()))
                        .await;
                } else {
                    s.blocked.fetch_add(1, Ordering::Relaxed);
                    {
                        let mut urls = s.blocked_urls.lock().unwrap_or_else(|e| e.into_inner());
                        if urls.len() < 5 {
                            urls.push(url.chars().take(200).collect());
                        }
                    }
                    let _ = gate
                        .execute(FailRequestParams::new(
                            ev.request_id.clone(),
                            ErrorReason::BlockedByClient,
                        ))
                        .await;
                }
            }
        });
        let s = seen.clone();
        tokio::spawn(async move {
            while let Some(ev) = console.next().await {
                let text: Vec<String> = ev
                    .args
                    .iter()
                    .map(|a| match &a.value {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(v) => v.to_string(),
                        None => a.description.clone().unwrap_or_default(),
                    })
                    .collect();
                let mut c = s.console.lock().unwrap_or_else(|e| e.into_inner());
                if c.len() < MAX_CONSOLE {
                    c.push(format!("console.{:?}: {}", ev.r#type, text.join(" ")));
                }
            }
        });
        let s = seen.clone();
        tokio::spawn(async move {
            while let Some(ev) = thrown.next().await {
                let text = exception_text(&ev.exception_details);
                s.exception
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert_with(|| text.clone());
                let mut c = s.console.lock().unwrap_or_else(|e| e.into_inner());
                if c.len() < MAX_CONSOLE {
                    c.push(format!("uncaught: {text}"));
                }
            }
        });
        page.execute(FetchEnable {
            patterns: Some(vec![RequestPattern {
                url_pattern: Some("*".into()),
                resource_type: None,
                request_stage: Some(RequestStage::Request),
            }]),
            handle_auth_requests: None,
        })
        .await?;
        Ok::<_, CdpError>(())
    };
    if let Err(e) = setup.await {
        let _ = live
            .browser
            .execute(DisposeBrowserContextParams::new(ctx.clone()))
            .await;
        return Err(match classify(e) {
            Failure::Page(_, m) | Failure::Browser(m) => {
                Failure::Browser(format!("cannot prepare the page: {m}"))
            }
        });
    }
    Ok((ctx, page))
}

/// The value of a JS expression, or why not: `Ok(None)` while the page has
/// no document to ask (between navigations).
async fn eval(page: &Page, expr: &str) -> Result<Option<serde_json::Value>, Failure> {
    eval_with(page, expr, false).await
}

/// [`eval`], awaiting the promise `expr` gives when `promise`.
async fn eval_with(
    page: &Page,
    expr: &str,
    promise: bool,
) -> Result<Option<serde_json::Value>, Failure> {
    let params = EvaluateParams::builder()
        .expression(expr)
        .return_by_value(true)
        .await_promise(promise)
        .build()
        .map_err(Failure::Browser)?;
    match page.execute(params).await {
        Ok(r) => {
            let r = r.result;
            if let Some(d) = r.exception_details {
                return Err(Failure::Page(Reason::ScriptError, exception_text(&d)));
            }
            Ok(Some(r.result.value.unwrap_or(serde_json::Value::Null)))
        }
        // e.g. "Execution context was destroyed": a navigation is under way.
        Err(CdpError::Chrome(_)) => Ok(None),
        Err(e) => Err(classify(e)),
    }
}

/// A JS string literal.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// JS: whether the first element matching `sel` is visible; `{error}` for a bad selector.
fn visible_js(sel: &str) -> String {
    format!(
        "(() => {{ try {{ const e = document.querySelector({}); if (!e) return false; \
         const r = e.getBoundingClientRect(); const s = getComputedStyle(e); \
         return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; \
         }} catch (e) {{ return {{ error: String(e) }}; }} }})()",
        js(sel)
    )
}

fn condition_js(c: &Condition) -> String {
    if let Some(sel) = &c.selector {
        visible_js(sel)
    } else if let Some(t) = &c.text {
        format!(
            "!!(document.body && document.body.innerText.includes({}))",
            js(t)
        )
    } else if let Some(u) = &c.url {
        format!("location.href.includes({})", js(u))
    } else {
        // The load event of a document that is not the one before the step.
        "(!window.__mimamoriBefore && location.href !== 'about:blank' && document.readyState === 'complete')".into()
    }
}

/// Words for a condition in messages.
fn describe(c: &Condition) -> String {
    if let Some(sel) = &c.selector {
        format!("element {sel}")
    } else if let Some(t) = &c.text {
        format!("text '{t}'")
    } else if let Some(u) = &c.url {
        format!("URL containing '{u}'")
    } else {
        "the load event".into()
    }
}

impl Run<'_> {
    /// Waits until `c` holds; returns only when it does or on a failure
    /// (the step's deadline, outside, ends the wait).
    async fn wait(&self, c: &Condition) -> Result<(), Failure> {
        let expr = condition_js(c);
        loop {
            match eval(&self.page, &expr).await? {
                Some(serde_json::Value::Bool(true)) => return Ok(()),
                Some(serde_json::Value::Object(o)) if o.contains_key("error") => {
                    let m = o["error"].as_str().unwrap_or_default().to_string();
                    return Err(Failure::Page(
                        Reason::ScriptError,
                        format!("{}: {m}", describe(c)),
                    ));
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    async fn wait_visible(&self, sel: &str) -> Result<(), Failure> {
        self.wait(&Condition {
            selector: Some(sel.to_string()),
            ..Default::default()
        })
        .await
    }

    fn render(&self, t: &crate::config::Template) -> String {
        t.render(&self.vars, &self.plan.secrets)
    }

    /// Marks the current document, so a load condition waits for the next one.
    async fn mark_document(&self) {
        let _ = eval(
            &self.page,
            "(() => { try { Object.defineProperty(window, '__mimamoriBefore', { value: true }); } catch (e) {} return true; })()",
        )
        .await;
    }

    /// The step's work up to its readiness (what its time measures).
    pub(super) async fn act(&mut self, step: &BrowserStep) -> Result<(), Failure> {
        if let Some(goto) = &step.goto {
            let url = self.render(goto);
            self.mark_document().await;
            let nav = self
                .page
                .execute(NavigateParams::new(url.clone()))
                .await
                .map_err(|e| match classify(e) {
                    Failure::Page(_, m) => {
                        Failure::Page(Reason::Navigation, format!("opening {url}: {m}"))
                    }
                    b => b,
                })?;
            if let Some(err) = nav.result.error_text {
                let reason = if err.contains("ERR_BLOCKED_BY_CLIENT") {
                    Reason::BlockedRequest
                } else {
                    Reason::Navigation
                };
                return Err(Failure::Page(reason, format!("opening {url}: {err}")));
            }
        }
        for a in &step.actions {
            match a {
                Action::Click(sel) => {
                    self.wait_visible(sel).await?;
                    self.mark_document().await;
                    let el = self.page.find_element(sel.as_str()).await?;
                    el.click().await?;
                }
                Action::Fill(f) => {
                    self.wait_visible(&f.selector).await?;
                    let value = self.render(&f.value);
                    if f.value.secrets().next().is_some() {
                        self.secret_fields.push(f.selector.clone());
                    }
                    let focus = format!(
                        "(() => {{ const e = document.querySelector({}); e.focus(); \
                         if ('value' in e) {{ e.value = ''; }} return true; }})()",
                        js(&f.selector)
                    );
                    eval(&self.page, &focus).await?;
                    self.page.execute(InsertTextParams::new(value)).await?;
                    let change = format!(
                        "(() => {{ const e = document.querySelector({}); \
                         e.dispatchEvent(new Event('change', {{ bubbles: true }})); return true; }})()",
                        js(&f.selector)
                    );
                    eval(&self.page, &change).await?;
                }
                Action::Press(k) => {
                    self.wait_visible(&k.selector).await?;
                    self.mark_document().await;
                    let el = self.page.find_element(k.selector.as_str()).await?;
                    el.focus().await?;
                    el.press_key(k.key.as_str()).await?;
                }
                Action::Select(f) => {
                    self.wait_visible(&f.selector).await?;
                    let value = self.render(&f.value);
                    let set = format!(
                        "(() => {{ const e = document.querySelector({}); \
                         if (![...e.options].some(o => o.value === {v})) return false; \
                         e.value = {v}; e.dispatchEvent(new Event('input', {{ bubbles: true }})); \
                         e.dispatchEvent(new Event('change', {{ bubbles: true }})); return true; }})()",
                        js(&f.selector),
                        v = js(&value)
                    );
                    if eval(&self.page, &set).await? != Some(serde_json::Value::Bool(true)) {
                        return Err(Failure::Page(
                            Reason::Assertion,
                            self.masker.mask(&format!(
                                "{} has no option with value '{value}'",
                                f.selector
                            )),
                        ));
                    }
                }
                Action::WaitFor(c) => self.wait(c).await?,
            }
        }
        if let Some(c) = ready(step) {
            self.wait(&c).await?;
        }
        Ok(())
    }

    /// The step's checks and captures on the ready page.
    pub(super) async fn check(&mut self, step: &BrowserStep) -> Result<(), Failure> {
        for e in &step.expect {
            let (expr, what) = if let Some(t) = &e.text {
                (
                    format!(
                        "!!(document.body && document.body.innerText.includes({}))",
                        js(t)
                    ),
                    format!("text '{t}' not on the page"),
                )
            } else if let Some(sel) = &e.visible {
                (visible_js(sel), format!("element {sel} not visible"))
            } else if let Some(t) = &e.title {
                (
                    format!("document.title.includes({})", js(t)),
                    format!("title does not contain '{t}'"),
                )
            } else if let Some(u) = &e.url {
                (
                    format!("location.href.includes({})", js(u)),
                    format!("URL does not contain '{u}'"),
                )
            } else {
                continue;
            };
            match eval(&self.page, &expr).await? {
                Some(serde_json::Value::Bool(true)) => {}
                Some(serde_json::Value::Object(o)) if o.contains_key("error") => {
                    return Err(Failure::Page(
                        Reason::ScriptError,
                        o["error"].as_str().unwrap_or_default().to_string(),
                    ))
                }
                _ => return Err(Failure::Page(Reason::Assertion, what)),
            }
        }
        for (name, c) in &step.capture {
            let expr = format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return null; \
                 return {}; }})()",
                js(&c.selector),
                match &c.attribute {
                    Some(a) => format!("e.getAttribute({})", js(a)),
                    None => "e.textContent.trim()".into(),
                }
            );
            match eval(&self.page, &expr).await? {
                Some(serde_json::Value::String(v)) => {
                    self.vars.insert(name.clone(), v);
                }
                _ => {
                    return Err(Failure::Page(
                        Reason::Assertion,
                        format!("capture {name}: nothing at {}", c.selector),
                    ))
                }
            }
        }
        Ok(())
    }

    /// The page's LCP (seconds from its navigation start) and long-task time so far.
    pub(super) async fn page_facts(&self) -> (Option<f64>, f64) {
        // After the next two frames: Chromium reports the paint of the
        // ready page with the frame that shows it.
        let read = eval_with(
            &self.page,
            "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => { \
             const m = window.__mimamori; done(m ? [m.lcp, m.long] : null); })))",
            true,
        );
        match tokio::time::timeout(Duration::from_millis(500), read)
            .await
            .unwrap_or(Ok(None))
        {
            Ok(Some(serde_json::Value::Array(a))) if a.len() == 2 => (
                a[0].as_f64().map(|ms| ms / 1000.0),
                a[1].as_f64().unwrap_or(0.0) / 1000.0,
            ),
            _ => (None, 0.0),
        }
    }

    /// Masks what received a secret, so a screenshot shows none: the fields
    /// filled from secrets, and the secrets' values wherever the page shows them.
    pub(super) async fn mask_page(&self) {
        let values: Vec<&String> = self
            .plan
            .secrets
            .values()
            .filter(|v| !v.is_empty())
            .collect();
        let fields: Vec<String> = self.secret_fields.iter().map(|s| js(s)).collect();
        let expr = format!(
            "(() => {{ const fields = [{}]; const values = {}; \
             for (const f of fields) {{ for (const e of document.querySelectorAll(f)) {{ if ('value' in e) e.value = '****'; }} }} \
             for (const e of document.querySelectorAll('input, textarea')) {{ \
               if (values.some(v => e.value.includes(v))) e.value = '****'; }} \
             const w = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT); \
             let n; while ((n = w.nextNode())) {{ for (const v of values) {{ \
               if (n.nodeValue.includes(v)) n.nodeValue = n.nodeValue.split(v).join('****'); }} }} \
             return true; }})()",
            fields.join(","),
            serde_json::to_string(&values).unwrap_or_else(|_| "[]".into())
        );
        let _ = eval(&self.page, &expr).await;
    }
}

/// A step's readiness condition: `ready`, or the load event after a `goto`.
pub(super) fn ready(step: &BrowserStep) -> Option<Condition> {
    step.ready.clone().or_else(|| {
        step.goto.as_ref().map(|_| Condition {
            load: Some(true),
            ..Default::default()
        })
    })
}

/// The reason and words of a step that ran out of time waiting.
pub(super) fn timed_out(
    step: &BrowserStep,
    timeout: Duration,
    blocked_during_step: bool,
    exception: Option<&str>,
) -> (Reason, String) {
    let waiting = step
        .actions
        .iter()
        .find_map(|a| match a {
            Action::WaitFor(c) => Some(c.clone()),
            _ => None,
        })
        .or_else(|| ready(step));
    let selector_like = waiting
        .as_ref()
        .is_some_and(|c| c.selector.is_some() || c.text.is_some())
        || step
            .actions
            .iter()
            .any(|a| !matches!(a, Action::WaitFor(_)));
    let what = waiting
        .as_ref()
        .map(describe)
        .unwrap_or_else(|| "the actions".into());
    let mut m = format!("{what} not ready within the step timeout {timeout:?}");
    if let Some(x) = exception {
        m.push_str(&format!(" (the page threw: {x})"));
    }
    let reason = if blocked_during_step {
        m.push_str(" after a request to an origin that is not allowed was blocked");
        Reason::BlockedRequest
    } else if selector_like {
        Reason::SelectorTimeout
    } else {
        Reason::Timeout
    };
    (reason, m)
}

/// A step outcome with the given result.
pub(super) fn step_outcome(
    name: &str,
    duration: Duration,
    failure: Option<(Reason, String)>,
) -> StepOutcome {
    StepOutcome {
        name: name.to_string(),
        success: failure.is_none(),
        status: None,
        duration,
        phases: Phases::default(),
        reason: failure.as_ref().map(|f| f.0),
        message: failure.map(|f| f.1),
        tls: None,
        body_bytes: 0,
    }
}

/// The run's outcome from its steps (the first failed step decides).
pub(super) fn outcome(steps: Vec<StepOutcome>, facts: BrowserFacts, started: Instant) -> Outcome {
    let failed = steps.iter().find(|s| !s.success);
    let (reason, message) = match failed {
        Some(s) => (
            s.reason,
            s.message.as_ref().map(|m| format!("step {}: {m}", s.name)),
        ),
        None => (None, None),
    };
    Outcome {
        success: reason.is_none(),
        reason,
        message,
        duration: started.elapsed(),
        steps,
        browser: Some(facts),
        ..Default::default()
    }
}
