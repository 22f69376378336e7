//! The configuration: what to probe, how often, and the objectives it is held to.
//!
//! Loading is two passes: serde, into types that cannot hold an invalid value
//! (unknown keys, wrong types, bad names, methods, regexes and one-of choices
//! are rejected, see [`checked`]), and [`Config::validate`] for cross-field
//! rules. Every error is placed in the file: serde_yaml's position, or the
//! [`locate::Locator`]'s for a path.
//!
//! The types are in `schema` (probing and objectives) and `operations`
//! (maintenance, notices, alerting), the cross-field rules in `validate`;
//! this file loads and places errors.

mod backup;
mod browser;
pub mod checked;
pub mod duration;
pub mod locate;
mod notify;
mod operations;
mod schema;
mod selfcheck;
pub mod shard;
pub mod template;
mod validate;

use std::fmt;
use std::path::Path as FsPath;
use std::sync::Arc;

pub use backup::{Backup, BackupExpect, S3Location};
pub use browser::{
    parse_origin, Action, BrowserSettings, BrowserStep, BrowserTransaction, Condition, FieldValue,
    KeyPress, PageCapture, PageExpect,
};
pub use checked::{HeaderName, JsonPointer, LabelName, Method, Pattern};
pub use duration::Dur;
use locate::{Locator, Path, Pos};
pub use notify::{Notify, Retry, Smtp, SmtpSecurity, WebhookSettings};
pub use operations::*;
pub use schema::*;
pub use selfcheck::{SelfCheck, SelfCheckTarget};
pub use shard::Shard;
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

/// Reads every `secrets:` value (`env` through `env`, so tests need not touch
/// the process environment); an unreadable one is an error placed at its name.
pub fn load_secrets(
    cfg: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<std::collections::HashMap<String, String>, Vec<ConfigError>> {
    let mut errs = Vec::new();
    let mut secrets = std::collections::HashMap::new();
    for (name, s) in &cfg.secrets {
        let p = Path::root().key("secrets").key(name);
        let value = match s {
            SecretSource::Env(var) => {
                env(var).ok_or_else(|| format!("environment variable {var} is not set"))
            }
            SecretSource::File(file) => std::fs::read_to_string(file)
                .map(|v| v.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read {}: {e}", file.display())),
        };
        match value {
            Ok(v) => {
                secrets.insert(name.clone(), v);
            }
            Err(m) => errs.push(cfg.source.error(&p, format!("secret '{name}': {m}"))),
        }
    }
    if errs.is_empty() {
        Ok(secrets)
    } else {
        Err(errs)
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

#[cfg(test)]
mod tests;
