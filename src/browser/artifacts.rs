//! What on-call sees of a failed browser run: a screenshot of the page as it
//! was when the run failed (fields that received secrets masked first) and
//! its console log, for the last `global.browser.keep_failures` failed runs
//! of each transaction, in `<artifacts_dir>/<service>/<transaction>/`.

use std::path::{Path, PathBuf};

use chromiumoxide::page::ScreenshotParams;

use super::page::Run;

/// The transaction's directory of kept failures.
pub fn dir(base: &Path, service: &str, transaction: &str) -> PathBuf {
    // Service and transaction names are label names ([a-z0-9_-]): safe as path parts.
    base.join(service).join(transaction)
}

/// Keeps the failed run's screenshot and log; returns the screenshot's path.
pub(super) async fn keep(run: &Run<'_>) -> Result<PathBuf, String> {
    let plan = run.plan;
    let settings = &run.b.settings;
    let dir = dir(
        &settings.artifacts_dir(),
        &plan.key.service,
        &plan.key.transaction,
    );
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run.mask_page().await;
    let png = run
        .page
        .screenshot(ScreenshotParams::builder().build())
        .await
        .map_err(|e| format!("screenshot: {e}"))?;
    let failed = run.steps.iter().find(|s| !s.success);
    let step = failed.map_or("run", |s| s.name.as_str());
    // No dot in the name: the extensions are added to it.
    let stamp = crate::clock::now().format("%Y%m%dT%H%M%S%3fZ");
    let base = dir.join(format!("{stamp}-{step}"));
    let shot = base.with_extension("png");
    std::fs::write(&shot, png).map_err(|e| format!("{}: {e}", shot.display()))?;
    let mut log = String::new();
    log.push_str(&format!(
        "service {} transaction {} location {}\n",
        plan.key.service, plan.key.transaction, plan.location
    ));
    if let Some(s) = failed {
        log.push_str(&format!(
            "failed step {}: {} {}\n",
            s.name,
            s.reason.map_or("", |r| r.as_str()),
            s.message.as_deref().unwrap_or_default()
        ));
    }
    for u in run
        .seen
        .blocked_urls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        log.push_str(&format!("blocked: {u}\n"));
    }
    for l in run
        .seen
        .console
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        log.push_str(l);
        log.push('\n');
    }
    let log_path = base.with_extension("log");
    std::fs::write(&log_path, run.masker.mask(&log))
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    prune(&dir, settings.keep_failures as usize);
    Ok(shot)
}

/// Removes all but the newest `keep` failures (screenshot and log) in `dir`.
pub fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut shots: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    // Names start with a UTC time stamp: their order is their age.
    shots.sort();
    let extra = shots.len().saturating_sub(keep);
    for p in &shots[..extra] {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(p.with_extension("log"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest() {
        let d = std::env::temp_dir().join(format!("mimamori-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..7 {
            std::fs::write(d.join(format!("2026010{i}T000000Z-s.png")), b"x").unwrap();
            std::fs::write(d.join(format!("2026010{i}T000000Z-s.log")), b"x").unwrap();
        }
        prune(&d, 5);
        let mut left: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 10);
        assert_eq!(left[0], "20260102T000000Z-s.log");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
