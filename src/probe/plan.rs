//! Turns configured transactions into runnable plans: environment resolved,
//! secrets loaded, TLS settings built once. The configuration's types are
//! already valid (names, methods, regexes are checked while it is read), so
//! nothing here re-parses them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderName;

use crate::config::locate::Path;
use crate::config::{Body, CaptureFrom, Config, ConfigError, ConfigErrors, Expect, Template};

use super::mask::Masker;

/// What the TLS policy loop checks for one transaction.
#[derive(Debug, Default, Clone)]
pub struct PolicyPlan {
    pub interval: Duration,
    /// HTTPS origins the steps talk to: (first step using it, host, port, TLS server name).
    pub legacy_targets: Vec<(String, String, u16, String)>,
    /// The service's plain-HTTP address (only on the service's first transaction).
    pub plain_http_url: Option<String>,
}

/// Identity of a transaction at one location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxKey {
    pub service: String,
    pub transaction: String,
}

/// A transaction ready to run.
#[derive(Debug)]
pub struct TransactionPlan {
    pub key: TxKey,
    pub location: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub variables: Vec<(String, Template)>,
    pub steps: Vec<StepPlan>,
    pub secrets: HashMap<String, String>,
    pub masker: Masker,
    pub tls: Arc<rustls::ClientConfig>,
    pub server_name: Option<String>,
    pub max_body_bytes: u64,
    pub max_header_bytes: usize,
    pub max_redirects: u32,
    pub user_agent: String,
    /// TLS policy checks, run every `tls_check_interval`.
    pub policy: PolicyPlan,
    /// Which addresses the run talks to.
    pub addressing: Addressing,
    /// Attempts after a failed first one.
    pub retries: u32,
    /// Pause before each retry.
    pub retry_delay: Duration,
    /// Changes when anything that affects a run changes (used on reload).
    pub fingerprint: String,
    /// A browser transaction's page steps; `steps` then holds one plan per
    /// page step with its name, `goto` URL (empty without one) and timeout,
    /// so the series, `check` and the TLS policy see the steps as they see
    /// HTTP steps; only `crate::browser` runs them.
    pub browser: Option<Arc<BrowserPlan>>,
}

/// What a browser transaction needs beyond [`TransactionPlan`].
#[derive(Debug)]
pub struct BrowserPlan {
    /// The steps, `${env:...}` resolved.
    pub tx: crate::config::BrowserTransaction,
    /// Origins the page may reach: `allowed_origins` and those of the `goto`
    /// URLs as far as they are known before the run (variables and secrets;
    /// a URL built from a capture must have its origin listed).
    pub allowed: Vec<String>,
    /// The prober-wide settings (`global.browser`).
    pub settings: crate::config::BrowserSettings,
    /// CA files trusted besides the system's (`global.ca_file`, `tls.ca_file`).
    pub ca_files: Vec<PathBuf>,
}

/// How a transaction picks addresses (`resolve`, `ip_protocol`, `fail_when`, `global.hosts_file`).
#[derive(Debug, Clone, Default)]
pub struct Addressing {
    pub resolve: crate::config::Resolve,
    pub ip_protocol: crate::config::IpProtocol,
    pub fail_when: crate::config::FailWhen,
    pub hosts: Arc<super::resolve::Hosts>,
}

impl Addressing {
    /// Whether each run goes to every address (series with an `ip` label).
    pub fn every_address(&self) -> bool {
        self.resolve == crate::config::Resolve::All
    }
}

#[derive(Debug)]
pub struct StepPlan {
    pub name: String,
    pub method: http::Method,
    pub url: Template,
    pub headers: Vec<(HeaderName, Template)>,
    pub body: Option<BodyPlan>,
    pub timeout: Duration,
    pub follow_redirects: bool,
    pub allow_redirect_hosts: Vec<String>,
    pub expect: Expect,
    pub captures: Vec<CapturePlan>,
}

#[derive(Debug)]
pub enum BodyPlan {
    Raw(Template),
    Json(crate::config::JsonBody),
    Form(Vec<(String, Template)>),
}

#[derive(Debug)]
pub struct CapturePlan {
    pub name: String,
    pub from: CaptureFrom,
    pub secret: bool,
}

/// [`build_in`] with a probe context of its own and the secrets loaded here
/// (tests, `mimamori check`).
pub fn build(
    cfg: &Config,
    location: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<TransactionPlan>>, ConfigErrors> {
    let secrets = crate::config::load_secrets(cfg, env);
    build_in(
        &super::ProbeContext::default(),
        cfg,
        location,
        env,
        &secrets,
    )
}

/// Builds every plan of the configuration, with TLS settings from `ctx`.
/// `env` reads environment variables (injected so tests need not touch the
/// process environment). `secrets` are loaded once by the caller, which
/// hands the same values to the backup plans; a secret that could not be
/// read is reported here, with the plans' other errors.
pub fn build_in(
    ctx: &super::ProbeContext,
    cfg: &Config,
    location: &str,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: &Result<HashMap<String, String>, Vec<ConfigError>>,
) -> Result<Vec<Arc<TransactionPlan>>, ConfigErrors> {
    let src = cfg.source.clone();
    let mut errs = Vec::new();
    let secrets = match secrets {
        Ok(s) => s.clone(),
        Err(e) => {
            errs.extend(e.iter().cloned());
            HashMap::new()
        }
    };
    let masker = Masker::new(secrets.values().cloned());
    // One TLS setting per distinct list of CA files in this build: each file is
    // read once per start or reload, not once per transaction.
    let mut tls_by_files: HashMap<Vec<PathBuf>, Arc<rustls::ClientConfig>> = HashMap::new();
    let g = &cfg.global;
    let hosts = match &g.hosts_file {
        Some(f) => super::resolve::Hosts::load(f).unwrap_or_else(|m| {
            errs.push(src.error(&Path::root().key("global").key("hosts_file"), m));
            Default::default()
        }),
        None => Default::default(),
    };
    let hosts = Arc::new(hosts);
    let mut plans = Vec::new();
    for (si, svc) in cfg.services.iter().enumerate() {
        for (ti, tx) in svc.transactions.iter().enumerate() {
            let tp = Path::root()
                .key("services")
                .index(si)
                .key("transactions")
                .index(ti);
            let mut resolve = |t: &Template, p: &Path| -> Template {
                match t.resolve_env(env) {
                    Ok(r) => r,
                    Err(var) => {
                        errs.push(src.error(p, format!("environment variable {var} is not set (and no default given with ${{env:{var}:-default}})")));
                        Template::default()
                    }
                }
            };
            let variables: Vec<(String, Template)> = tx
                .variables
                .iter()
                .map(|(k, t)| (k.clone(), resolve(t, &tp.key("variables").key(k))))
                .collect();
            let mut steps: Vec<StepPlan> = tx
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| step_plan(g, tx, s, &tp.key("steps").index(i), &mut resolve))
                .collect();
            let browser = tx.browser.as_ref().map(|b| {
                let (plan, page_steps) = browser_plan(
                    g,
                    tx,
                    b,
                    &tp.key("browser"),
                    &variables,
                    &secrets,
                    &mut resolve,
                );
                steps = page_steps;
                Arc::new(plan)
            });
            let ca_files: Vec<PathBuf> = g
                .ca_file
                .iter()
                .chain(tx.tls.ca_file.iter())
                .cloned()
                .collect();
            let tls = match tls_by_files.get(&ca_files) {
                Some(t) => t.clone(),
                None => match ctx.tls_config(&ca_files) {
                    Ok(t) => {
                        tls_by_files.insert(ca_files.clone(), t.clone());
                        t
                    }
                    Err(m) => {
                        errs.push(src.error(&tp.key("tls").key("ca_file"), m));
                        continue;
                    }
                },
            };
            let mut policy = PolicyPlan {
                interval: g.tls_check_interval.0,
                legacy_targets: legacy_targets(tx, &variables, &steps, &secrets),
                ..Default::default()
            };
            if ti == 0 {
                if let Some(t) = &svc.plain_http_url {
                    policy.plain_http_url = Some(
                        resolve(
                            t,
                            &Path::root().key("services").index(si).key("plain_http_url"),
                        )
                        .render(&HashMap::new(), &secrets),
                    );
                }
            }
            plans.push(Arc::new(TransactionPlan {
                key: TxKey {
                    service: svc.name.to_string(),
                    transaction: tx.name.to_string(),
                },
                location: location.to_string(),
                interval: tx.interval(g),
                timeout: tx.timeout(g),
                variables,
                steps,
                secrets: secrets.clone(),
                masker: masker.clone(),
                tls,
                server_name: tx.tls.server_name.clone(),
                max_body_bytes: g.max_body_bytes,
                max_header_bytes: g.max_header_bytes,
                max_redirects: g.max_redirects,
                user_agent: g.user_agent.clone(),
                policy,
                addressing: Addressing {
                    resolve: tx.resolve,
                    ip_protocol: tx.ip_protocol,
                    fail_when: tx.fail_when,
                    hosts: hosts.clone(),
                },
                retries: tx.retries,
                retry_delay: tx.retry_delay(),
                browser,
                fingerprint: digest(&format!(
                    "{tx:?}|{:?}|{hosts:?}|{location}|{ca_files:?}|{}|{}",
                    g,
                    secrets_digest(&secrets),
                    cfg.source.file
                )),
            }));
        }
    }
    if errs.is_empty() {
        Ok(plans)
    } else {
        Err(ConfigErrors(errs))
    }
}

/// A browser transaction's plan, and a [`StepPlan`] per page step (name,
/// `goto` URL, timeout) for the series and `check`.
fn browser_plan(
    g: &crate::config::Global,
    tx: &crate::config::Transaction,
    b: &crate::config::BrowserTransaction,
    bp: &Path,
    variables: &[(String, Template)],
    secrets: &HashMap<String, String>,
    resolve: &mut dyn FnMut(&Template, &Path) -> Template,
) -> (BrowserPlan, Vec<StepPlan>) {
    let mut resolved = b.clone();
    for (i, s) in resolved.steps.iter_mut().enumerate() {
        let sp = bp.key("steps").index(i);
        if let Some(t) = &mut s.goto {
            *t = resolve(t, &sp.key("goto"));
        }
        for (j, a) in s.actions.iter_mut().enumerate() {
            let ap = sp.key("actions").index(j);
            match a {
                crate::config::Action::Fill(f) => {
                    f.value = resolve(&f.value, &ap.key("fill").key("value"))
                }
                crate::config::Action::Select(f) => {
                    f.value = resolve(&f.value, &ap.key("select").key("value"))
                }
                _ => {}
            }
        }
    }
    let known: HashMap<String, String> = variables
        .iter()
        .map(|(k, t)| (k.clone(), t.render(&HashMap::new(), secrets)))
        .collect();
    let mut allowed: Vec<String> = Vec::new();
    for o in b
        .allowed_origins
        .iter()
        .filter_map(|o| crate::config::parse_origin(o).ok())
        .chain(resolved.steps.iter().filter_map(|s| {
            let u = url::Url::parse(&s.goto.as_ref()?.render(&known, secrets)).ok()?;
            Some(u.origin().ascii_serialization())
        }))
    {
        if !allowed.contains(&o) {
            allowed.push(o);
        }
    }
    let steps = resolved
        .steps
        .iter()
        .map(|s| StepPlan {
            name: s.name.to_string(),
            method: http::Method::GET,
            url: s.goto.clone().unwrap_or_default(),
            headers: Vec::new(),
            body: None,
            timeout: s.timeout.unwrap_or(g.step_timeout).0.min(tx.timeout(g)),
            follow_redirects: true,
            allow_redirect_hosts: Vec::new(),
            expect: Default::default(),
            captures: Vec::new(),
        })
        .collect();
    let plan = BrowserPlan {
        tx: resolved,
        allowed,
        settings: g.browser.clone(),
        ca_files: g
            .ca_file
            .iter()
            .chain(tx.tls.ca_file.iter())
            .cloned()
            .collect(),
    };
    (plan, steps)
}

/// One step's plan; `resolve` fills in `${env:…}` (recording what is unset).
fn step_plan(
    g: &crate::config::Global,
    tx: &crate::config::Transaction,
    s: &crate::config::Step,
    sp: &Path,
    resolve: &mut dyn FnMut(&Template, &Path) -> Template,
) -> StepPlan {
    let body = s.body.as_ref().map(|b| match b {
        Body::Raw(t) => BodyPlan::Raw(resolve(t, &sp.key("body").key("raw"))),
        Body::Json(j) => BodyPlan::Json(j.clone()),
        Body::Form(f) => BodyPlan::Form(
            f.iter()
                .map(|(k, t)| (k.clone(), resolve(t, &sp.key("body").key("form").key(k))))
                .collect(),
        ),
    });
    StepPlan {
        name: s.name.to_string(),
        method: s.method.as_http().clone(),
        url: resolve(&s.url, &sp.key("url")),
        headers: s
            .headers
            .iter()
            .map(|(h, t)| {
                let resolved = resolve(t, &sp.key("headers").key(h.written()));
                (h.as_http().clone(), resolved)
            })
            .collect(),
        body,
        timeout: s.timeout.unwrap_or(g.step_timeout).0.min(tx.timeout(g)),
        follow_redirects: s.follow_redirects,
        allow_redirect_hosts: s.allow_redirect_hosts.clone(),
        expect: s.expect.clone(),
        captures: s
            .capture
            .iter()
            .map(|(name, c)| CapturePlan {
                name: name.clone(),
                from: c.from.clone(),
                secret: c.secret,
            })
            .collect(),
    }
}

/// The HTTPS origins whose legacy-TLS support is checked: those known before
/// the run (URLs rendered with variables only), each once, with the step that
/// first names it and the server name to present.
fn legacy_targets(
    tx: &crate::config::Transaction,
    variables: &[(String, Template)],
    steps: &[StepPlan],
    secrets: &HashMap<String, String>,
) -> Vec<(String, String, u16, String)> {
    let known: HashMap<String, String> = variables
        .iter()
        .map(|(k, t)| (k.clone(), t.render(&HashMap::new(), secrets)))
        .collect();
    let mut targets: Vec<(String, String, u16, String)> = Vec::new();
    for s in steps {
        if let Ok((o, _)) = super::http::parse_url(&s.url.render(&known, secrets)) {
            if o.https
                && !targets
                    .iter()
                    .any(|(_, h, p, _)| *h == o.host && *p == o.port)
            {
                let name = tx.tls.server_name.clone().unwrap_or_else(|| o.host.clone());
                targets.push((s.name.clone(), o.host, o.port, name));
            }
        }
    }
    targets
}

/// A 128-bit digest of a plan's full description: kept instead of the
/// description itself (over a kilobyte per transaction) to detect changes.
fn digest(description: &str) -> String {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, description).hash(&mut h);
        h.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

/// A change of secret values must restart the transaction, without the values
/// themselves ever being stored in a printable string.
fn secrets_digest(secrets: &HashMap<String, String>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut items: Vec<_> = secrets.iter().collect();
    items.sort();
    items.hash(&mut h);
    h.finish()
}

/// What `mimamori check` prints: every transaction with its steps (only those
/// of `shard` when the location is sharded), and warnings.
pub fn check_report(cfg: &Config, shard: crate::config::Shard) -> anyhow::Result<String> {
    let mut plans = build(cfg, &cfg.global.location, &|k| std::env::var(k).ok())?;
    let all = plans.len();
    plans.retain(|p| shard.runs(&p.key.service, &p.key.transaction));
    let mut out = String::new();
    let _ = write!(
        out,
        "{}: OK, location '{}'",
        cfg.source.file, cfg.global.location
    );
    if shard.count() > 1 {
        let _ = write!(
            out,
            ", shard {shard}: {} of {all} transactions",
            plans.len()
        );
    }
    out.push('\n');
    for svc in &cfg.services {
        let o = &svc.objectives;
        let _ = writeln!(
            out,
            "\nservice {} ({} / {}): availability {}%, latency {}% of operations within {}",
            svc.name,
            svc.display_name.ja,
            svc.display_name.en,
            o.availability,
            o.latency.target,
            o.latency.threshold
        );
        for p in plans.iter().filter(|p| p.key.service == svc.name) {
            let _ = write!(
                out,
                "  transaction {} every {:?}, timeout {:?}",
                p.key.transaction, p.interval, p.timeout
            );
            if p.addressing.every_address() {
                let counts = match p.addressing.fail_when {
                    crate::config::FailWhen::AnyAddress => "fails when any address fails",
                    crate::config::FailWhen::AllAddresses => "fails when all addresses fail",
                };
                let _ = write!(out, ", every address ({counts})");
            }
            if p.retries > 0 {
                let _ = write!(
                    out,
                    ", {} retries {:?} apart (first attempt counts)",
                    p.retries, p.retry_delay
                );
            }
            out.push('\n');
            let vars: HashMap<String, String> = p
                .variables
                .iter()
                .map(|(k, t)| (k.clone(), t.to_string()))
                .collect();
            for s in &p.steps {
                // Show templates as written: secrets stay `${secret:...}`.
                let url = s.url.parts.iter().map(|part| match part {
                    crate::config::Part::Var(v)
                        if vars.contains_key(v) && !vars[v].contains("${") =>
                    {
                        vars[v].clone()
                    }
                    other => Template {
                        parts: vec![other.clone()],
                    }
                    .to_string(),
                });
                // A browser step: the page it opens, if any.
                let method = if p.browser.is_some() {
                    "page"
                } else {
                    s.method.as_str()
                };
                // A secret's value can also arrive through `${env:...}`: mask it.
                let url = p.masker.mask(&url.collect::<String>());
                let _ = writeln!(
                    out,
                    "    step {}: {method} {} (timeout {:?})",
                    s.name,
                    if url.is_empty() { "(actions)" } else { &url },
                    s.timeout
                );
            }
        }
    }
    let months = cfg.global.maintenance_notice_months;
    for w in &cfg.maintenance {
        let planned = w.announced_in_time(months);
        let _ = writeln!(
            out,
            "\nmaintenance {} – {} for {}: {}",
            w.start.to_rfc3339(),
            w.end.to_rfc3339(),
            w.services.join(", "),
            if planned {
                "planned (announced in time)"
            } else {
                "NOT planned: announced too late"
            }
        );
    }
    for w in cfg.warnings() {
        let _ = writeln!(out, "warning: {w}");
    }
    Ok(out)
}
