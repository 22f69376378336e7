//! One policy for a tool a test needs but the machine lacks (promtool,
//! Prometheus, Alertmanager, openssl, node and the npm check folders,
//! s3s-fs, moto, kubectl…): under CI (`CI=true`, set by `.ci/run`) the test
//! fails, since CI installs every tool (`scripts/test.sh`); elsewhere it is
//! skipped with a message saying what was not checked and how to install it.
//! A test never passes silently without its tool.

use std::path::{Path, PathBuf};

/// Whether the tests run under CI, where a missing tool is a failure.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// How to install a tool the tests use.
fn install_hint(tool: &str) -> &'static str {
    match tool {
        "promtool" | "prometheus" => "apt-get install prometheus",
        "amtool" | "prometheus-alertmanager" | "alertmanager" => {
            "apt-get install prometheus-alertmanager"
        }
        "openssl" => "apt-get install openssl",
        "node" | "npm" => "install Node 20 and npm (Debian: apt-get install nodejs npm)",
        "chromium" => "apt-get install chromium",
        "python3" => "apt-get install python3",
        "s3s-fs" => "cargo install --locked s3s-fs@0.14.1 --features binary",
        _ => "see scripts/test.sh",
    }
}

/// A tool (or a part of one: an npm folder, a Python module) is missing:
/// fails the test under CI; elsewhere prints that the test (or the named
/// part of it) is skipped. Returns so the caller can skip.
pub fn missing(what: &str, install: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let msg = format!("{what} is not installed ({install}; scripts/test.sh does it)");
    assert!(
        !under_ci(),
        "{test}: {msg}. Under CI (CI=true) a missing tool fails the test."
    );
    eprintln!("\n*** SKIPPED in {test}: {msg}, so this was NOT checked. ***\n");
}

/// `name` from the environment variable of its name in capitals (`PROMTOOL`,
/// `NODE`), from `PATH`, or from `~/.cargo/bin` and `~/.local/bin` (where
/// `cargo install` and `pip install --user` put tools); `None` after
/// [`missing`] when it is nowhere.
pub fn tool(name: &str) -> Option<PathBuf> {
    one_of(&[name])
}

/// The first of `names` found (a tool packaged under several names, such as
/// Debian's `prometheus-alertmanager`), as [`tool`] finds it.
pub fn one_of(names: &[&str]) -> Option<PathBuf> {
    let found = names.iter().find_map(|n| find(n));
    if found.is_none() {
        let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        missing(&list.join(" or "), install_hint(names[0]));
    }
    found
}

/// Like [`tool`], for a helper whose callers cannot skip: a missing tool
/// fails the test everywhere, with the same message.
pub fn needed(name: &str) -> PathBuf {
    find(name).unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed ({}; scripts/test.sh does it)",
            install_hint(name)
        )
    })
}

fn find(name: &str) -> Option<PathBuf> {
    let var = name.to_ascii_uppercase().replace('-', "_");
    if let Some(p) = std::env::var_os(&var).map(PathBuf::from) {
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let extra = home
        .iter()
        .flat_map(|h| [h.join(".cargo/bin"), h.join(".local/bin")]);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `python3` can import `module`; [`missing`] when it cannot.
pub fn python_module(module: &str, install: &str) -> bool {
    let Some(python) = tool("python3") else {
        return false;
    };
    let ok = std::process::Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        missing(&format!("the Python module `{module}`"), install);
    }
    ok
}

/// The npm check folder `tests/<folder>` with its `node_modules` (and `node`
/// itself); [`missing`] when either is not there.
pub fn npm_folder(folder: &str) -> Option<(PathBuf, PathBuf)> {
    let node = tool("node")?;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(folder);
    if !dir.join("node_modules").is_dir() {
        missing(
            &format!("tests/{folder}/node_modules"),
            &format!("npm ci --prefix tests/{folder} --no-audit --no-fund"),
        );
        return None;
    }
    Some((node, dir))
}
