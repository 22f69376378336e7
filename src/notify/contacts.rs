//! The registered customer contacts (seed scope: "登録されたお客様の連絡先"),
//! read from the file the provider exports from its customer system.
//!
//! CSV (a header row, then one contact per row) or YAML (a list of mappings),
//! chosen by the file's extension. Every row is checked on its own: a bad one
//! is reported with `file:line` and skipped, the others are loaded, so one
//! typo in an export never silences every customer, and none is dropped
//! without a word. Messages never carry an address, a webhook URL or a secret:
//! addresses are masked (`a***@example.jp`), the others not shown at all.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use anyhow::{bail, Context as _};

use super::{Contact, Lang, Webhook};
use crate::config::locate::{Locator, Path as YamlPath};

/// The columns (CSV) or keys (YAML) of a contact; `id` and `lang` are required.
pub const FIELDS: [&str; 6] = [
    "id",
    "email",
    "lang",
    "services",
    "webhook_url",
    "webhook_secret",
];

/// What a contacts file gave: the contacts to tell, and the rows left out.
#[derive(Debug, Clone, Default)]
pub struct Contacts {
    pub contacts: Vec<Contact>,
    pub rejected: Vec<RowError>,
}

/// A row left out, and why. The message never contains an address or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The file, as given to [`load`].
    pub file: String,
    /// 1-based line where the row starts.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Reads the contacts file at `path` (`.csv`, or `.yaml`/`.yml`). `services`
/// are the configured service names a row may name. A `${secret:NAME}`
/// webhook secret cannot be resolved here: such rows are rejected; use
/// [`load_with_secrets`] with the configuration's secrets.
///
/// `Err` only when the file as a whole cannot be used (unreadable, unknown
/// extension, a CSV header without `id`/`lang` or with an unknown column,
/// YAML that is not a list); bad rows are in [`Contacts::rejected`].
pub fn load(path: &Path, services: &[String]) -> anyhow::Result<Contacts> {
    load_with_secrets(path, services, &HashMap::new())
}

/// [`load`], resolving `${secret:NAME}` webhook secrets from `secrets` (the
/// configuration's `secrets:`, as [`crate::config::load_secrets`] reads them)
/// and `${env:NAME}` from the environment.
pub fn load_with_secrets(
    path: &Path,
    services: &[String],
    secrets: &HashMap<String, String>,
) -> anyhow::Result<Contacts> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read contacts file {}", path.display()))?;
    let env = |name: &str| std::env::var(name).ok();
    parse(&text, &path.display().to_string(), services, secrets, &env)
}

/// Which format a file name says it is in.
fn format_of(file: &str) -> anyhow::Result<Format> {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        Ok(Format::Csv)
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        Ok(Format::Yaml)
    } else {
        bail!("{file}: contacts file must end in .csv, .yaml or .yml")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Yaml,
}

/// One row as written, before checking.
#[derive(Debug, Default)]
struct Raw {
    line: usize,
    id: String,
    email: String,
    lang: String,
    services: Vec<String>,
    webhook_url: String,
    webhook_secret: String,
}

/// Parses contacts text; `file` names it in messages. `env` reads `${env:NAME}`.
pub fn parse(
    text: &str,
    file: &str,
    services: &[String],
    secrets: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Contacts> {
    let mut out = Contacts::default();
    let reject = |out: &mut Contacts, line: usize, message: String| {
        out.rejected.push(RowError {
            file: file.to_string(),
            line,
            message,
        })
    };
    let rows = match format_of(file)? {
        Format::Csv => csv_rows(text, file, &mut |l, m| reject(&mut out, l, m))?,
        Format::Yaml => yaml_rows(text, file, &mut |l, m| reject(&mut out, l, m))?,
    };
    let known: HashSet<&str> = services.iter().map(String::as_str).collect();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for raw in rows {
        let line = raw.line;
        match check(raw, &known, secrets, env) {
            Ok(c) => {
                if let Some(first) = first_line.get(&c.id) {
                    reject(
                        &mut out,
                        line,
                        format!("duplicate id '{}' (first on line {first})", c.id),
                    );
                    continue;
                }
                first_line.insert(c.id.clone(), line);
                out.contacts.push(c);
            }
            Err(m) => reject(&mut out, line, m),
        }
    }
    out.rejected.sort_by_key(|e| e.line);
    Ok(out)
}

/// The CSV rows: a header naming the columns (any order; `id` and `lang`
/// required), `#` comment lines, fields trimmed; `services` `;`-separated.
fn csv_rows(
    text: &str,
    file: &str,
    reject: &mut dyn FnMut(usize, String),
) -> anyhow::Result<Vec<Raw>> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = r
        .headers()
        .with_context(|| format!("{file}:1: cannot read the header row"))?
        .clone();
    let mut columns = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let name = h.trim_start_matches('\u{feff}').to_ascii_lowercase();
        if !FIELDS.contains(&name.as_str()) {
            bail!(
                "{file}:1: unknown column '{name}' (expected {})",
                FIELDS.join(", ")
            );
        }
        if columns.iter().any(|(_, n)| *n == name) {
            bail!("{file}:1: column '{name}' appears twice");
        }
        columns.push((i, name));
    }
    for need in ["id", "lang"] {
        if !columns.iter().any(|(_, n)| n == need) {
            bail!("{file}:1: the header has no '{need}' column");
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = r.position().line() as usize;
        match r.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line() as usize);
                // The csv error speaks of bytes and positions, never of the field's text.
                let why = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
                    _ => "cannot be read as CSV".to_string(),
                };
                reject(line, format!("row {why}"));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != header.len() {
            reject(
                line,
                format!(
                    "row has {} fields, the header {}",
                    record.len(),
                    header.len()
                ),
            );
            continue;
        }
        let mut raw = Raw {
            line,
            ..Raw::default()
        };
        for (i, name) in &columns {
            let v = record.get(*i).unwrap_or_default().to_string();
            match name.as_str() {
                "id" => raw.id = v,
                "email" => raw.email = v,
                "lang" => raw.lang = v,
                "services" => {
                    raw.services = v
                        .split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                "webhook_url" => raw.webhook_url = v,
                "webhook_secret" => raw.webhook_secret = v,
                _ => unreachable!("columns are checked against FIELDS"),
            }
        }
        rows.push(raw);
    }
    Ok(rows)
}

/// The YAML rows: a list of mappings with the [`FIELDS`] as keys; `services` a list.
fn yaml_rows(
    text: &str,
    file: &str,
    reject: &mut dyn FnMut(usize, String),
) -> anyhow::Result<Vec<Raw>> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{file}: not YAML: {}", yaml_error(&e)))?;
    let items = match doc {
        serde_yaml::Value::Sequence(items) => items,
        serde_yaml::Value::Null => Vec::new(),
        _ => bail!("{file}:1: expected a list of contacts"),
    };
    let locator = Locator::new(text);
    let mut rows = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = YamlPath::root().index(i);
        let line = locator.find(&at).line;
        let serde_yaml::Value::Mapping(map) = item else {
            reject(line, "expected a mapping of id, email, lang, ...".into());
            continue;
        };
        let mut raw = Raw {
            line,
            ..Raw::default()
        };
        let mut bad = None;
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                bad = Some("keys must be strings".to_string());
                break;
            };
            let scalar = |v: &serde_yaml::Value| -> Result<String, String> {
                match v {
                    serde_yaml::Value::String(s) => Ok(s.trim().to_string()),
                    serde_yaml::Value::Null => Ok(String::new()),
                    serde_yaml::Value::Number(n) => Ok(n.to_string()),
                    _ => Err(format!("'{key}' must be a string")),
                }
            };
            let r = match key {
                "id" => scalar(&v).map(|s| raw.id = s),
                "email" => scalar(&v).map(|s| raw.email = s),
                "lang" => scalar(&v).map(|s| raw.lang = s),
                "webhook_url" => scalar(&v).map(|s| raw.webhook_url = s),
                "webhook_secret" => scalar(&v).map(|s| raw.webhook_secret = s),
                "services" => match v {
                    serde_yaml::Value::Sequence(list) => list
                        .iter()
                        .map(|s| {
                            s.as_str()
                                .map(|s| s.trim().to_string())
                                .ok_or_else(|| "'services' must be a list of names".to_string())
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map(|l| raw.services = l),
                    serde_yaml::Value::Null => Ok(()),
                    _ => Err("'services' must be a list of names".to_string()),
                },
                other => Err(format!(
                    "unknown key '{other}' (expected {})",
                    FIELDS.join(", ")
                )),
            };
            if let Err(m) = r {
                bad = Some(m);
                break;
            }
        }
        match bad {
            Some(m) => reject(line, m),
            None => rows.push(raw),
        }
    }
    Ok(rows)
}

/// A YAML syntax error's place, without the text around it.
fn yaml_error(e: &serde_yaml::Error) -> String {
    match e.location() {
        Some(l) => format!("syntax error at line {}, column {}", l.line(), l.column()),
        None => "syntax error".into(),
    }
}

/// Checks one row; the message never contains the address, URL or secret.
fn check(
    raw: Raw,
    known: &HashSet<&str>,
    secrets: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Contact, String> {
    let id = raw.id;
    if id.is_empty() {
        return Err("'id' is empty".into());
    }
    if id.contains('@') {
        return Err("'id' must be the customer system's id, not an e-mail address".into());
    }
    if id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        return Err(
            "'id' must be at most 128 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'".into(),
        );
    }
    let lang = match raw.lang.to_ascii_lowercase().as_str() {
        "ja" => Lang::Ja,
        "en" => Lang::En,
        "" => {
            return Err(format!(
                "contact '{id}': 'lang' is empty (expected ja or en)"
            ))
        }
        _ => return Err(format!("contact '{id}': 'lang' must be ja or en")),
    };
    let email = if raw.email.is_empty() {
        None
    } else if valid_email(&raw.email) {
        Some(raw.email)
    } else {
        return Err(format!(
            "contact '{id}': invalid e-mail address '{}'",
            mask_email(&raw.email)
        ));
    };
    let mut services: Vec<String> = Vec::new();
    for s in raw.services {
        if !known.contains(s.as_str()) {
            let mut names: Vec<&str> = known.iter().copied().collect();
            names.sort_unstable();
            return Err(format!(
                "contact '{id}': unknown service '{s}' (expected one of {})",
                names.join(", ")
            ));
        }
        if !services.contains(&s) {
            services.push(s);
        }
    }
    let webhook = match (raw.webhook_url.is_empty(), raw.webhook_secret.is_empty()) {
        (true, true) => None,
        (true, false) => {
            return Err(format!(
                "contact '{id}': 'webhook_secret' is set without 'webhook_url'"
            ))
        }
        (false, true) => {
            return Err(format!(
                "contact '{id}': 'webhook_url' needs a 'webhook_secret' to sign its requests"
            ))
        }
        (false, false) => {
            check_webhook_url(&raw.webhook_url).map_err(|m| format!("contact '{id}': {m}"))?;
            let secret = resolve_secret(&raw.webhook_secret, secrets, env)
                .map_err(|m| format!("contact '{id}': {m}"))?;
            Some(Webhook {
                url: raw.webhook_url,
                secret,
            })
        }
    };
    if email.is_none() && webhook.is_none() {
        return Err(format!(
            "contact '{id}': neither 'email' nor 'webhook_url' is set"
        ));
    }
    Ok(Contact {
        id,
        services,
        lang,
        email,
        webhook,
    })
}

/// An address one SMTP `RCPT TO` can carry: `local@domain.tld`, no spaces,
/// no display name, no second address.
fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"\\".contains(c))
}

/// An address as logs and errors may show it: the first character of the
/// local part and the domain, `a***@example.jp`; `***` without a domain.
pub fn mask_email(s: &str) -> String {
    match s.rsplit_once('@') {
        Some((local, domain)) if !domain.is_empty() => {
            let first: String = local.chars().take(1).collect();
            let domain: String = domain.chars().filter(|c| !c.is_control()).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".into(),
    }
}

/// A webhook URL: https, or http to a loopback host (local tests and sinks).
/// The URL itself is never echoed (it often carries a token).
fn check_webhook_url(s: &str) -> Result<(), String> {
    let u = url::Url::parse(s).map_err(|_| "'webhook_url' is not a URL".to_string())?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => return Err("'webhook_url' has no host".into()),
    };
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("'webhook_url' must be https (http only to a loopback address)".into()),
    }
}

/// A webhook secret: `${secret:NAME}` (the configuration's `secrets:`),
/// `${env:NAME}`, or the value itself.
fn resolve_secret(
    v: &str,
    secrets: &HashMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let value = if let Some(name) = v
        .strip_prefix("${secret:")
        .and_then(|r| r.strip_suffix('}'))
    {
        secrets
            .get(name)
            .cloned()
            .ok_or_else(|| format!("'webhook_secret': unknown secret '{name}' (declare it under the configuration's 'secrets')"))?
    } else if let Some(name) = v.strip_prefix("${env:").and_then(|r| r.strip_suffix('}')) {
        env(name)
            .ok_or_else(|| format!("'webhook_secret': environment variable {name} is not set"))?
    } else if v.starts_with("${") {
        return Err(
            "'webhook_secret': only ${secret:NAME} and ${env:NAME} references are allowed".into(),
        );
    } else {
        v.to_string()
    };
    if value.is_empty() {
        return Err("'webhook_secret' is empty".into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<String> {
        vec!["hanbai".into(), "denshibin".into()]
    }

    fn secrets() -> HashMap<String, String> {
        HashMap::from([("hook".to_string(), "s3cret-from-config".to_string())])
    }

    fn parse_as(file: &str, text: &str) -> Contacts {
        let env = |n: &str| (n == "HOOK_ENV").then(|| "s3cret-from-env".to_string());
        parse(text, file, &services(), &secrets(), &env).unwrap()
    }

    #[test]
    fn a_good_csv_loads_every_field() {
        let c = parse_as(
            "c.csv",
            "id,email,lang,services,webhook_url,webhook_secret\n\
             # exported 2026-12-01\n\
             c1,taro@example.jp,ja,hanbai,,\n\
             c2,ann@example.com,EN,hanbai; denshibin,https://hooks.example.com/x,${secret:hook}\n\
             c3,,ja,,http://127.0.0.1:8080/h,${env:HOOK_ENV}\n\
             c4, jiro@example.jp ,ja,,,\n",
        );
        assert_eq!(c.rejected, vec![]);
        assert_eq!(c.contacts.len(), 4);
        assert_eq!(c.contacts[0].email.as_deref(), Some("taro@example.jp"));
        assert_eq!(c.contacts[0].services, vec!["hanbai"]);
        assert_eq!(c.contacts[1].lang, Lang::En);
        assert_eq!(c.contacts[1].services, vec!["hanbai", "denshibin"]);
        let w = c.contacts[1].webhook.as_ref().unwrap();
        assert_eq!(w.secret, "s3cret-from-config");
        assert_eq!(c.contacts[2].email, None);
        assert!(c.contacts[2].services.is_empty(), "empty: every service");
        assert_eq!(
            c.contacts[2].webhook.as_ref().unwrap().secret,
            "s3cret-from-env"
        );
        assert_eq!(c.contacts[3].email.as_deref(), Some("jiro@example.jp"));
    }

    /// Each kind of bad row, with its exact message: reported with its line,
    /// skipped, the good rows around it kept, no address or secret in it.
    #[test]
    fn bad_csv_rows_are_reported_with_their_line_and_skipped() {
        let text = "id,email,lang,services,webhook_url,webhook_secret\n\
             ok1,ok1@example.jp,ja,,,\n\
             ,nobody@example.jp,ja,,,\n\
             bad2,taro.yamada@example,ja,,,\n\
             bad3,hanako@example.jp,fr,,,\n\
             bad4,ichiro@example.jp,ja,hanbai;kaikei,,\n\
             ok1,dup@example.jp,en,,,\n\
             bad6,,ja,,,\n\
             bad7,a@example.jp,ja,,https://h.example.com/t0ken,\n\
             bad8,a@example.jp,ja,,,topsecret-literal\n\
             bad9,a@example.jp,ja,,http://h.example.com/t0ken,x\n\
             bad10,a@example.jp,ja,,https://h.example.com/t0ken,${secret:nope}\n\
             bad11,a@example.jp,ja\n\
             someone@example.jp,a@example.jp,ja,,,\n\
             bad13,,,,,\n\
             ok2,ok2@example.jp,en,denshibin,,\n";
        let c = parse_as("contacts.csv", text);
        let ids: Vec<&str> = c.contacts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["ok1", "ok2"]);
        let got: Vec<String> = c.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "contacts.csv:3: 'id' is empty",
                "contacts.csv:4: contact 'bad2': invalid e-mail address 't***@example'",
                "contacts.csv:5: contact 'bad3': 'lang' must be ja or en",
                "contacts.csv:6: contact 'bad4': unknown service 'kaikei' (expected one of denshibin, hanbai)",
                "contacts.csv:7: duplicate id 'ok1' (first on line 2)",
                "contacts.csv:8: contact 'bad6': neither 'email' nor 'webhook_url' is set",
                "contacts.csv:9: contact 'bad7': 'webhook_url' needs a 'webhook_secret' to sign its requests",
                "contacts.csv:10: contact 'bad8': 'webhook_secret' is set without 'webhook_url'",
                "contacts.csv:11: contact 'bad9': 'webhook_url' must be https (http only to a loopback address)",
                "contacts.csv:12: contact 'bad10': 'webhook_secret': unknown secret 'nope' (declare it under the configuration's 'secrets')",
                "contacts.csv:13: row has 3 fields, the header 6",
                "contacts.csv:14: 'id' must be the customer system's id, not an e-mail address",
                "contacts.csv:15: contact 'bad13': 'lang' is empty (expected ja or en)",
            ]
        );
        for m in &got {
            for leak in [
                "taro.yamada",
                "hanako@",
                "ichiro@",
                "dup@",
                "t0ken",
                "topsecret",
                "someone@",
            ] {
                assert!(!m.contains(leak), "{m} leaks {leak}");
            }
        }
    }

    #[test]
    fn a_header_without_id_or_with_an_unknown_column_rejects_the_file() {
        let env = |_: &str| None;
        let e = parse(
            "email,lang\na@example.jp,ja\n",
            "c.csv",
            &services(),
            &secrets(),
            &env,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "c.csv:1: the header has no 'id' column");
        let e = parse(
            "id,lang,phone\n1,ja,03\n",
            "c.csv",
            &services(),
            &secrets(),
            &env,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.csv:1: unknown column 'phone' (expected id, email, lang, services, webhook_url, webhook_secret)"
        );
        let e = parse("id,lang\n", "c.txt", &services(), &secrets(), &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.txt: contacts file must end in .csv, .yaml or .yml"
        );
    }

    #[test]
    fn yaml_rows_are_checked_one_by_one_with_their_lines() {
        let text = "\
# exported 2026-12-01
- id: y1
  email: taro@example.jp
  lang: ja
  services: [hanbai]
- id: y2
  email: bad@
  lang: en
- {id: y3, email: c@example.jp, lang: ja, phone: '03'}
- id: y4
  lang: en
  webhook_url: https://hooks.example.com/abc
  webhook_secret: ${secret:hook}
- just a string
- id: y1
  email: again@example.jp
  lang: ja
- id: y7
  email: d@example.jp
  lang: ja
  services: hanbai
";
        let c = parse_as("contacts.yaml", text);
        let ids: Vec<&str> = c.contacts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["y1", "y4"]);
        assert_eq!(c.contacts[0].services, vec!["hanbai"]);
        assert_eq!(
            c.contacts[1].webhook.as_ref().unwrap().secret,
            "s3cret-from-config"
        );
        let got: Vec<String> = c.rejected.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "contacts.yaml:6: contact 'y2': invalid e-mail address '***'",
                "contacts.yaml:9: unknown key 'phone' (expected id, email, lang, services, webhook_url, webhook_secret)",
                "contacts.yaml:14: expected a mapping of id, email, lang, ...",
                "contacts.yaml:15: duplicate id 'y1' (first on line 2)",
                "contacts.yaml:18: 'services' must be a list of names",
            ]
        );
        let env = |_: &str| None;
        let e = parse("a: b\n", "c.yml", &services(), &secrets(), &env).unwrap_err();
        assert_eq!(e.to_string(), "c.yml:1: expected a list of contacts");
    }

    #[test]
    fn secrets_never_show_in_debug_and_addresses_are_masked() {
        let c = parse_as(
            "c.csv",
            "id,lang,webhook_url,webhook_secret\nw1,ja,https://h.example.com/,${secret:hook}\n",
        );
        let dbg = format!("{:?}", c.contacts);
        assert!(!dbg.contains("s3cret"), "{dbg}");
        assert_eq!(mask_email("taro@example.jp"), "t***@example.jp");
        assert_eq!(mask_email("no-at-sign"), "***");
        // Without the configuration's secrets, a reference is a row error, not a literal.
        let c = load_from_str_without_secrets(
            "id,lang,webhook_url,webhook_secret\nw1,ja,https://h.example.com/,${secret:hook}\n",
        );
        assert_eq!(c.contacts.len(), 0);
        assert_eq!(c.rejected.len(), 1);
    }

    fn load_from_str_without_secrets(text: &str) -> Contacts {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        std::fs::write(&p, text).unwrap();
        load(&p, &services()).unwrap()
    }
}
