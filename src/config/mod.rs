//! The configuration: what to probe, how often, and the objectives it is held to.
//!
//! Loading is two passes: serde, into types that cannot hold an invalid value
//! (unknown keys, wrong types, bad names, methods, regexes and one-of choices
//! are rejected, see [`checked`]), and [`Config::validate`] for cross-field
//! rules. Every error is placed in the file: serde_yaml's position, or the
//! [`locate::Locator`]'s for a path.

pub mod checked;
pub mod duration;
pub mod locate;
pub mod template;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Months};
use serde::Deserialize;

pub use checked::{HeaderName, JsonPointer, LabelName, Method, Pattern};
pub use duration::Dur;
use locate::{Locator, Path, Pos};
pub use template::{Part, Template};

/// A configuration error, placed in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub pos: Pos,
    /// Dotted path of the field, e.g. `services[0].transactions[0].steps[1].url`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.pos.line, self.pos.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Several errors found in one pass; printed one per line.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Where a configuration came from, kept for placing later errors.
///
/// The text is kept, not the positions of its nodes: a [`Locator`] holds a
/// path for every node (about 28 MB for 10,000 transactions) and is only
/// needed when something is wrong, so it is built at the first error.
#[derive(Debug, Default)]
pub struct Source {
    pub file: String,
    text: String,
    locator: std::sync::OnceLock<Locator>,
}

impl Source {
    pub fn new(file: &str, text: &str) -> Self {
        Source {
            file: file.to_string(),
            text: text.to_string(),
            locator: std::sync::OnceLock::new(),
        }
    }

    fn locator(&self) -> &Locator {
        self.locator.get_or_init(|| Locator::new(&self.text))
    }

    pub fn error(&self, path: &Path, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            pos: self.locator().find(path),
            field: path.to_string(),
            message: message.into(),
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Settings shared by every service.
    #[serde(default)]
    pub global: Global,
    /// Named secrets, referenced from steps as `${secret:NAME}`; masked in every output.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSource>,
    /// The services under objective.
    pub services: Vec<Service>,
    /// Planned maintenance windows.
    #[serde(default)]
    pub maintenance: Vec<MaintenanceWindow>,
    /// Human-written updates for the status page (`mimamori status`).
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// Settings for the generated alerting rules and routing.
    #[serde(default)]
    pub alerting: Alerting,
    #[serde(skip)]
    pub source: Arc<Source>,
}

/// Global settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Global {
    /// Name of this probe location, the `location` label (flag `--location` overrides).
    #[serde(deserialize_with = "de_location")]
    pub location: LabelName,
    /// How often each transaction runs unless it says otherwise.
    #[serde(deserialize_with = "de_positive_dur")]
    pub interval: Dur,
    /// Deadline for a whole transaction unless it says otherwise.
    #[serde(deserialize_with = "de_positive_dur")]
    pub timeout: Dur,
    /// Deadline for one step unless it says otherwise.
    #[serde(deserialize_with = "de_positive_dur")]
    pub step_timeout: Dur,
    /// Histogram bucket upper bounds in seconds; must contain every latency threshold.
    #[serde(deserialize_with = "de_buckets")]
    pub buckets: Vec<f64>,
    /// Largest response body read; a larger one fails the run (`body_too_large`).
    #[serde(deserialize_with = "de_positive_bytes")]
    pub max_body_bytes: u64,
    /// Largest response head (status line and headers) accepted.
    pub max_header_bytes: usize,
    /// Redirects followed at most in one step.
    pub max_redirects: u32,
    /// How far ahead a maintenance window must be announced to count as planned.
    pub maintenance_notice_months: u32,
    /// Extra CA certificates (PEM) trusted besides the system store.
    pub ca_file: Option<PathBuf>,
    /// User-Agent header sent unless a step sets one.
    pub user_agent: String,
    /// How often the TLS policy is checked (legacy TLS 1.0/1.1 handshakes, plain HTTP).
    pub tls_check_interval: Dur,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            location: LabelName::new("default").expect("a valid label name"),
            interval: Dur::secs(30),
            timeout: Dur::secs(20),
            step_timeout: Dur::secs(10),
            buckets: DEFAULT_BUCKETS.to_vec(),
            max_body_bytes: 10 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_redirects: 10,
            maintenance_notice_months: 6,
            ca_file: None,
            user_agent: format!("mimamori/{}", env!("CARGO_PKG_VERSION")),
            tls_check_interval: Dur::secs(3600),
        }
    }
}

/// The label-name rule, with the message `global.location` has always had.
fn de_location<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LabelName, D::Error> {
    LabelName::new(String::deserialize(d)?).map_err(|_| {
        serde::de::Error::custom(
            "must start with a lowercase letter and use only a-z, 0-9, '_' and '-'",
        )
    })
}

fn de_positive_dur<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
    let v = Dur::deserialize(d)?;
    if v.0.is_zero() {
        return Err(serde::de::Error::custom("must be greater than 0s"));
    }
    Ok(v)
}

fn de_positive_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom("must be greater than 0")),
        n => Ok(n),
    }
}

fn de_buckets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let b = Vec::<f64>::deserialize(d)?;
    if b.is_empty()
        || b.windows(2).any(|w| w[0] >= w[1])
        || b.iter().any(|x| !x.is_finite() || *x <= 0.0)
    {
        return Err(serde::de::Error::custom(
            "must be positive and strictly increasing",
        ));
    }
    Ok(b)
}

/// A percentage strictly between 0 and 100; `example` goes into the message.
fn percent<'de, D: serde::Deserializer<'de>>(d: D, example: &str) -> Result<f64, D::Error> {
    let p = f64::deserialize(d)?;
    if !(p > 0.0 && p < 100.0) {
        return Err(serde::de::Error::custom(format!(
            "{p} must be a percentage between 0 and 100 (exclusive), e.g. {example}"
        )));
    }
    Ok(p)
}

fn de_availability<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    percent(d, "99.99")
}

fn de_latency_target<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    percent(d, "99")
}

fn de_quorum<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(d)? {
        Some(0) => Err(serde::de::Error::custom("must be at least 1")),
        q => Ok(q),
    }
}

/// Dense around the 3 s objective so quantiles near it are meaningful.
pub const DEFAULT_BUCKETS: [f64; 16] = [
    0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 20.0,
];

/// Where a secret's value comes from: `{env: NAME}` or `{file: PATH}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "raw::SecretSource")]
pub enum SecretSource {
    /// Environment variable holding the value.
    Env(String),
    /// File holding the value (trailing newline removed).
    File(PathBuf),
}

impl TryFrom<raw::SecretSource> for SecretSource {
    type Error = &'static str;
    fn try_from(r: raw::SecretSource) -> Result<Self, Self::Error> {
        match (r.env, r.file) {
            (Some(var), None) => Ok(SecretSource::Env(var)),
            (None, Some(file)) => Ok(SecretSource::File(file)),
            _ => Err("set exactly one of 'env' and 'file'"),
        }
    }
}

/// Japanese and English names for people.
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DisplayName {
    pub ja: String,
    pub en: String,
}

/// A service held to objectives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Label value: lowercase letters, digits, `_` and `-`.
    pub name: LabelName,
    /// Names shown to people.
    pub display_name: DisplayName,
    /// The service-level objectives.
    #[serde(default)]
    pub objectives: Objectives,
    /// Scripted everyday operations.
    pub transactions: Vec<Transaction>,
    /// Plain-HTTP address of the service (e.g. `http://hanbai.example/`). When set,
    /// it must refuse the connection or redirect to HTTPS: the service is offered
    /// encrypted only (`mimamori_plain_http_refused`).
    pub plain_http_url: Option<Template>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Objectives {
    /// Monthly availability target in percent (AOULU: 99.99).
    #[serde(deserialize_with = "de_availability")]
    pub availability: f64,
    pub latency: LatencyObjective,
}

impl Default for Objectives {
    fn default() -> Self {
        Objectives {
            availability: 99.99,
            latency: LatencyObjective::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyObjective {
    /// An operation answered within this time is good (AOULU: 3 s).
    pub threshold: Dur,
    /// Share of operations, in percent, that must be good.
    #[serde(deserialize_with = "de_latency_target")]
    pub target: f64,
}

impl Default for LatencyObjective {
    fn default() -> Self {
        LatencyObjective {
            threshold: Dur::secs(3),
            target: 99.0,
        }
    }
}

/// A scripted sequence of steps run as one unit.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    pub name: LabelName,
    /// Overrides `global.interval`.
    pub interval: Option<Dur>,
    /// Overrides `global.timeout` (whole transaction).
    pub timeout: Option<Dur>,
    /// Variables available to every step as `${name}`.
    #[serde(default)]
    pub variables: BTreeMap<String, Template>,
    /// TLS settings for every step.
    #[serde(default)]
    pub tls: TlsOptions,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// CA certificates (PEM) trusted for this transaction, besides the system store.
    pub ca_file: Option<PathBuf>,
    /// Name to verify instead of the URL's host.
    pub server_name: Option<String>,
}

/// One everyday operation: a request and what its answer must look like.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: LabelName,
    /// Default `GET`.
    #[serde(default)]
    pub method: Method,
    /// `https://` or `http://` (or a variable that holds one).
    #[serde(deserialize_with = "de_url")]
    pub url: Template,
    #[serde(default)]
    pub headers: BTreeMap<HeaderName, Template>,
    #[serde(default, with = "serde_yaml::with::singleton_map")]
    pub body: Option<Body>,
    /// Overrides `global.step_timeout`.
    pub timeout: Option<Dur>,
    /// Follow redirects to the same host (at most `global.max_redirects`).
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// Other hosts a redirect may lead to.
    #[serde(default)]
    pub allow_redirect_hosts: Vec<String>,
    #[serde(default)]
    pub expect: Expect,
    /// Values taken from the answer for later steps.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
}

fn yes() -> bool {
    true
}

fn de_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Template, D::Error> {
    let url = Template::deserialize(d)?;
    if let Some(Part::Text(t)) = url.parts.first() {
        if !(t.starts_with("https://") || t.starts_with("http://")) {
            return Err(serde::de::Error::custom(format!(
                "'{url}' must start with https:// or http://"
            )));
        }
    }
    Ok(url)
}

/// A request body.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Body {
    /// Sent as is.
    Raw(Template),
    /// Serialized as JSON (`content-type: application/json`); strings may use `${...}`.
    Json(JsonBody),
    /// URL-encoded form (`content-type: application/x-www-form-urlencoded`).
    Form(BTreeMap<String, Template>),
}

/// A JSON body whose strings are templates, each parsed when the body is read.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonBody {
    value: serde_json::Value,
    templates: Vec<Template>,
}

impl JsonBody {
    /// The body as written.
    pub fn value(&self) -> &serde_json::Value {
        &self.value
    }

    /// The templates in its strings, for checking their references.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }
}

impl<'de> Deserialize<'de> for JsonBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let mut strings = Vec::new();
        json_strings(&value, &mut strings);
        let templates = strings
            .into_iter()
            .map(Template::parse)
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)?;
        Ok(JsonBody { value, templates })
    }
}

/// Assertions on the answer.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Accepted statuses: codes (`200`), ranges (`"200-299"`) or classes (`"2xx"`); default 2xx.
    #[serde(default)]
    pub status: Vec<StatusSpec>,
    #[serde(default)]
    pub headers: Vec<HeaderExpect>,
    #[serde(default)]
    pub body_contains: Vec<String>,
    #[serde(default)]
    pub body_not_contains: Vec<String>,
    #[serde(default)]
    pub body_regex: Vec<Pattern>,
    #[serde(default)]
    pub json: Vec<JsonExpect>,
}

/// An accepted status code or range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusSpec {
    pub lo: u16,
    pub hi: u16,
}

impl StatusSpec {
    pub fn contains(&self, code: u16) -> bool {
        (self.lo..=self.hi).contains(&code)
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Code(u16),
            Text(String),
        }
        let bad = |s: &str| {
            serde::de::Error::custom(format!(
                "invalid status '{s}' (expected 200, \"200-299\" or \"2xx\")"
            ))
        };
        let valid = |c: u16| (100..=599).contains(&c);
        let spec = match Raw::deserialize(d)? {
            Raw::Code(c) => StatusSpec { lo: c, hi: c },
            Raw::Text(s) => {
                let t = s.trim();
                if let Some(class) = t.strip_suffix("xx").and_then(|c| c.parse::<u16>().ok()) {
                    StatusSpec {
                        lo: class * 100,
                        hi: class * 100 + 99,
                    }
                } else if let Some((a, b)) = t.split_once('-') {
                    let lo = a.trim().parse().map_err(|_| bad(t))?;
                    let hi = b.trim().parse().map_err(|_| bad(t))?;
                    StatusSpec { lo, hi }
                } else {
                    let c = t.parse().map_err(|_| bad(t))?;
                    StatusSpec { lo: c, hi: c }
                }
            }
        };
        if !valid(spec.lo) || !valid(spec.hi) || spec.lo > spec.hi {
            return Err(bad(&spec.to_string()));
        }
        Ok(spec)
    }
}

/// An assertion on one response header (name case-insensitive), written
/// `{name: ..., equals | contains | regex | exists: ...}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "raw::HeaderExpect")]
pub struct HeaderExpect {
    /// Response header.
    pub name: HeaderName,
    pub check: HeaderCheck,
}

/// What a header's value must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderCheck {
    /// The whole value.
    Equals(String),
    /// Part of the value.
    Contains(String),
    /// Matches somewhere in the value.
    Regex(Pattern),
    /// `true`: must be present; `false`: must be absent.
    Exists(bool),
}

impl TryFrom<raw::HeaderExpect> for HeaderExpect {
    type Error = &'static str;
    fn try_from(r: raw::HeaderExpect) -> Result<Self, Self::Error> {
        let check = match (r.equals, r.contains, r.regex, r.exists) {
            (Some(v), None, None, None) => HeaderCheck::Equals(v),
            (None, Some(v), None, None) => HeaderCheck::Contains(v),
            (None, None, Some(p), None) => HeaderCheck::Regex(p),
            (None, None, None, Some(e)) => HeaderCheck::Exists(e),
            _ => return Err("set exactly one of 'equals', 'contains', 'regex', 'exists'"),
        };
        Ok(HeaderExpect {
            name: r.name,
            check,
        })
    }
}

/// An assertion on a JSON body value at an RFC 6901 pointer, written
/// `{pointer: ..., equals | exists: ...}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(try_from = "raw::JsonExpect")]
pub struct JsonExpect {
    /// Where the value is; empty for the whole document.
    pub pointer: JsonPointer,
    pub check: JsonCheck,
}

/// What the value at a JSON pointer must be.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonCheck {
    /// Equal to this JSON value.
    Equals(serde_json::Value),
    /// `true`: must be present; `false`: must be absent.
    Exists(bool),
}

impl TryFrom<raw::JsonExpect> for JsonExpect {
    type Error = &'static str;
    fn try_from(r: raw::JsonExpect) -> Result<Self, Self::Error> {
        let check = match (r.equals, r.exists) {
            (Some(v), None) => JsonCheck::Equals(v),
            (None, Some(e)) => JsonCheck::Exists(e),
            _ => return Err("set exactly one of 'equals' and 'exists'"),
        };
        Ok(JsonExpect {
            pointer: r.pointer,
            check,
        })
    }
}

/// A value taken from the answer, written `{json | regex | header: ..., secret: bool}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "raw::Capture")]
pub struct Capture {
    pub from: CaptureFrom,
    /// Treat the value as a secret (masked everywhere), e.g. a session token.
    pub secret: bool,
}

/// Where a captured value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureFrom {
    /// RFC 6901 pointer into a JSON body.
    Json(JsonPointer),
    /// Regex on the body; the first group if it has one, else the whole match.
    Regex(Pattern),
    /// Response header.
    Header(HeaderName),
}

impl TryFrom<raw::Capture> for Capture {
    type Error = &'static str;
    fn try_from(r: raw::Capture) -> Result<Self, Self::Error> {
        let from = match (r.json, r.regex, r.header) {
            (Some(p), None, None) => CaptureFrom::Json(p),
            (None, Some(p), None) => CaptureFrom::Regex(p),
            (None, None, Some(h)) => CaptureFrom::Header(h),
            _ => return Err("set exactly one of 'json', 'regex', 'header'"),
        };
        Ok(Capture {
            from,
            secret: r.secret,
        })
    }
}

/// The one-of choices as written: every alternative optional, so that a wrong
/// number of them gets a message naming the alternatives rather than serde's
/// enum wording. Named like their typed counterparts, so serde's own messages
/// ("expected struct Capture") read the same.
mod raw {
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::{HeaderName, JsonPointer, Pattern};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SecretSource {
        pub env: Option<String>,
        pub file: Option<PathBuf>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HeaderExpect {
        pub name: HeaderName,
        pub equals: Option<String>,
        pub contains: Option<String>,
        pub regex: Option<Pattern>,
        pub exists: Option<bool>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct JsonExpect {
        pub pointer: JsonPointer,
        pub equals: Option<serde_json::Value>,
        pub exists: Option<bool>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Capture {
        pub json: Option<JsonPointer>,
        pub regex: Option<Pattern>,
        pub header: Option<HeaderName>,
        #[serde(default)]
        pub secret: bool,
    }
}

/// A planned outage window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// Services affected.
    pub services: Vec<String>,
    /// RFC 3339 with offset, e.g. `2027-05-09T01:00:00+09:00`.
    #[serde(deserialize_with = "de_time")]
    pub start: DateTime<FixedOffset>,
    #[serde(deserialize_with = "de_time")]
    pub end: DateTime<FixedOffset>,
    /// When customers were told.
    #[serde(deserialize_with = "de_time")]
    pub announced_at: DateTime<FixedOffset>,
    /// Where customers were told (e.g. the user guide's maintenance page).
    pub announced_via: String,
    #[serde(default)]
    pub title: DisplayName,
}

/// What a status-page notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// An update on a failure; attached to the incident it overlaps in time.
    Incident,
    /// A change that noticeably affects operation (seed §4: announced 1 month ahead).
    Change,
    /// About a maintenance window.
    Maintenance,
}

/// A human-written update shown on the status page and in its Atom feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub kind: NoticeKind,
    /// When it was (or is to be) published; RFC 3339 with offset.
    #[serde(deserialize_with = "de_time")]
    pub published_at: DateTime<FixedOffset>,
    /// For `kind: change`: when the change takes effect (checked against the 1-month notice).
    #[serde(default, deserialize_with = "de_time_opt")]
    pub effective_at: Option<DateTime<FixedOffset>>,
    /// Services concerned; empty: all.
    #[serde(default)]
    pub services: Vec<String>,
    pub title: DisplayName,
    #[serde(default)]
    pub body: DisplayName,
}

fn de_time_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    de_time(d).map(Some)
}

fn de_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        serde::de::Error::custom(format!("invalid time '{s}': {e} (expected RFC 3339 with offset, e.g. 2027-05-09T01:00:00+09:00)"))
    })
}

impl MaintenanceWindow {
    /// Announced at least `months` calendar months before it starts.
    pub fn announced_in_time(&self, months: u32) -> bool {
        match self.announced_at.checked_add_months(Months::new(months)) {
            Some(deadline) => deadline <= self.start,
            None => false,
        }
    }
}

/// Settings for `mimamori generate`: who is told, when, and how the SLO is judged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerting {
    /// Runbook address; `{service}` and `{slo}` are replaced.
    pub runbook_url: String,
    /// Grafana base address (e.g. `https://grafana.example.com`) for dashboard links.
    pub grafana_url: String,
    /// Probe locations expected to report; empty means whichever report.
    pub locations: Vec<LabelName>,
    /// How many reporting locations must see a service failing before it counts as
    /// down. Unset: a majority of the locations reporting at that moment.
    #[serde(deserialize_with = "de_quorum")]
    pub quorum: Option<u32>,
    /// Prometheus `job` label of the probers' scrape job (for `up == 0` alerts).
    pub job: String,
    /// When tickets may reach people; pages go out at any hour.
    pub support_hours: SupportHours,
    /// Where pages go.
    pub page: Receiver,
    /// Where tickets go.
    pub ticket: Receiver,
    /// Mail server for `email_to` receivers.
    pub smtp: Option<Smtp>,
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting {
            runbook_url: String::new(),
            grafana_url: String::new(),
            locations: Vec::new(),
            quorum: None,
            job: "mimamori".into(),
            support_hours: SupportHours::default(),
            page: Receiver::default(),
            ticket: Receiver::default(),
            smtp: None,
        }
    }
}

/// Hours in which non-urgent alerts (tickets) are delivered (AOULU: §3 support hours).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportHours {
    /// IANA time zone the hours are in.
    pub timezone: String,
    /// Days of the week, lowercase English names (`monday` … `sunday`).
    pub weekdays: Vec<String>,
    /// Time ranges `HH:MM-HH:MM` within those days.
    pub times: Vec<String>,
    /// Leave out Japanese public holidays (from the generated holiday list).
    pub exclude_japanese_holidays: bool,
}

impl Default for SupportHours {
    fn default() -> Self {
        SupportHours {
            timezone: "Asia/Tokyo".into(),
            weekdays: ["monday", "tuesday", "wednesday", "thursday", "friday"]
                .map(String::from)
                .to_vec(),
            times: vec!["09:00-12:00".into(), "13:00-17:00".into()],
            exclude_japanese_holidays: true,
        }
    }
}

/// One Alertmanager receiver; any combination of channels.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Receiver {
    /// Webhook endpoints (chat bridges, ticket systems).
    pub webhook_urls: Vec<String>,
    /// Mail recipients (needs `smtp`).
    pub email_to: Vec<String>,
    /// File holding a PagerDuty Events API v2 routing key (PagerDuty or compatible).
    pub pagerduty_routing_key_file: Option<String>,
}

/// Mail server for email receivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Sender address.
    pub from: String,
    /// `host:port` of the mail relay.
    pub smarthost: String,
    /// Require STARTTLS (default true).
    #[serde(default = "yes")]
    pub require_tls: bool,
}

/// Parses `HH:MM-HH:MM` into minutes since midnight; start before end, end at most 24:00.
pub fn parse_time_range(s: &str) -> Option<(u32, u32)> {
    fn minutes(t: &str) -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    }
    let (a, b) = s.split_once('-')?;
    let (a, b) = (minutes(a)?, minutes(b)?);
    (a < b).then_some((a, b))
}

impl Transaction {
    pub fn interval(&self, g: &Global) -> Duration {
        self.interval.unwrap_or(g.interval).0
    }
    pub fn timeout(&self, g: &Global) -> Duration {
        self.timeout.unwrap_or(g.timeout).0
    }
}

/// Reads a file for parsing: its text and the name errors will use.
pub fn read_source(path: &FsPath) -> Result<(String, String), ConfigErrors> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(src) => Ok((src, file)),
        Err(e) => Err(ConfigErrors(vec![ConfigError {
            file,
            pos: Pos { line: 1, column: 1 },
            field: String::new(),
            message: format!("cannot read: {e}"),
        }])),
    }
}

/// Reads and validates a configuration file.
pub fn load(path: &FsPath) -> Result<Config, ConfigErrors> {
    let (src, file) = read_source(path)?;
    parse(&src, &file)
}

/// Parses and validates configuration text; `file` names it in errors.
pub fn parse(src: &str, file: &str) -> Result<Config, ConfigErrors> {
    let mut cfg: Config = serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(src))
        .map_err(|e| ConfigErrors(vec![serde_error(&e, file, src)]))?;
    cfg.source = Arc::new(Source::new(file, src));
    let errors = cfg.validate();
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// serde_yaml says `path: message at line L column C`; we say `file:L:C: path: message`.
///
/// serde_yaml places what it finds itself (syntax, wrong types, unknown or
/// missing fields) exactly. An error raised by one of our own value parsers
/// (names, methods, regexes, durations, one-of choices) comes after the value
/// was read, and serde_yaml names and places the enclosing mapping instead; the
/// path serde_path_to_error tracked down to the value is exact, so those errors
/// are placed at that path with the [`Locator`].
fn serde_error(
    e: &serde_path_to_error::Error<serde_yaml::Error>,
    file: &str,
    src: &str,
) -> ConfigError {
    let inner = e.inner();
    let mut pos = inner
        .location()
        .map(|l| Pos {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or(Pos { line: 1, column: 1 });
    let mut msg = inner.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let (mut field, message) = match msg.split_once(": ") {
        Some((f, m)) if !f.contains(' ') => (f.to_string(), m.to_string()),
        _ => (String::new(), msg),
    };
    // Syntax errors (no path) and errors about a mapping key (which
    // serde_path_to_error counts as a step into the key) are placed right by
    // serde_yaml.
    const ABOUT_A_KEY: [&str; 3] = ["unknown field `", "unknown variant `", "duplicate field `"];
    if let (Some(exact), false) = (tracked_path(e.path()), field.is_empty()) {
        let below = parse_path(&field)
            .is_some_and(|p| exact.0.len() > p.0.len() && exact.0.starts_with(&p.0));
        if below && !ABOUT_A_KEY.iter().any(|k| message.starts_with(k)) {
            pos = Locator::new(src).find(&exact);
            field = exact.to_string();
        }
    }
    ConfigError {
        file: file.to_string(),
        pos,
        field,
        message,
    }
}

/// serde_path_to_error's path as ours; `None` if a step is unknown.
fn tracked_path(p: &serde_path_to_error::Path) -> Option<Path> {
    use serde_path_to_error::Segment;
    let mut out = Path::root();
    for seg in p.iter() {
        out = match seg {
            Segment::Seq { index } => out.index(*index),
            Segment::Map { key } => out.key(key),
            Segment::Enum { variant } => out.key(variant),
            Segment::Unknown => return None,
        };
    }
    Some(out)
}

/// Parses serde_yaml's `a.b[1].c` path notation.
fn parse_path(s: &str) -> Option<Path> {
    let mut p = Path::root();
    if s.is_empty() {
        return Some(p);
    }
    for part in s.split('.') {
        let (key, rest) = part
            .split_once('[')
            .map(|(k, r)| (k, Some(r)))
            .unwrap_or((part, None));
        if !key.is_empty() {
            p = p.key(key);
        }
        if let Some(r) = rest {
            for idx in r.split('[') {
                p = p.index(idx.trim_end_matches(']').parse().ok()?);
            }
        }
    }
    Some(p)
}

impl Config {
    /// Rules serde cannot express on one value: unique names, defined references,
    /// timeouts within intervals, thresholds on bucket boundaries, maintenance
    /// windows against services. Also kept here: non-empty lists (serde_yaml
    /// would place an empty top-level `services` nowhere useful) and the support
    /// hours' weekdays and times (plain strings the Alertmanager generator reads).
    /// Everything about a single value is checked while it is read. Returns every
    /// error found.
    pub fn validate(&self) -> Vec<ConfigError> {
        let src = self.source.clone();
        let mut errs = Vec::new();
        let root = Path::root();
        let g = &self.global;
        if self.services.is_empty() {
            errs.push(src.error(&root.key("services"), "at least one service is required"));
        }
        let mut service_names = HashSet::new();
        for (si, svc) in self.services.iter().enumerate() {
            let sp = root.key("services").index(si);
            if !service_names.insert(svc.name.as_str()) {
                errs.push(src.error(
                    &sp.key("name"),
                    format!("duplicate service name '{}'", svc.name),
                ));
            }
            let op = sp.key("objectives");
            let lt = &svc.objectives.latency;
            let th = lt.threshold.as_secs_f64();
            if !g.buckets.iter().any(|b| (b - th).abs() < 1e-9) {
                errs.push(src.error(
                    &op.key("latency").key("threshold"),
                    format!("threshold {} is not a bucket boundary; add {th} to global.buckets so the objective can be read exactly", lt.threshold),
                ));
            }
            if svc.transactions.is_empty() {
                errs.push(src.error(
                    &sp.key("transactions"),
                    "at least one transaction is required",
                ));
            }
            let mut tx_names = HashSet::new();
            for (ti, tx) in svc.transactions.iter().enumerate() {
                let tp = sp.key("transactions").index(ti);
                if !tx_names.insert(tx.name.as_str()) {
                    errs.push(src.error(
                        &tp.key("name"),
                        format!(
                            "duplicate transaction name '{}' in service '{}'",
                            tx.name, svc.name
                        ),
                    ));
                }
                self.validate_transaction(tx, &tp, &mut errs);
            }
        }

        for (wi, w) in self.maintenance.iter().enumerate() {
            let wp = root.key("maintenance").index(wi);
            if w.end <= w.start {
                errs.push(src.error(
                    &wp.key("end"),
                    format!(
                        "window ends ({}) before it starts ({})",
                        w.end.to_rfc3339(),
                        w.start.to_rfc3339()
                    ),
                ));
            }
            if w.announced_at > w.start {
                errs.push(src.error(
                    &wp.key("announced_at"),
                    "announced after the window started",
                ));
            }
            if w.services.is_empty() {
                errs.push(src.error(&wp.key("services"), "name at least one service"));
            }
            for (i, s) in w.services.iter().enumerate() {
                if !service_names.contains(s.as_str()) {
                    errs.push(src.error(
                        &wp.key("services").index(i),
                        format!("unknown service '{s}'"),
                    ));
                }
            }
        }
        for (ni, n) in self.notices.iter().enumerate() {
            let np = root.key("notices").index(ni);
            for (i, s) in n.services.iter().enumerate() {
                if !service_names.contains(s.as_str()) {
                    errs.push(src.error(
                        &np.key("services").index(i),
                        format!("unknown service '{s}'"),
                    ));
                }
            }
            if n.kind == NoticeKind::Change && n.effective_at.is_none() {
                errs.push(src.error(
                    &np.key("kind"),
                    "a change needs effective_at (when it takes effect), to check the 1-month notice",
                ));
            }
            if n.title.ja.trim().is_empty() && n.title.en.trim().is_empty() {
                errs.push(src.error(&np.key("title"), "give a title (ja and en)"));
            }
        }
        self.validate_alerting(&mut errs);
        errs
    }

    fn validate_alerting(&self, errs: &mut Vec<ConfigError>) {
        const DAYS: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        let src = &self.source;
        let ap = Path::root().key("alerting");
        let a = &self.alerting;
        let sp = ap.key("support_hours");
        for (i, d) in a.support_hours.weekdays.iter().enumerate() {
            if !DAYS.contains(&d.as_str()) {
                errs.push(src.error(
                    &sp.key("weekdays").index(i),
                    format!("unknown weekday '{d}' (use monday … sunday)"),
                ));
            }
        }
        for (i, t) in a.support_hours.times.iter().enumerate() {
            if parse_time_range(t).is_none() {
                errs.push(src.error(
                    &sp.key("times").index(i),
                    format!("invalid time range '{t}' (expected HH:MM-HH:MM, e.g. 09:00-12:00)"),
                ));
            }
        }
        let mail = !a.page.email_to.is_empty() || !a.ticket.email_to.is_empty();
        if mail && a.smtp.is_none() {
            errs.push(src.error(&ap, "email_to needs 'smtp' (from, smarthost)"));
        }
    }

    fn validate_transaction(&self, tx: &Transaction, tp: &Path, errs: &mut Vec<ConfigError>) {
        let src = &self.source;
        let g = &self.global;
        let interval = tx.interval(g);
        let timeout = tx.timeout(g);
        if interval.is_zero() {
            errs.push(src.error(&tp.key("interval"), "must be greater than 0s"));
        }
        if timeout.is_zero() {
            errs.push(src.error(&tp.key("timeout"), "must be greater than 0s"));
        }
        if timeout > interval {
            let field = if tx.timeout.is_some() {
                "timeout"
            } else {
                "interval"
            };
            errs.push(src.error(
                &tp.key(field),
                format!(
                    "timeout {} is longer than interval {}; runs would overlap",
                    duration::fmt_prom(timeout),
                    duration::fmt_prom(interval)
                ),
            ));
        }
        if tx.steps.is_empty() {
            errs.push(src.error(&tp.key("steps"), "at least one step is required"));
        }
        let mut defined: HashSet<&str> = tx.variables.keys().map(String::as_str).collect();
        for (name, t) in &tx.variables {
            self.check_template(
                t,
                &tx.variables.keys().map(String::as_str).collect(),
                &tp.key("variables").key(name),
                errs,
            );
        }
        let mut step_names = HashSet::new();
        for (i, step) in tx.steps.iter().enumerate() {
            let p = tp.key("steps").index(i);
            if !step_names.insert(step.name.as_str()) {
                errs.push(src.error(
                    &p.key("name"),
                    format!("duplicate step name '{}'", step.name),
                ));
            }
            self.check_template(&step.url, &defined, &p.key("url"), errs);
            for (h, t) in &step.headers {
                self.check_template(t, &defined, &p.key("headers").key(h.written()), errs);
            }
            match &step.body {
                Some(Body::Raw(t)) => {
                    self.check_template(t, &defined, &p.key("body").key("raw"), errs)
                }
                Some(Body::Form(f)) => {
                    for (k, t) in f {
                        self.check_template(t, &defined, &p.key("body").key("form").key(k), errs);
                    }
                }
                Some(Body::Json(j)) => {
                    for t in j.templates() {
                        self.check_template(t, &defined, &p.key("body").key("json"), errs)
                    }
                }
                None => {}
            }
            if let Some(t) = step.timeout {
                if t.0.is_zero() {
                    errs.push(src.error(&p.key("timeout"), "must be greater than 0s"));
                } else if t.0 > timeout {
                    errs.push(src.error(
                        &p.key("timeout"),
                        format!(
                            "step timeout {t} is longer than the transaction timeout {}",
                            duration::fmt_prom(timeout)
                        ),
                    ));
                }
            }
            defined.extend(step.capture.keys().map(String::as_str));
        }
    }

    fn check_template(
        &self,
        t: &Template,
        defined: &HashSet<&str>,
        path: &Path,
        errs: &mut Vec<ConfigError>,
    ) {
        for v in t.vars() {
            if !defined.contains(v) {
                errs.push(self.source.error(path, format!("undefined variable '${{{v}}}' (define it under 'variables' or capture it in an earlier step)")));
            }
        }
        for s in t.secrets() {
            if !self.secrets.contains_key(s) {
                errs.push(self.source.error(
                    path,
                    format!("undefined secret '${{secret:{s}}}' (declare it under 'secrets')"),
                ));
            }
        }
    }

    /// Problems that do not stop the exporter but that people must see.
    pub fn warnings(&self) -> Vec<ConfigError> {
        let months = self.global.maintenance_notice_months;
        self.maintenance
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.announced_in_time(months))
            .map(|(i, w)| {
                self.source.error(
                    &Path::root().key("maintenance").index(i).key("announced_at"),
                    format!(
                        "announced {} for a window starting {}: less than {months} months' notice, so it is NOT planned maintenance and its downtime counts as failure time",
                        w.announced_at.to_rfc3339(),
                        w.start.to_rfc3339()
                    ),
                )
            })
            .collect()
    }

    /// Windows that count as planned maintenance (announced in time).
    pub fn planned_windows(&self) -> impl Iterator<Item = &MaintenanceWindow> {
        let months = self.global.maintenance_notice_months;
        self.maintenance
            .iter()
            .filter(move |w| w.announced_in_time(months))
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// Every string inside a JSON value.
pub fn json_strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| json_strings(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
