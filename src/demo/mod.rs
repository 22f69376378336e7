//! `mimamori demo`: simulated AOULU services on loopback and the exporter
//! probing them with the shipped `deploy/aoulu.yaml`, plus a fault switch.

pub mod services;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::{Method, Response, StatusCode};

use crate::config::{self, Config, MaintenanceWindow};
use crate::server::{self, App, AppOptions, ConfigSource, EnvFn, Extension};
use services::{Faults, Mode, Product};

/// The shipped configuration, which the demo runs as is.
pub const AOULU_YAML: &str = include_str!("../../deploy/aoulu.yaml");

/// The demo's browser transactions of the web UI ([`ui`]), by service: added
/// to [`AOULU_YAML`]'s services when the binary has the `browser` feature and
/// Chromium is installed (see the file's comment for why they are not in it).
pub const BROWSER_YAML: &str = include_str!("browser.yaml");

/// What `mimamori demo` was asked for (its flags are in [`crate::cli::DemoArgs`]).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Address for /metrics and the /demo/fault switch.
    pub listen: SocketAddr,
    /// Run every transaction this often instead of the configured interval.
    pub interval: Option<Duration>,
    /// Probe location name.
    pub location: Option<config::LabelName>,
    /// Services put in an announced maintenance window from now on for an hour.
    pub maintenance: Vec<String>,
    /// TLS and basic authentication for the endpoints (exporter-toolkit format).
    pub web_config: Option<std::path::PathBuf>,
    /// Whether to run the demo's browser transactions (when the binary and the
    /// machine can).
    pub browser: bool,
}

/// The demo's extra routes: `POST /demo/fault` and `GET /demo`.
struct Switch {
    faults: Arc<Faults>,
    services: Vec<(Product, SocketAddr)>,
    /// The demo CA's certificate, which the services' certificates chain to.
    ca_file: std::path::PathBuf,
}

impl Extension for Switch {
    fn handle(&self, method: &Method, path: &str, query: &str) -> Option<Response<server::Body>> {
        match (method, path) {
            (&Method::POST, "/demo/fault") => Some(self.fault(query)),
            (&Method::GET, "/demo") => {
                let active: Vec<_> = self.faults.active().into_iter().map(|(s, m, left)| serde_json::json!({"service": s, "mode": m, "seconds_left": left})).collect();
                let services: Vec<_> = self.services.iter().map(|(p, a)| serde_json::json!({"service": p.service(), "url": format!("https://{a}"), "ui": format!("https://{a}/ui/login")})).collect();
                let modes: Vec<_> = services::MODES
                    .iter()
                    .map(|(m, ja, en)| serde_json::json!({"mode": m, "ja": ja, "en": en}))
                    .collect();
                Some(server::text(
                    StatusCode::OK,
                    "application/json",
                    serde_json::json!({"services": services, "faults": active, "modes": modes, "ca_file": self.ca_file})
                        .to_string(),
                ))
            }
            _ => None,
        }
    }

    fn index(&self) -> String {
        let mut s = String::from(
            "<h2>デモ / demo</h2><p>障害の注入 / inject a fault: <code>curl -X POST 'http://ADDR/demo/fault?service=denshibin&amp;mode=down&amp;seconds=300'</code> \
             · <a href=\"/demo\">/demo</a></p><ul>",
        );
        for (m, ja, en) in services::MODES {
            s += &format!("<li><code>{m}</code>: {ja} / {en}</li>");
        }
        s += "</ul><p>画面 / web UI: ";
        for (p, a) in &self.services {
            s += &format!("<code>{}</code> https://{a}/ui/login ", p.service());
        }
        s + "</p>"
    }
}

impl Switch {
    fn fault(&self, query: &str) -> Response<server::Body> {
        let q: std::collections::HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let bad = |m: String| server::text(StatusCode::BAD_REQUEST, "text/plain", m + "\n");
        let Some(service) = q.get("service") else {
            return bad("missing service= (hanbai or denshibin)".into());
        };
        if !self.services.iter().any(|(p, _)| p.service() == service) {
            return bad(format!("unknown service '{service}' (hanbai or denshibin)"));
        }
        let Some(mode) = q.get("mode").and_then(|m| Mode::parse(m)) else {
            let names: Vec<&str> = services::MODES.iter().map(|m| m.0).collect();
            return bad(format!("mode= must be one of {}", names.join(", ")));
        };
        let seconds: u64 = match q.get("seconds").map(|s| s.parse()) {
            None => 300,
            Some(Ok(s)) if s <= 86_400 => s,
            Some(_) => return bad("seconds= must be a whole number up to 86400".into()),
        };
        self.faults.set(service, mode, Duration::from_secs(seconds));
        tracing::info!(%service, ?mode, seconds, "demo fault set");
        server::text(
            StatusCode::OK,
            "application/json",
            serde_json::json!({"service": service, "mode": mode, "seconds": seconds}).to_string()
                + "\n",
        )
    }
}

/// Builds the demo configuration: [`config_text`] with the simulated
/// services' addresses, the demo CA and the maintenance asked for.
pub fn demo_config(args: &DemoOptions, ca_file: &std::path::Path) -> anyhow::Result<Config> {
    let (text, name) = config_text(args)?;
    let mut cfg = config::parse(&text, name)?;
    cfg.global.ca_file = Some(ca_file.to_path_buf());
    let now = crate::clock::now().fixed_offset();
    for s in &args.maintenance {
        anyhow::ensure!(
            cfg.service(s).is_some(),
            "--maintenance {s}: unknown service (hanbai or denshibin)"
        );
        cfg.maintenance.push(MaintenanceWindow {
            services: vec![s.clone()],
            start: now - chrono::Duration::seconds(1),
            end: now + chrono::Duration::hours(1),
            announced_at: now - chrono::Duration::days(365),
            announced_via: "demo".into(),
            title: config::DisplayName {
                ja: "デモ用メンテナンス".into(),
                en: "Demo maintenance".into(),
            },
        });
    }
    let errors = cfg.validate();
    anyhow::ensure!(errors.is_empty(), config::ConfigErrors(errors));
    Ok(cfg)
}

/// The configuration text the demo runs (what `--print-config` prints, and
/// so what the local stack's rules are generated from) and what to call it
/// in errors: `deploy/aoulu.yaml`; with `src/demo/browser.yaml`'s
/// transactions when `args.browser` is asked for and the binary and the
/// machine can run them; with `--interval` (the whole transaction's and a
/// step's timeout cut to it when longer) and `--location`.
pub fn config_text(args: &DemoOptions) -> anyhow::Result<(String, &'static str)> {
    use serde_yaml::Value;
    let browser = args.browser && browser_available();
    if !browser && args.interval.is_none() && args.location.is_none() {
        return Ok((AOULU_YAML.to_string(), "deploy/aoulu.yaml (built in)"));
    }
    let mut doc: Value = serde_yaml::from_str(AOULU_YAML)?;
    if browser {
        with_browser_transactions(&mut doc, BROWSER_YAML)?;
    }
    let global = doc
        .get_mut("global")
        .and_then(Value::as_mapping_mut)
        .context("no global:")?;
    if let Some(i) = args.interval {
        let millis = |d: Duration| Value::from(format!("{}ms", d.as_millis()));
        let read = |g: &serde_yaml::Mapping, k: &str| {
            g.get(k)
                .and_then(Value::as_str)
                .and_then(|v| config::duration::parse(v).ok())
        };
        global.insert("interval".into(), millis(i));
        if read(global, "timeout").is_some_and(|t| t > i) {
            global.insert("timeout".into(), millis(i));
            if let Some(st) = read(global, "step_timeout") {
                global.insert("step_timeout".into(), millis(st.min(i)));
            }
        }
    }
    if let Some(l) = &args.location {
        global.insert("location".into(), Value::from(l.to_string()));
    }
    let name = if browser {
        "deploy/aoulu.yaml with src/demo/browser.yaml (built in), and the demo's options"
    } else {
        "deploy/aoulu.yaml (built in), with the demo's options"
    };
    Ok((serde_yaml::to_string(&doc)?, name))
}

/// Whether this binary can run browser transactions and a Chromium is on
/// `PATH` under one of the names the engine looks for.
pub fn browser_available() -> bool {
    #[cfg(feature = "browser")]
    return crate::browser::default_executable().is_some();
    #[cfg(not(feature = "browser"))]
    false
}

/// `doc` (a whole configuration) with the transactions of `extra` (service
/// name → list of transactions) appended to its services' transactions.
fn with_browser_transactions(doc: &mut serde_yaml::Value, extra: &str) -> anyhow::Result<()> {
    use serde_yaml::Value;
    let extra: serde_yaml::Mapping = serde_yaml::from_str(extra)?;
    let services = doc
        .get_mut("services")
        .and_then(Value::as_sequence_mut)
        .context("no services")?;
    for (name, txs) in extra {
        let service = services
            .iter_mut()
            .find(|s| s.get("name") == Some(&name))
            .with_context(|| format!("no service {name:?} for the demo's browser transactions"))?;
        let list = service
            .get_mut("transactions")
            .and_then(Value::as_sequence_mut)
            .context("a service without transactions")?;
        list.extend(txs.as_sequence().cloned().unwrap_or_default());
    }
    Ok(())
}

/// `mimamori demo`.
pub async fn run(args: DemoOptions) -> anyhow::Result<()> {
    let web = match args.web_config.as_deref() {
        Some(p) => server::LiveWeb::from_file(p)?,
        None => server::LiveWeb::fixed(Default::default()),
    };
    let pki = services::pki().context("making the demo certificates")?;
    let dir = std::env::temp_dir().join(format!("mimamori-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem)?;

    let faults = Arc::new(Faults::default());
    let mut env = std::collections::HashMap::new();
    let mut addrs = Vec::new();
    for product in [Product::Hanbai, Product::Denshibin] {
        let password = format!("demo-{:012x}", fastrand::u64(..));
        let addr = services::start(
            product,
            password.clone(),
            faults.clone(),
            pki.server.clone(),
        )
        .await?;
        let upper = product.service().to_ascii_uppercase();
        env.insert(format!("{upper}_URL"), format!("https://{addr}"));
        // Plain HTTP to the HTTPS port: not served, as the seed requires.
        env.insert(format!("{upper}_PLAIN_URL"), format!("http://{addr}/"));
        env.insert(format!("{upper}_PASSWORD"), password);
        addrs.push((product, addr));
    }
    let cfg = demo_config(&args, &ca_file)?;
    let env: EnvFn = Arc::new(move |k| env.get(k).cloned());
    let switch = Arc::new(Switch {
        faults,
        services: addrs.clone(),
        ca_file: ca_file.clone(),
    });
    let app = App::start(
        cfg.clone(),
        AppOptions {
            location: args.location.clone().map(String::from),
            env,
            extension: Some(switch),
            ..AppOptions::new(ConfigSource::Fixed(Box::new(cfg)))
        },
    )?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let at = listener.local_addr()?;
    let mut banner = String::from("mimamori demo — 見守り\n");
    for (p, a) in &addrs {
        banner += &format!("  simulated {:<10} https://{a}\n", p.service());
    }
    for (p, a) in &addrs {
        banner += &format!("  web UI    {:<10} https://{a}/ui/login\n", p.service());
    }
    let scheme = web.scheme();
    banner += &format!("  metrics              {scheme}://{at}/metrics\n");
    banner += &format!("  inject a fault       curl -X POST '{scheme}://{at}/demo/fault?service=denshibin&mode=down&seconds=300'\n");
    banner += "                       (modes: down = 503, refuse = connection refused, slow = 4 s answers,\n";
    banner += "                        ui_slow = API fast, web UI list after 6 s, ui_broken = web UI script fails,\n";
    banner += "                        ok = clear)\n";
    banner += &format!(
        "  interval {:?}; Ctrl-C stops\n",
        app.config().global.interval.0
    );
    let running = app.config();
    let global = &running.global;
    let browser_txs: Vec<String> = running
        .services
        .iter()
        .flat_map(|s| {
            s.transactions
                .iter()
                .filter(|t| t.browser.is_some())
                .map(move |t| format!("{}/{} (every {:?})", s.name, t.name, t.interval(global)))
        })
        .collect();
    banner += &if !browser_txs.is_empty() {
        format!(
            "  browser transactions {} in headless Chromium (--no-browser leaves them out)\n",
            browser_txs.join(", ")
        )
    } else if !args.browser {
        "  browser transactions off (--no-browser)\n".into()
    } else if cfg!(feature = "browser") {
        "  browser transactions off: no Chromium on PATH (apt-get install chromium)\n".into()
    } else {
        "  browser transactions off: built without the `browser` feature\n".into()
    };
    // One write, errors ignored: a closed stdout must not stop the demo.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes());
        let _ = out.flush();
    }
    server::serve_on_with(listener, app.clone(), Arc::new(web), server::signals(app)).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
