//! The configuration file's types: what to probe and the objectives, each field
//! checked as it is read (see [`super::checked`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::*;

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
    /// Failure time outside the SLO's scope (docs/exclusions.md).
    #[serde(default)]
    pub exclusions: Vec<Exclusion>,
    /// Settings for the generated alerting rules and routing.
    #[serde(default)]
    pub alerting: Alerting,
    /// Endpoints each location's probers check to know whether they can see
    /// anything at all (see docs/probing.md, "When the prober is blind").
    #[serde(default)]
    pub self_check: SelfCheck,
    /// Where services' backups are kept and what they are held to (see `backup.rs`).
    #[serde(default)]
    pub backups: Vec<Backup>,
    /// Notices to the customers' registered contacts (see `notify.rs`); none when unset.
    #[serde(default)]
    pub notify: Option<Notify>,
    /// Where the file came from, for placing later errors (not read from the file).
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
    /// `INDEX/COUNT`: run only the transactions of this shard, so COUNT probers
    /// of one location split the work (flag `--shard` overrides; see [`Shard`]).
    pub shard: Shard,
    /// A hosts-format file (`ADDRESS NAME...` per line) consulted before the
    /// system resolver; meant for tests and for pinning names in a lab.
    pub hosts_file: Option<PathBuf>,
    /// The prober's browser for browser transactions (see `browser.rs`).
    pub browser: BrowserSettings,
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
            shard: Shard::ALL,
            hosts_file: None,
            browser: BrowserSettings::default(),
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

fn de_min_coverage<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let p = f64::deserialize(d)?;
    if !(p > 0.0 && p <= 100.0) {
        return Err(serde::de::Error::custom(format!(
            "{p} must be a percentage above 0 and at most 100, e.g. 99"
        )));
    }
    Ok(p)
}

pub(super) fn de_quorum<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
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
    /// Japanese.
    pub ja: String,
    /// English.
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

/// The objectives a service is held to (docs/configuration.md, `services`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Objectives {
    /// Monthly availability target in percent (AOULU: 99.99).
    #[serde(deserialize_with = "de_availability")]
    pub availability: f64,
    /// The latency objective.
    pub latency: LatencyObjective,
    /// Share of the operating time, in percent, that must have been observed
    /// before a month's figure is called met (default 99). Below it `report`
    /// and the status page say "判定不能 / not determinable" with the coverage,
    /// and `report` exits 2: a figure that was not observed never reads as met.
    #[serde(deserialize_with = "de_min_coverage")]
    pub min_coverage: f64,
    /// Judge the month on the figure with the `exclusions:` taken out (default
    /// true). Off: `met` is judged on every failure; both figures are shown either way.
    pub apply_exclusions: bool,
}

impl Default for Objectives {
    fn default() -> Self {
        Objectives {
            availability: 99.99,
            latency: LatencyObjective::default(),
            min_coverage: 99.0,
            apply_exclusions: true,
        }
    }
}

/// Share of operations that must be answered within a threshold.
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
    /// The `transaction` label: lowercase letters, digits, `_` and `-`; unique in the service.
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
    /// `first` (default): one address of the first step's host, as a browser
    /// would pick it; `all`: every address, each run against each of them,
    /// with an `ip` label on the series.
    #[serde(default)]
    pub resolve: Resolve,
    /// Which address families are probed: `any` (default), `ip4` or `ip6`.
    #[serde(default)]
    pub ip_protocol: IpProtocol,
    /// With `resolve: all`, when the transaction fails for the objective:
    /// `any_address` (default: a customer landing on the broken address
    /// fails) or `all_addresses` (only when no address answers).
    #[serde(default)]
    pub fail_when: FailWhen,
    /// Attempts after a failed first one (0 to 10, default 0). They only add
    /// evidence: the objective reads the first attempt.
    #[serde(default)]
    pub retries: u32,
    /// Pause before each retry (default 1s).
    pub retry_delay: Option<Dur>,
    /// The operations, run in order; at least one (unless `browser`).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Page steps in headless Chromium instead of HTTP `steps` (see `browser.rs`).
    pub browser: Option<BrowserTransaction>,
}

/// Which addresses of a name a transaction runs against.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Resolve {
    #[default]
    First,
    All,
}

/// Address families a transaction may use.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum IpProtocol {
    #[default]
    Any,
    Ip4,
    Ip6,
}

impl IpProtocol {
    /// Whether an address of this family may be probed.
    pub fn allows(self, ip: std::net::IpAddr) -> bool {
        match self {
            IpProtocol::Any => true,
            IpProtocol::Ip4 => ip.is_ipv4(),
            IpProtocol::Ip6 => ip.is_ipv6(),
        }
    }
}

/// When a `resolve: all` transaction counts as failing.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FailWhen {
    #[default]
    AnyAddress,
    AllAddresses,
}

/// Most retries a transaction may ask for.
pub const MAX_RETRIES: u32 = 10;
/// Most addresses of one name a `resolve: all` transaction probes (and `ip` label values).
pub const MAX_ADDRESSES: usize = 16;

/// TLS settings of a transaction.
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
    /// The `step` label; unique in the transaction.
    pub name: LabelName,
    /// Default `GET`.
    #[serde(default)]
    pub method: Method,
    /// `https://` or `http://` (or a variable that holds one).
    #[serde(deserialize_with = "de_url")]
    pub url: Template,
    /// Request headers; values may use `${...}`.
    #[serde(default)]
    pub headers: BTreeMap<HeaderName, Template>,
    /// Request body: `{raw: ...}`, `{json: ...}` or `{form: ...}`.
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
    /// Assertions on the answer (default: a 2xx status).
    #[serde(default)]
    pub expect: Expect,
    /// Values taken from the answer for later steps.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
}

pub(super) fn yes() -> bool {
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

/// A JSON body whose strings are templates, each parsed once when the body is
/// read; a run renders the strings and sends the rest as written.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonBody {
    String(Template),
    Array(Vec<JsonBody>),
    /// Members in the order `serde_json` keeps them.
    Object(Vec<(String, JsonBody)>),
    /// Numbers, booleans and null.
    Plain(serde_json::Value),
}

impl JsonBody {
    fn parse(v: serde_json::Value) -> Result<Self, super::template::TemplateError> {
        use serde_json::Value;
        Ok(match v {
            Value::String(s) => JsonBody::String(Template::parse(&s)?),
            Value::Array(a) => JsonBody::Array(
                a.into_iter()
                    .map(JsonBody::parse)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => JsonBody::Object(
                o.into_iter()
                    .map(|(k, v)| Ok((k, JsonBody::parse(v)?)))
                    .collect::<Result<_, _>>()?,
            ),
            plain => JsonBody::Plain(plain),
        })
    }

    /// The templates in its strings, for checking their references.
    pub fn templates(&self) -> Vec<&Template> {
        fn walk<'a>(b: &'a JsonBody, out: &mut Vec<&'a Template>) {
            match b {
                JsonBody::String(t) => out.push(t),
                JsonBody::Array(a) => a.iter().for_each(|x| walk(x, out)),
                JsonBody::Object(o) => o.iter().for_each(|(_, x)| walk(x, out)),
                JsonBody::Plain(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }
}

impl<'de> Deserialize<'de> for JsonBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        JsonBody::parse(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Assertions on the answer.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Accepted statuses: codes (`200`), ranges (`"200-299"`) or classes (`"2xx"`); default 2xx.
    #[serde(default)]
    pub status: Vec<StatusSpec>,
    /// Assertions on response headers.
    #[serde(default)]
    pub headers: Vec<HeaderExpect>,
    /// Strings that must occur in the body.
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// Strings that must not occur in the body.
    #[serde(default)]
    pub body_not_contains: Vec<String>,
    /// Regexes that must match the body.
    #[serde(default)]
    pub body_regex: Vec<Pattern>,
    /// Assertions on values of a JSON body.
    #[serde(default)]
    pub json: Vec<JsonExpect>,
}

/// An accepted status code or range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusSpec {
    /// Lowest accepted code.
    pub lo: u16,
    /// Highest accepted code.
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
    /// What the value must be.
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
    /// What the value must be.
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
    /// Where the value comes from.
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

    /// `{env: NAME}` or `{file: PATH}`, exactly one.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SecretSource {
        pub env: Option<String>,
        pub file: Option<PathBuf>,
    }

    /// `{name, equals | contains | regex | exists}`, exactly one check.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HeaderExpect {
        pub name: HeaderName,
        pub equals: Option<String>,
        pub contains: Option<String>,
        pub regex: Option<Pattern>,
        pub exists: Option<bool>,
    }

    /// `{pointer, equals | exists}`, exactly one check.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct JsonExpect {
        pub pointer: JsonPointer,
        pub equals: Option<serde_json::Value>,
        pub exists: Option<bool>,
    }

    /// `{json | regex | header, secret}`, exactly one source.
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
