//! The prober's one Chromium: started at the first browser run, on a thread
//! of its own, restarted after it crashed or stopped answering.
//!
//! Every run opens a new browser context (CDP `Target.createBrowserContext`,
//! an incognito-like profile: no cookies, storage or cache shared with any
//! other run) and disposes of it at the end. The process itself gets a fresh
//! temporary `--user-data-dir`, removed when the process is retired, so
//! nothing is persisted between processes either.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use futures_util::StreamExt as _;
use tokio::sync::{oneshot, Semaphore};

use crate::probe::plan::{BrowserPlan, TransactionPlan};

/// How long starting Chromium may take before it counts as unstartable.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(20);

/// The app's browser engine. Owned by the app's `ProbeContext`; dropping it
/// ends the browser thread and kills Chromium.
#[derive(Default)]
pub struct Engine {
    shared: OnceLock<Shared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("pid", &self.pid()).finish()
    }
}

struct Shared {
    /// The browser thread's runtime: Chromium's connection, its handler and
    /// every page operation run there.
    rt: tokio::runtime::Handle,
    /// Dropped with the engine: the browser thread then ends.
    _stop: oneshot::Sender<()>,
    /// The running process, if any.
    live: Mutex<Option<Arc<Live>>>,
    /// Serializes launches.
    launching: tokio::sync::Mutex<()>,
    /// Runs at once: `global.browser.max_concurrent` and its places. A
    /// reload that changes the limit gives the runs that start after it a
    /// new set of places; runs holding the old ones finish with them.
    permits: Mutex<(u32, Arc<Semaphore>)>,
    /// Processes started so far.
    starts: AtomicU64,
}

/// One Chromium process.
pub(super) struct Live {
    pub browser: Browser,
    /// Set when the connection to the process ended (it crashed or was killed).
    pub dead: Arc<AtomicBool>,
    pub pid: Option<u32>,
    /// What it was started with; a run that needs other flags restarts it.
    pub flags: Flags,
    profile: PathBuf,
    handler: tokio::task::JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        // The child is killed on drop (chromiumoxide sets kill_on_drop).
        self.handler.abort();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The process-wide flags a run needs: name mappings and trusted keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Flags {
    pub executable: Option<PathBuf>,
    /// `global.hosts_file` as `(name, address)`, sorted.
    pub hosts_map: Vec<(String, String)>,
    /// The hosts of the origins the pages may reach (of every transaction
    /// this process served): the only names Chromium resolves.
    pub allowed_hosts: Vec<String>,
    /// `--ignore-certificate-errors-spki-list`: base64 SHA-256 of the
    /// SubjectPublicKeyInfo of each certificate in the CA files.
    pub spki: Vec<String>,
}

impl Flags {
    /// The flags `plan` needs. With CA files of its own (`global.ca_file`,
    /// `tls.ca_file`), each HTTPS origin the page may reach is first checked
    /// by mimamori's own TLS client (rustls, trusting the system's roots and
    /// those CA files, the name and the dates checked as for HTTP steps); the
    /// key of each leaf certificate that passed is what Chromium is told to
    /// accept beyond its own roots. Nothing else is exempted from Chromium's
    /// verification: an origin that fails the check stays untrusted there.
    pub async fn for_plan(plan: &TransactionPlan, b: &BrowserPlan) -> Flags {
        let mut hosts_map: Vec<(String, String)> = plan
            .addressing
            .hosts
            .entries()
            .filter_map(|(name, ips)| {
                let ip = ips.first()?;
                Some((
                    name.to_string(),
                    match ip {
                        std::net::IpAddr::V4(v4) => v4.to_string(),
                        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                    },
                ))
            })
            .collect();
        hosts_map.sort();
        let mut allowed_hosts: Vec<String> = b
            .allowed
            .iter()
            .filter_map(|o| Some(url::Url::parse(o).ok()?.host_str()?.to_string()))
            .collect();
        allowed_hosts.sort();
        allowed_hosts.dedup();
        let mut spki = Vec::new();
        if !b.ca_files.is_empty() {
            for origin in &b.allowed {
                let Ok(u) = url::Url::parse(origin) else {
                    continue;
                };
                let (Some(host), Some(port)) = (u.host_str(), u.port_or_known_default()) else {
                    continue;
                };
                if u.scheme() != "https" {
                    continue;
                }
                let checked = tokio::time::timeout(
                    Duration::from_secs(5),
                    verified_leaf_key(plan, host, port),
                )
                .await;
                match checked {
                    Ok(Ok(k)) => {
                        if !spki.contains(&k) {
                            spki.push(k)
                        }
                    }
                    Ok(Err(m)) => tracing::debug!(origin, "TLS check for the browser: {m}"),
                    Err(_) => tracing::debug!(origin, "TLS check for the browser: timeout"),
                }
            }
        }
        spki.sort();
        Flags {
            executable: b.settings.executable.clone(),
            hosts_map,
            allowed_hosts,
            spki,
        }
    }

    /// `--host-resolver-rules`: the allowed hosts resolve (through
    /// `global.hosts_file` when it names them), every other name resolves
    /// to nothing. Requests the Fetch gate does not see (WebSocket, for one)
    /// cannot reach other hosts by name either.
    fn resolver_rules(&self) -> String {
        let mut rules = Vec::new();
        for h in &self.allowed_hosts {
            match self
                .hosts_map
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(h))
            {
                Some((n, ip)) => rules.push(format!("MAP {n} {ip}")),
                None => rules.push(format!("EXCLUDE {h}")),
            }
        }
        rules.push("MAP * ~NOTFOUND".into());
        rules.join(", ")
    }

    /// Whether a process started with `self` serves a run that needs `other`.
    fn covers(&self, other: &Flags) -> bool {
        self.executable == other.executable
            && self.hosts_map == other.hosts_map
            && other
                .allowed_hosts
                .iter()
                .all(|h| self.allowed_hosts.contains(h))
            && other.spki.iter().all(|k| self.spki.contains(k))
    }

    /// `self` with `other`'s keys added.
    fn union(&self, other: &Flags) -> Flags {
        let mut f = other.clone();
        for k in &self.spki {
            if !f.spki.contains(k) {
                f.spki.push(k.clone());
            }
        }
        f.spki.sort();
        for h in &self.allowed_hosts {
            if !f.allowed_hosts.contains(h) {
                f.allowed_hosts.push(h.clone());
            }
        }
        f.allowed_hosts.sort();
        f
    }
}

/// Base64 SHA-256 of the SubjectPublicKeyInfo of the leaf certificate
/// `host:port` presents, if the plan's TLS settings verify it for `host`.
async fn verified_leaf_key(
    plan: &TransactionPlan,
    host: &str,
    port: u16,
) -> Result<String, String> {
    let a = &plan.addressing;
    let ips = crate::probe::resolve::lookup(&a.hosts, host, port, a.ip_protocol).await?;
    let ip = ips.first().ok_or("no address")?;
    let tcp = tokio::net::TcpStream::connect((*ip, port))
        .await
        .map_err(|e| e.to_string())?;
    let name =
        rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(plan.tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no certificate")?;
    let der = openssl::x509::X509::from_der(leaf.as_ref())
        .and_then(|c| c.public_key())
        .and_then(|k| k.public_key_to_der())
        .map_err(|e| e.to_string())?;
    let d = ring::digest::digest(&ring::digest::SHA256, &der);
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.encode(d.as_ref()))
}

/// `max_concurrent` places for runs (at least one).
fn places(max_concurrent: u32) -> (u32, Arc<Semaphore>) {
    (
        max_concurrent,
        Arc::new(Semaphore::new(max_concurrent.max(1) as usize)),
    )
}

/// Why the engine could not give a run a browser: the prober's fault.
#[derive(Debug)]
pub(super) struct Unavailable(pub String);

impl Engine {
    fn shared(&self, max_concurrent: u32) -> &Shared {
        self.shared.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the browser thread");
            let handle = rt.handle().clone();
            let (tx, rx) = oneshot::channel::<()>();
            std::thread::Builder::new()
                .name("mimamori-browser".into())
                .spawn(move || {
                    rt.block_on(async {
                        let _ = rx.await;
                    })
                })
                .expect("a thread for the browser");
            Shared {
                rt: handle,
                _stop: tx,
                live: Mutex::new(None),
                launching: tokio::sync::Mutex::new(()),
                permits: Mutex::new(places(max_concurrent)),
                starts: AtomicU64::new(0),
            }
        })
    }

    /// The browser thread's runtime, where the runs' page operations go.
    pub(super) fn runtime(&self, max_concurrent: u32) -> tokio::runtime::Handle {
        self.shared(max_concurrent).rt.clone()
    }

    /// A place among the runs at once, `max_concurrent` as the configuration
    /// now says.
    pub(super) fn permits(&self, max_concurrent: u32) -> Arc<Semaphore> {
        let mut p = self
            .shared(max_concurrent)
            .permits
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if p.0 != max_concurrent {
            tracing::info!(
                from = p.0,
                to = max_concurrent,
                "browser runs at once (global.browser.max_concurrent) changed"
            );
            *p = places(max_concurrent);
        }
        p.1.clone()
    }

    /// The process id of the running Chromium, if one runs.
    pub fn pid(&self) -> Option<u32> {
        let s = self.shared.get()?;
        let live = s.live.lock().unwrap_or_else(|e| e.into_inner());
        live.as_ref()
            .filter(|l| !l.dead.load(Ordering::SeqCst))?
            .pid
    }

    /// How many Chromium processes this engine started.
    pub fn starts(&self) -> u64 {
        self.shared
            .get()
            .map_or(0, |s| s.starts.load(Ordering::Relaxed))
    }

    /// Retires `live` (after a crash or when it stopped answering): the next
    /// run starts a new process; this one is killed when its last run lets go.
    pub(super) fn retire(&self, live: &Arc<Live>) {
        live.dead.store(true, Ordering::SeqCst);
        if let Some(s) = self.shared.get() {
            let mut cur = s.live.lock().unwrap_or_else(|e| e.into_inner());
            if cur.as_ref().is_some_and(|c| Arc::ptr_eq(c, live)) {
                *cur = None;
            }
        }
    }

    /// Retires the running process, whatever it is (a run overran its hard
    /// deadline: the browser no longer answers).
    pub(super) fn retire_current(&self) {
        if let Some(s) = self.shared.get() {
            if let Some(l) = s.live.lock().unwrap_or_else(|e| e.into_inner()).take() {
                l.dead.store(true, Ordering::SeqCst);
            }
        }
    }

    /// The running browser, started (or restarted) as needed. Must be
    /// called on the browser thread's runtime.
    pub(super) async fn browser(
        &self,
        max_concurrent: u32,
        flags: &Flags,
    ) -> Result<Arc<Live>, Unavailable> {
        let s = self.shared(max_concurrent);
        let current = || {
            s.live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .filter(|l| !l.dead.load(Ordering::SeqCst) && l.flags.covers(flags))
        };
        if let Some(l) = current() {
            return Ok(l);
        }
        let _launching = s.launching.lock().await;
        if let Some(l) = current() {
            return Ok(l);
        }
        let wanted = match s.live.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            // Keep the keys other transactions need.
            Some(old) if !old.dead.load(Ordering::SeqCst) => old.flags.union(flags),
            _ => flags.clone(),
        };
        let n = s.starts.fetch_add(1, Ordering::Relaxed);
        let live = Arc::new(launch(&wanted, n).await?);
        tracing::info!(pid = ?live.pid, "started Chromium for browser transactions");
        *s.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(live.clone());
        Ok(live)
    }
}

/// The Chromium a browser without `global.browser.executable` runs: the
/// first of Debian's and Google's names on `PATH`.
pub fn default_executable() -> Option<PathBuf> {
    on_path(&[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ])
}

/// The first of `names` on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// A launcher for `exe` that has the kernel kill Chromium when the thread
/// that started it ends (the browser thread: with the engine, or with
/// mimamori however it ends, even by SIGKILL), via util-linux's `setpriv
/// --pdeathsig`, so no Chromium outlives its prober. `exe` itself when
/// `setpriv` is missing (then Chromium is killed when the engine is dropped).
fn with_parent_death_signal(exe: &std::path::Path, profile: &std::path::Path) -> PathBuf {
    let Some(setpriv) = on_path(&["setpriv"]) else {
        return exe.to_path_buf();
    };
    let quote =
        |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let script = profile.join("launch.sh");
    let text = format!(
        "#!/bin/sh\nexec {} --pdeathsig KILL -- {} \"$@\"\n",
        quote(&setpriv),
        quote(exe)
    );
    use std::os::unix::fs::PermissionsExt as _;
    let written = std::fs::write(&script, text)
        .and_then(|()| std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)));
    match written {
        Ok(()) => script,
        Err(_) => exe.to_path_buf(),
    }
}

/// Removes the profile directories of earlier mimamori processes that are
/// gone (killed with SIGKILL, or a test binary that exited without dropping
/// its engine): a profile is named `mimamori-chromium-PID-…`, and one whose
/// PID has no `/proc` entry belongs to nobody. A PID reused since is left
/// alone until a later sweep.
fn sweep_stale_profiles(dir: &std::path::Path) -> usize {
    // Without /proc every other prober's profile would look abandoned.
    if !std::path::Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("mimamori-chromium-"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, dir = %dir.display(), "removed browser profiles left by exited probers");
    }
    removed
}

/// Starts Chromium with `flags` and a fresh profile directory.
async fn launch(flags: &Flags, n: u64) -> Result<Live, Unavailable> {
    // Apps in one process (tests) each have their own engine: the name also
    // carries a random part, so two never share a profile.
    let profile = std::env::temp_dir().join(format!(
        "mimamori-chromium-{}-{n}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    if n == 0 {
        sweep_stale_profiles(&std::env::temp_dir());
    }
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).map_err(|e| {
        Unavailable(format!(
            "cannot create the browser profile {}: {e}",
            profile.display()
        ))
    })?;
    let mut b = BrowserConfig::builder()
        .no_sandbox()
        .respect_https_errors()
        .user_data_dir(&profile)
        .launch_timeout(LAUNCH_TIMEOUT)
        // Deadlines are the runs' own; this only bounds a lost answer.
        .request_timeout(Duration::from_secs(120))
        // chromiumoxide adds the leading `--`.
        .args([
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-component-update",
            "disable-sync",
            "disable-background-networking",
            "disable-domain-reliability",
            "no-pings",
        ]);
    let rules = flags.resolver_rules();
    b = b.arg(("host-resolver-rules", rules.as_str()));
    let spki = flags.spki.join(",");
    if !spki.is_empty() {
        b = b.arg(("ignore-certificate-errors-spki-list", spki.as_str()));
    }
    let exe = match &flags.executable {
        Some(e) => e.clone(),
        None => default_executable().ok_or_else(|| {
            Unavailable(
                "no Chromium on PATH (install chromium or set global.browser.executable)".into(),
            )
        })?,
    };
    b = b.chrome_executable(with_parent_death_signal(&exe, &profile));
    let config = b
        .build()
        .map_err(|m| Unavailable(format!("no Chromium to start: {m}")))?;
    let (mut browser, mut handler) = Browser::launch(config)
        .await
        .map_err(|e| Unavailable(format!("Chromium did not start: {e}")))?;
    let pid = browser.get_mut_child().and_then(|c| c.as_mut_inner().id());
    let dead = Arc::new(AtomicBool::new(false));
    let flag = dead.clone();
    let handler = tokio::spawn(async move {
        // The connection's end, or its failure, is the process's end: the
        // handler is dropped, so commands still waiting fail at once.
        while let Some(r) = handler.next().await {
            if let Err(
                chromiumoxide::error::CdpError::Ws(_) | chromiumoxide::error::CdpError::Io(_),
            ) = r
            {
                break;
            }
        }
        flag.store(true, Ordering::SeqCst);
        tracing::warn!("the connection to Chromium ended");
    });
    Ok(Live {
        browser,
        dead,
        pid,
        flags: flags.clone(),
        profile,
        handler,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reloaded_max_concurrent_applies_to_the_runs_after_it() {
        let engine = Engine::default();
        let two = engine.permits(2);
        let held: Vec<_> = (0..2)
            .map(|_| two.clone().try_acquire_owned().unwrap())
            .collect();
        assert!(two.clone().try_acquire_owned().is_err(), "two at once");
        assert!(
            Arc::ptr_eq(&two, &engine.permits(2)),
            "unchanged: the same places"
        );
        // Raised to three: the runs after the reload have three places of their own.
        let three = engine.permits(3);
        assert_eq!(three.available_permits(), 3);
        // Lowered to one: one place, whatever the earlier runs still hold.
        let one = engine.permits(1);
        let _p = one.clone().try_acquire_owned().unwrap();
        assert!(one.clone().try_acquire_owned().is_err());
        drop(held);
    }

    #[test]
    fn profiles_of_exited_processes_are_swept_and_live_ones_kept() {
        let dir = std::env::temp_dir().join(format!("mimamori-sweep-{}", fastrand::u64(..)));
        // No process has a PID this large (Linux's maximum is 2^22).
        let gone = dir.join("mimamori-chromium-4000000000-0-0000abcd");
        let ours = dir.join(format!(
            "mimamori-chromium-{}-0-0000abcd",
            std::process::id()
        ));
        let init = dir.join("mimamori-chromium-1-3-0000abcd");
        let other = dir.join("something-else-4000000000");
        for d in [&gone, &ours, &init, &other] {
            std::fs::create_dir_all(d.join("Default")).unwrap();
        }
        assert_eq!(sweep_stale_profiles(&dir), 1);
        assert!(!gone.exists());
        assert!(ours.exists() && init.exists() && other.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
