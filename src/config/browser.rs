//! Browser transactions (`browser:` instead of `steps:`): named steps of page
//! actions in headless Chromium, and the prober-wide browser settings
//! (`global.browser`). The engine is `crate::browser` (cargo feature
//! `browser`); these types exist in every build, so a slim build can say
//! why it refuses such a configuration.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde::Deserialize;

use super::locate::Path;
use super::{ConfigError, Dur, LabelName, Template};

/// Checks a template's variables (against those defined so far) and secrets.
pub(super) type CheckTemplate<'a> =
    dyn Fn(&Template, &HashSet<&str>, &Path, &mut Vec<ConfigError>) + 'a;

/// The prober's browser (`global.browser`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BrowserSettings {
    /// The Chromium binary (default: `chromium`, `chromium-browser` or
    /// `google-chrome` found on `PATH`).
    pub executable: Option<PathBuf>,
    /// Browser transactions running at once in the prober's one Chromium (default 2);
    /// a run waits for a free place (that wait is not part of any step's time).
    pub max_concurrent: u32,
    /// Where the screenshots and console logs of failed runs are kept
    /// (default: `mimamori-browser` in the system's temporary directory).
    pub artifacts_dir: Option<PathBuf>,
    /// Failed runs kept per transaction in `artifacts_dir` (default 5; 0 keeps none).
    pub keep_failures: u32,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        BrowserSettings {
            executable: None,
            max_concurrent: 2,
            artifacts_dir: None,
            keep_failures: 5,
        }
    }
}

impl BrowserSettings {
    /// `artifacts_dir` or its default.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.artifacts_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("mimamori-browser"))
    }
}

/// A transaction's browser steps.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrowserTransaction {
    /// Origins (`scheme://host[:port]`) the page may reach besides those of
    /// the steps' `goto` URLs; every other request is blocked and counted.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The operations, in order; at least one, the first with `goto`.
    pub steps: Vec<BrowserStep>,
}

/// One timed operation of a browser transaction: optionally open a page,
/// then the actions, then wait until the page is ready (the step's time
/// ends there), then check and capture.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrowserStep {
    /// The `step` label; unique in the transaction.
    pub name: LabelName,
    /// Overrides `global.step_timeout`.
    pub timeout: Option<Dur>,
    /// Navigate to this URL first (`https://` or `http://`; may use `${...}`).
    pub goto: Option<Template>,
    /// Page actions, in order.
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
    pub actions: Vec<Action>,
    /// What ends the step's time; default `{load: true}` for a step with
    /// `goto`, none (the actions' end) otherwise.
    pub ready: Option<Condition>,
    /// Checked once the page is ready; a failure is the reason `assertion`.
    #[serde(default)]
    pub expect: Vec<PageExpect>,
    /// Values read from the page for later steps (`${name}`).
    #[serde(default)]
    pub capture: BTreeMap<String, PageCapture>,
}

/// A page action.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Click the element (waits until it is visible).
    Click(String),
    /// Type `value` into the field, replacing its contents.
    Fill(FieldValue),
    /// Press a key (e.g. `Enter`) in the element.
    Press(KeyPress),
    /// Choose the option with this value in a `<select>`.
    Select(FieldValue),
    /// Wait until the condition holds.
    WaitFor(Condition),
}

/// `{selector, value}` of `fill` and `select`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldValue {
    pub selector: String,
    /// May use `${var}` and `${secret:NAME}` (masked everywhere, also in screenshots).
    pub value: Template,
}

/// `{selector, key}` of `press`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyPress {
    pub selector: String,
    pub key: String,
}

/// A readiness condition: exactly one of its fields.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The page's load event has fired (`document.readyState` is `complete`).
    pub load: Option<bool>,
    /// An element matching this CSS selector is visible.
    pub selector: Option<String>,
    /// The page's visible text contains this.
    pub text: Option<String>,
    /// The page's URL contains this.
    pub url: Option<String>,
}

/// A check on the ready page: exactly one of its fields.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PageExpect {
    /// The page's visible text contains this.
    pub text: Option<String>,
    /// An element matching this CSS selector is visible.
    pub visible: Option<String>,
    /// The page's title contains this.
    pub title: Option<String>,
    /// The page's URL contains this.
    pub url: Option<String>,
}

/// A value read from the page: the first element matching `selector`, its
/// text or the value of `attribute`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PageCapture {
    pub selector: String,
    pub attribute: Option<String>,
}

impl Condition {
    fn set(&self) -> usize {
        usize::from(self.load.is_some())
            + usize::from(self.selector.is_some())
            + usize::from(self.text.is_some())
            + usize::from(self.url.is_some())
    }
}

impl PageExpect {
    fn set(&self) -> usize {
        usize::from(self.text.is_some())
            + usize::from(self.visible.is_some())
            + usize::from(self.title.is_some())
            + usize::from(self.url.is_some())
    }
}

/// An origin as `allowed_origins` writes it: `scheme://host[:port]` with
/// scheme `http` or `https`, nothing after the port.
pub fn parse_origin(s: &str) -> Result<String, String> {
    let bad = || {
        format!("'{s}' is not an origin (write scheme://host or scheme://host:port, e.g. https://cdn.example.com)")
    };
    let u = url::Url::parse(s).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https")
        || u.host_str().is_none()
        || !(u.path() == "/" || u.path().is_empty())
        || s.trim_end_matches('/').matches('/').count() != 2
        || u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
    {
        return Err(bad());
    }
    Ok(u.origin().ascii_serialization())
}

impl BrowserTransaction {
    /// Every template of the transaction with the path of its field, in run order.
    pub fn templates(&self, bp: &Path) -> Vec<(usize, &Template, Path)> {
        let mut out = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let sp = bp.key("steps").index(i);
            if let Some(g) = &s.goto {
                out.push((i, g, sp.key("goto")));
            }
            for (j, a) in s.actions.iter().enumerate() {
                let ap = sp.key("actions").index(j);
                match a {
                    Action::Fill(f) => out.push((i, &f.value, ap.key("fill").key("value"))),
                    Action::Select(f) => out.push((i, &f.value, ap.key("select").key("value"))),
                    _ => {}
                }
            }
        }
        out
    }

    /// The rules across fields; `timeout` is the transaction's.
    pub(super) fn validate(
        &self,
        src: &super::Source,
        bp: &Path,
        variables: &HashSet<&str>,
        timeout: std::time::Duration,
        check_template: &CheckTemplate<'_>,
        errs: &mut Vec<ConfigError>,
    ) {
        if cfg!(not(feature = "browser")) {
            errs.push(src.error(
                bp,
                "browser transactions need mimamori built with the cargo feature 'browser' (a default feature; this binary was built without it)",
            ));
        }
        for (i, o) in self.allowed_origins.iter().enumerate() {
            if let Err(m) = parse_origin(o) {
                errs.push(src.error(&bp.key("allowed_origins").index(i), m));
            }
        }
        if self.steps.is_empty() {
            errs.push(src.error(&bp.key("steps"), "at least one step is required"));
        }
        let mut defined: HashSet<&str> = variables.clone();
        let mut names = HashSet::new();
        let templates = self.templates(bp);
        for (i, s) in self.steps.iter().enumerate() {
            let sp = bp.key("steps").index(i);
            if !names.insert(s.name.as_str()) {
                errs.push(src.error(&sp.key("name"), format!("duplicate step name '{}'", s.name)));
            }
            if i == 0 && s.goto.is_none() {
                errs.push(src.error(&sp, "the first step must open a page: add goto: URL"));
            }
            if s.goto.is_none() && s.actions.is_empty() && s.ready.is_none() {
                errs.push(src.error(
                    &sp,
                    "a step needs something to do or wait for: goto, actions or ready",
                ));
            }
            if let Some(Some(super::Part::Text(t))) = s.goto.as_ref().map(|g| g.parts.first()) {
                if !(t.starts_with("https://") || t.starts_with("http://")) {
                    errs.push(src.error(
                        &sp.key("goto"),
                        format!(
                            "'{}' must start with https:// or http://",
                            s.goto.as_ref().map(|g| g.to_string()).unwrap_or_default()
                        ),
                    ));
                }
            }
            if let Some(t) = s.timeout {
                if t.0.is_zero() {
                    errs.push(src.error(&sp.key("timeout"), "must be greater than 0s"));
                } else if t.0 > timeout {
                    errs.push(src.error(
                        &sp.key("timeout"),
                        format!(
                            "step timeout {t} is longer than the transaction timeout {}",
                            super::duration::fmt_prom(timeout)
                        ),
                    ));
                }
            }
            let one_of = "exactly one of load, selector, text, url";
            if let Some(c) = &s.ready {
                check_condition(src, c, &sp.key("ready"), one_of, errs);
            }
            for (j, a) in s.actions.iter().enumerate() {
                let ap = sp.key("actions").index(j);
                match a {
                    Action::WaitFor(c) => {
                        check_condition(src, c, &ap.key("wait_for"), one_of, errs)
                    }
                    Action::Click(sel) => check_selector(src, sel, &ap.key("click"), errs),
                    Action::Fill(f) => {
                        check_selector(src, &f.selector, &ap.key("fill").key("selector"), errs)
                    }
                    Action::Select(f) => {
                        check_selector(src, &f.selector, &ap.key("select").key("selector"), errs)
                    }
                    Action::Press(k) => {
                        check_selector(src, &k.selector, &ap.key("press").key("selector"), errs);
                        if k.key.is_empty() {
                            errs.push(src.error(
                                &ap.key("press").key("key"),
                                "name a key, e.g. Enter, Tab or a",
                            ));
                        }
                    }
                }
            }
            for (j, e) in s.expect.iter().enumerate() {
                if e.set() != 1 {
                    errs.push(src.error(
                        &sp.key("expect").index(j),
                        "exactly one of text, visible, title, url",
                    ));
                }
                if let Some(sel) = &e.visible {
                    check_selector(src, sel, &sp.key("expect").index(j).key("visible"), errs);
                }
            }
            for (name, c) in &s.capture {
                check_selector(
                    src,
                    &c.selector,
                    &sp.key("capture").key(name).key("selector"),
                    errs,
                );
            }
            for (_, t, p) in templates.iter().filter(|(k, ..)| *k == i) {
                check_template(t, &defined, p, errs);
            }
            defined.extend(s.capture.keys().map(String::as_str));
        }
    }
}

fn check_condition(
    src: &super::Source,
    c: &Condition,
    p: &Path,
    one_of: &str,
    errs: &mut Vec<ConfigError>,
) {
    if c.set() != 1 {
        errs.push(src.error(p, one_of));
    }
    if c.load == Some(false) {
        errs.push(src.error(
            &p.key("load"),
            "load: false waits for nothing; leave ready out",
        ));
    }
    if let Some(sel) = &c.selector {
        check_selector(src, sel, &p.key("selector"), errs);
    }
}

fn check_selector(src: &super::Source, sel: &str, p: &Path, errs: &mut Vec<ConfigError>) {
    if sel.trim().is_empty() {
        errs.push(src.error(p, "a CSS selector is required, e.g. '#submit'"));
    }
}

impl super::Transaction {
    /// The names of its steps, HTTP or browser, in order.
    pub fn step_names(&self) -> Vec<&str> {
        match &self.browser {
            Some(b) => b.steps.iter().map(|s| s.name.as_str()).collect(),
            None => self.steps.iter().map(|s| s.name.as_str()).collect(),
        }
    }
}

impl super::Service {
    /// Its browser transactions' names.
    pub fn browser_transactions(&self) -> Vec<&str> {
        self.transactions
            .iter()
            .filter(|t| t.browser.is_some())
            .map(|t| t.name.as_str())
            .collect()
    }
}
