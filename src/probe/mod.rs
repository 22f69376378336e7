//! Runs synthetic transactions: HTTP steps with phase timings, assertions and captures.
pub mod assert;
pub mod context;
pub mod http;
pub mod mask;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod resolve;
pub mod tls;
pub mod transaction;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub use context::ProbeContext;
pub use outcome::{Outcome, Phase, Reason};
pub use plan::TransactionPlan;

/// A plan for one GET of `url`, as `mimamori probe` runs it.
pub fn adhoc_plan(
    ctx: &ProbeContext,
    url: &str,
    timeout: Duration,
    ca_file: Option<PathBuf>,
) -> anyhow::Result<TransactionPlan> {
    http::parse_url(url).map_err(|m| anyhow::anyhow!("{url}: {m}"))?;
    let g = crate::config::Global::default();
    let tls = ctx
        .tls_config(&ca_file.into_iter().collect::<Vec<_>>())
        .map_err(|m| anyhow::anyhow!(m))?;
    let template = crate::config::Template {
        parts: vec![crate::config::Part::Text(url.to_string())],
    };
    Ok(TransactionPlan {
        key: plan::TxKey {
            service: "adhoc".into(),
            transaction: "get".into(),
        },
        location: g.location.to_string(),
        interval: timeout,
        timeout,
        variables: Vec::new(),
        steps: vec![plan::StepPlan {
            name: "get".into(),
            method: ::http::Method::GET,
            url: template,
            headers: Vec::new(),
            body: None,
            timeout,
            follow_redirects: true,
            allow_redirect_hosts: Vec::new(),
            expect: Default::default(),
            captures: Vec::new(),
        }],
        secrets: Default::default(),
        masker: Default::default(),
        tls,
        server_name: None,
        max_body_bytes: g.max_body_bytes,
        max_header_bytes: g.max_header_bytes,
        max_redirects: g.max_redirects,
        user_agent: g.user_agent.clone(),
        policy: Default::default(),
        addressing: Default::default(),
        retries: 0,
        retry_delay: Duration::ZERO,
        fingerprint: String::new(),
        browser: None,
    })
}

/// `mimamori probe URL`: one ad-hoc GET, printed for a person or a script.
/// Exits 0 on success and 1 on a failed probe.
pub async fn adhoc(
    url: &str,
    json: bool,
    timeout: Duration,
    ca_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let ctx = ProbeContext::default();
    let plan = adhoc_plan(&ctx, url, timeout, ca_file)?;
    let outcome = transaction::run(&plan, &ctx).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print!("{}", transaction::describe(&outcome));
    }
    Ok(if outcome.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
