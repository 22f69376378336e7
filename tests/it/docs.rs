//! The documentation cannot drift from the code: links and anchors resolve,
//! `docs/configuration.md` lists exactly the keys the loader accepts,
//! `docs/metrics.md` exactly the families a real `/metrics` exposes, and
//! `docs/alerts.md` every alert the generator writes.
//!
//! The configuration keys are enumerated from the loader itself (see
//! [`schema_keys`]); `fuzz_config.rs` builds its documents from the same list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mimamori::config;
use serde_yaml::{Mapping, Value};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ---------------------------------------------------------------------------
// Markdown: lines outside fenced code, headings, links.

/// The lines of `text` outside fenced code blocks, with their line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| t.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// `text` without inline code spans (links inside them are not links).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push('`');
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// GitHub's anchor for a heading: the rendered text lowercased, punctuation
/// and symbols removed (letters of any script, digits, `-` and `_` kept),
/// spaces turned into `-`.
fn slug(heading: &str) -> String {
    // Rendered text: links keep their text, code spans their content.
    let link = regex::Regex::new(r"!?\[([^\]]*)\]\([^)]*\)").unwrap();
    let text = link.replace_all(heading, "$1");
    text.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of a Markdown file: its headings' slugs, a repeated one
/// numbered `-1`, `-2` as GitHub does.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let t = line.trim_start();
        let level = t.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&level) || !t[level..].starts_with(' ') {
            continue;
        }
        let s = slug(t[level..].trim().trim_end_matches('#'));
        let n = seen.entry(s.clone()).or_insert(0);
        out.insert(if *n == 0 {
            s.clone()
        } else {
            format!("{s}-{n}")
        });
        *n += 1;
    }
    out
}

/// The targets of inline links and images, and of reference definitions.
fn links(text: &str) -> Vec<(usize, String)> {
    let inline = regex::Regex::new(r#"\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#).unwrap();
    let reference = regex::Regex::new(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)").unwrap();
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let line = without_code_spans(line);
        for c in inline.captures_iter(&line) {
            out.push((n, c[1].to_string()));
        }
        if let Some(c) = reference.captures(&line) {
            out.push((n, c[1].to_string()));
        }
    }
    out
}

/// The Markdown files whose links are checked.
fn linked_files() -> Vec<String> {
    let mut files: Vec<String> = [
        "README.md",
        "ARCHITECTURE.md",
        "BENCHMARKS.md",
        "rules/README.md",
    ]
    .map(String::from)
    .to_vec();
    for e in std::fs::read_dir(repo().join("docs")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    files.sort();
    files
}

/// What is wrong with the relative links of `file` (empty: nothing).
fn broken_links(file: &str) -> Vec<String> {
    let text = read(file);
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut broken = Vec::new();
    for (line, target) in links(&text) {
        let external = target.contains("://") || target.starts_with("mailto:");
        if external {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        let resolved = if path.is_empty() {
            PathBuf::from(file)
        } else {
            normalize(&dir.join(path))
        };
        let place = format!("{file}:{line}: ({target})");
        if resolved.starts_with("..") {
            broken.push(format!("{place} leaves the repository"));
            continue;
        }
        let on_disk = repo().join(&resolved);
        if !on_disk.exists() {
            broken.push(format!("{place}: no file {}", resolved.display()));
            continue;
        }
        if let Some(a) = anchor {
            if on_disk.extension().is_some_and(|e| e == "md") {
                let targets = anchors(&std::fs::read_to_string(&on_disk).unwrap());
                if !targets.contains(a) {
                    broken.push(format!(
                        "{place}: no heading '#{a}' in {} (anchors: {})",
                        resolved.display(),
                        targets.into_iter().collect::<Vec<_>>().join(", ")
                    ));
                }
            } else {
                broken.push(format!(
                    "{place}: an anchor into a file that is not Markdown"
                ));
            }
        }
    }
    broken
}

/// `a/b/../c` → `a/c`, without touching the file system; a leading `..` stays.
fn normalize(p: &Path) -> PathBuf {
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                if out.last().is_some_and(|l| l != "..") {
                    out.pop();
                } else {
                    out.push("..".into());
                }
            }
            std::path::Component::CurDir => {}
            c => out.push(c.as_os_str().to_string_lossy().to_string()),
        }
    }
    out.iter().collect()
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Sharding and HA pairs"), "sharding-and-ha-pairs");
    assert_eq!(
        slug("Securing the endpoints (`--web.config.file`)"),
        "securing-the-endpoints---webconfigfile"
    );
    assert_eq!(slug("What `deploy/` holds"), "what-deploy-holds");
    assert_eq!(slug("`self_check`"), "self_check");
    assert_eq!(
        slug("hanbai (AOULU 販売 / AOULU Sales)"),
        "hanbai-aoulu-販売--aoulu-sales"
    );
    assert_eq!(slug("[Link](x.md) text"), "link-text");
    let a = anchors("# A\n## A\n```\n# not a heading\n```\n### B!\n");
    assert_eq!(a, ["a", "a-1", "b"].map(String::from).into());
}

#[test]
fn the_link_check_finds_what_is_broken() {
    let text = "# Title\n## A section\n[ok](#a-section) [bad](#nowhere) `[code](missing.md)`\n\
                [gone](missing.md) [web](https://example.com/x#y)\n```\n[fenced](missing.md)\n```\n";
    let found: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        found,
        [
            "#a-section",
            "#nowhere",
            "missing.md",
            "https://example.com/x#y"
        ]
    );
    assert!(anchors(text).contains("a-section") && !anchors(text).contains("nowhere"));
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let files = linked_files();
    for must in [
        "README.md",
        "docs/configuration.md",
        "docs/metrics.md",
        "docs/testing.md",
    ] {
        assert!(files.iter().any(|f| f == must), "{must} is checked");
    }
    let broken: Vec<String> = files.iter().flat_map(|f| broken_links(f)).collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_stays_short_and_keeps_the_two_commands() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 320,
        "README.md has {lines} lines; move detail into docs/"
    );
    for cmd in ["cargo run --release -- demo", "scripts/test.sh"] {
        assert!(readme.contains(cmd), "README shows `{cmd}`");
    }
    // Every page in docs/ is reachable from the README.
    for f in linked_files().iter().filter(|f| f.starts_with("docs/")) {
        assert!(readme.contains(&format!("]({f}")), "README links {f}");
    }
}

// ---------------------------------------------------------------------------
// The configuration keys, enumerated from the loader.

/// A key the probe puts where the loader must reject it.
const PROBE: &str = "zzz_not_a_key";

/// The smallest configuration the loader accepts; probes are added to it.
const MINIMAL: &str = "services:
  - name: svc
    display_name: {ja: サービス, en: Service}
    transactions:
      - name: tx
        steps:
          - name: get
            url: https://example.invalid/
";

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    /// A key of a section.
    Key(String),
    /// An entry of a list (`[]`).
    Item,
    /// An entry of a mapping whose keys the user chooses (`.<name>`).
    Entry,
}

/// What a key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A value (string, number, list of values, mapping of values, ...).
    Leaf,
    /// A section with keys of its own.
    Section,
    /// A list of sections.
    List,
    /// A mapping from names the user chooses to sections.
    Map,
    /// One of a closed set of values.
    OneOf(BTreeSet<String>),
}

/// A key the loader accepts: its path (`services[].transactions[].retries`) and shape.
#[derive(Debug, Clone)]
pub struct Key {
    pub path: String,
    pub name: String,
    pub shape: Shape,
}

fn render(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Item => s.push_str("[]"),
            Seg::Entry => s.push_str(".<name>"),
        }
    }
    s
}

/// `MINIMAL` with `value` at `path` (sections, lists and entries made on the way).
fn with_value_at(path: &[Seg], value: Value) -> String {
    edited(path, |node| *node = value)
}

/// `MINIMAL` with the node at `path` (made on the way, `null` if new) changed by `change`.
fn edited(path: &[Seg], change: impl FnOnce(&mut Value)) -> String {
    let mut doc: Value = serde_yaml::from_str(MINIMAL).unwrap();
    let mut node = &mut doc;
    for seg in path {
        node = match seg {
            Seg::Key(k) => {
                if !node.is_mapping() {
                    *node = Value::Mapping(Mapping::new());
                }
                let m = node.as_mapping_mut().unwrap();
                let k = Value::String(k.clone());
                if !m.contains_key(&k) {
                    m.insert(k.clone(), Value::Null);
                }
                m.get_mut(&k).unwrap()
            }
            Seg::Item => {
                if node.as_sequence().is_none_or(|s| s.is_empty()) {
                    *node = Value::Sequence(vec![Value::Null]);
                }
                &mut node.as_sequence_mut().unwrap()[0]
            }
            Seg::Entry => {
                if node.as_mapping().is_none_or(|m| m.is_empty()) {
                    let mut m = Mapping::new();
                    m.insert(Value::String("entry".into()), Value::Null);
                    *node = Value::Mapping(m);
                }
                node.as_mapping_mut().unwrap().values_mut().next().unwrap()
            }
        };
    }
    change(node);
    serde_yaml::to_string(&doc).unwrap()
}

/// `services[].capture.<name>.json` as segments.
fn parse_key_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        if part == "<name>" {
            out.push(Seg::Entry);
            continue;
        }
        let key = part.trim_end_matches("[]");
        out.push(Seg::Key(key.to_string()));
        for _ in 0..(part.len() - key.len()) / 2 {
            out.push(Seg::Item);
        }
    }
    out
}

/// The loader's first error for `yaml`, if any.
fn first_error(yaml: &str) -> Option<String> {
    config::parse(yaml, "probe.yaml")
        .err()
        .map(|e| e.0[0].message.clone())
}

/// The names serde lists after "expected" in an "unknown field/variant
/// `PROBE`" message; `None` when the message is about something else.
fn expected_after(message: &str, what: &str) -> Option<BTreeSet<String>> {
    let rest = message.strip_prefix(&format!("unknown {what} `{PROBE}`, "))?;
    if rest.starts_with("there are no") {
        return Some(BTreeSet::new());
    }
    let rest = rest.strip_prefix("expected ")?;
    Some(
        rest.split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect(),
    )
}

/// A mapping holding only the probe key.
fn probe_section() -> Value {
    let mut m = Mapping::new();
    m.insert(Value::String(PROBE.into()), Value::Number(1.into()));
    Value::Mapping(m)
}

/// The keys of the section at `path`, if the loader treats it as one.
fn section_keys(path: &[Seg]) -> Option<BTreeSet<String>> {
    expected_after(
        &first_error(&with_value_at(path, probe_section()))?,
        "field",
    )
}

/// Every key the configuration accepts, found by asking the loader: a
/// section's unknown-key error names the keys it accepts; for each key, a
/// probe section placed there (as the value, as a list entry, as a named
/// entry) tells whether it is a section itself; an unknown value tells
/// whether it is one of a closed set. Computed once.
pub fn schema_keys() -> &'static [Key] {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let root = section_keys(&[]).expect("the root rejects unknown keys");
        let mut queue: Vec<Vec<Seg>> = root.into_iter().map(|k| vec![Seg::Key(k)]).collect();
        let mut out = Vec::new();
        while let Some(path) = queue.pop() {
            assert!(path.len() < 16, "runaway enumeration at {}", render(&path));
            let Some(Seg::Key(name)) = path.last().cloned() else {
                unreachable!()
            };
            let nested = |inner: Seg| {
                let mut p = path.clone();
                p.push(inner);
                p
            };
            let (shape, children) = if let Some(keys) = section_keys(&path) {
                (Shape::Section, Some((path.clone(), keys)))
            } else if let Some(keys) = section_keys(&nested(Seg::Item)) {
                (Shape::List, Some((nested(Seg::Item), keys)))
            } else if let Some(keys) = section_keys(&nested(Seg::Entry)) {
                (Shape::Map, Some((nested(Seg::Entry), keys)))
            } else if let Some(values) =
                first_error(&with_value_at(&path, Value::String(PROBE.into())))
                    .and_then(|m| expected_after(&m, "variant"))
            {
                (Shape::OneOf(values), None)
            } else {
                (Shape::Leaf, None)
            };
            if let Some((base, keys)) = children {
                for k in keys {
                    let mut p = base.clone();
                    p.push(Seg::Key(k));
                    queue.push(p);
                }
            }
            out.push(Key {
                path: render(&path),
                name,
                shape,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    })
}

/// The rows of the Markdown tables whose header starts `| {first} |`, cells trimmed.
fn table_rows(text: &str, first: &str) -> Vec<(usize, Vec<String>)> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for (n, line) in prose_lines(text) {
        let t = line.trim();
        if !t.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<String> = t
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells[0] == first {
            in_table = true;
        } else if in_table && !cells[0].starts_with("---") {
            rows.push((n, cells));
        }
    }
    rows
}

/// The backticked parts of a table cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

#[test]
fn the_enumeration_finds_keys_of_every_shape() {
    let keys = schema_keys();
    let shape = |p: &str| {
        keys.iter()
            .find(|k| k.path == p)
            .map(|k| k.shape.clone())
            .unwrap_or_else(|| panic!("{p} not found"))
    };
    assert_eq!(shape("global"), Shape::Section);
    assert_eq!(shape("global.interval"), Shape::Leaf);
    assert_eq!(shape("services"), Shape::List);
    assert_eq!(shape("secrets"), Shape::Map);
    assert_eq!(shape("secrets.<name>.env"), Shape::Leaf);
    assert_eq!(
        shape("services[].transactions[].resolve"),
        Shape::OneOf(["first", "all"].map(String::from).into())
    );
    assert_eq!(
        shape("services[].transactions[].steps[].body"),
        Shape::OneOf(["raw", "json", "form"].map(String::from).into())
    );
    for p in [
        "services[].transactions[].steps[].expect.headers[].regex",
        "services[].transactions[].steps[].capture.<name>.secret",
        "backups[].s3.ca_file",
        "self_check.targets[].status",
        "alerting.support_hours.timezone",
        "notices[].body.en",
    ] {
        shape(p);
    }
    // A misspelt key is rejected, so the enumeration cannot accept anything.
    let err = first_error(&with_value_at(
        &[
            Seg::Key("services".into()),
            Seg::Item,
            Seg::Key("transactions".into()),
            Seg::Item,
            Seg::Key("retires".into()),
        ],
        Value::Number(1.into()),
    ))
    .unwrap();
    assert!(err.starts_with("unknown field `retires`"), "{err}");
}

#[test]
fn configuration_md_documents_exactly_the_keys_the_loader_accepts() {
    let doc = read("docs/configuration.md");
    let mut documented: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (n, cells) in table_rows(&doc, "key") {
        if cells.len() != 5 {
            problems.push(format!(
                "configuration.md:{n}: {} cells, not 5 (key, type, default, example, meaning)",
                cells.len()
            ));
            continue;
        }
        let key = code_spans(&cells[0]);
        let [key] = key.as_slice() else {
            problems.push(format!(
                "configuration.md:{n}: the key cell holds one `path`"
            ));
            continue;
        };
        if cells[1].is_empty() || cells[4].is_empty() {
            problems.push(format!(
                "configuration.md:{n}: `{key}` needs a type and a meaning"
            ));
        }
        if documented.insert(key.clone(), (n, cells)).is_some() {
            problems.push(format!("configuration.md:{n}: `{key}` documented twice"));
        }
    }
    let keys = schema_keys();
    for k in keys {
        match documented.get(&k.path) {
            None => problems.push(format!("`{}` is accepted but not documented", k.path)),
            Some((n, cells)) => {
                if let Shape::OneOf(values) = &k.shape {
                    let written: BTreeSet<String> = code_spans(&cells[1]).into_iter().collect();
                    if &written != values {
                        problems.push(format!(
                            "configuration.md:{n}: `{}` takes one of {values:?}, the type says {written:?}",
                            k.path
                        ));
                    }
                }
            }
        }
    }
    for (key, (n, _)) in &documented {
        if !keys.iter().any(|k| &k.path == key) {
            problems.push(format!(
                "configuration.md:{n}: `{key}` is documented but the loader does not accept it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What `config::parse` makes of `yaml`, as text (without where it came from).
fn loaded(yaml: &str) -> Option<String> {
    let mut cfg = config::parse(yaml, "probe.yaml").ok()?;
    cfg.source = Default::default();
    Some(format!("{cfg:?}"))
}

/// The example of docs/configuration.md.
fn documented_example() -> String {
    let doc = read("docs/configuration.md");
    let start = doc
        .find("## An example with every section")
        .expect("the example's heading");
    doc[start..]
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a yaml block after the heading")
        .to_string()
}

/// The node at `path` of `doc` if it exists (a list's first entry, a mapping's first value).
fn existing<'a>(doc: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut node = doc;
    for seg in path {
        node = match seg {
            Seg::Key(k) => node.as_mapping_mut()?.get_mut(k.as_str())?,
            Seg::Item => node.as_sequence_mut()?.first_mut()?,
            Seg::Entry => node.as_mapping_mut()?.values_mut().next()?,
        };
    }
    Some(node)
}

#[test]
fn documented_defaults_are_the_loaders() {
    // A default cell that starts with a `value` (not a reference to another
    // key) is checked twice where possible: the smallest file with the key's
    // section present must load to the same configuration as that file with
    // the key set to the value; and the example above with the key left out
    // must load to the same configuration as the example with the key set to
    // the value. A key whose section is in neither (or would not load without
    // it) cannot be checked; an assertion below keeps the number checked from
    // falling silently.
    let doc = read("docs/configuration.md");
    let example: Value = serde_yaml::from_str(&documented_example()).unwrap();
    let documented: BTreeSet<String> = table_rows(&doc, "key")
        .iter()
        .filter_map(|(_, c)| code_spans(&c[0]).pop())
        .collect();
    let (mut checked, mut problems) = (BTreeSet::new(), Vec::new());
    for (n, cells) in table_rows(&doc, "key") {
        let (Some(key), true) = (code_spans(&cells[0]).pop(), cells[2].starts_with('`')) else {
            continue;
        };
        let default = code_spans(&cells[2]).remove(0);
        if documented.contains(&default) {
            continue;
        }
        let path = parse_key_path(&key);
        let (parent, Some(Seg::Key(name))) = (&path[..path.len() - 1], path.last()) else {
            unreachable!("a documented key ends in a name")
        };
        let value: Value = serde_yaml::from_str(&default).unwrap();
        let mut pairs = vec![(
            loaded(&edited(parent, |v| {
                if v.is_null() {
                    *v = Value::Mapping(Mapping::new())
                }
            })),
            loaded(&with_value_at(&path, value.clone())),
        )];
        let (mut without, mut with) = (example.clone(), example.clone());
        if let (Some(Value::Mapping(w)), Some(Value::Mapping(s))) =
            (existing(&mut without, parent), existing(&mut with, parent))
        {
            w.remove(name.as_str());
            s.insert(Value::String(name.clone()), value);
            let text = |v: &Value| serde_yaml::to_string(v).unwrap();
            pairs.push((loaded(&text(&without)), loaded(&text(&with))));
        }
        for (base, set) in pairs {
            match (base, set) {
                (Some(b), Some(s)) if b == s => {
                    checked.insert(key.clone());
                }
                (Some(_), Some(_)) => problems.push(format!(
                    "configuration.md:{n}: `{key}` is documented to default to `{default}`, but setting it changes the configuration"
                )),
                (Some(_), None) => problems.push(format!(
                    "configuration.md:{n}: `{key}: {default}` (the documented default) does not load"
                )),
                (None, _) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked.len() >= 34,
        "only {} defaults could be checked: {checked:?}",
        checked.len()
    );
}

#[test]
fn the_example_in_configuration_md_loads() {
    let cfg = config::parse(&documented_example(), "docs/configuration.md")
        .unwrap_or_else(|e| panic!("the example does not load:\n{e}"));
    // It shows every section.
    assert!(!cfg.secrets.is_empty() && !cfg.maintenance.is_empty() && !cfg.notices.is_empty());
    assert!(!cfg.self_check.targets.is_empty() && cfg.backups.len() == 2);
}

// ---------------------------------------------------------------------------
// Alerts.

#[test]
fn alerts_md_names_every_generated_alert() {
    let mut generated = BTreeSet::new();
    // The notice alerts exist only with `notify:`: deploy/aoulu.yaml with one.
    let with_notify = format!(
        "{}\nnotify: {{contacts: contacts.csv, outbox: outbox.sqlite}}\n",
        read("deploy/aoulu.yaml")
    );
    for (file, text) in [
        ("deploy/aoulu.yaml", read("deploy/aoulu.yaml")),
        (
            "deploy/aoulu-backups.yaml",
            read("deploy/aoulu-backups.yaml"),
        ),
        ("aoulu.yaml + notify:", with_notify),
        // The browser alert exists only with a browser transaction.
        (
            "aoulu.yaml + browser:",
            read("deploy/aoulu.yaml").replacen(
                "    transactions:\n",
                "    transactions:\n      - name: ui\n        browser:\n          steps:\n            - {name: open, goto: \"https://hanbai.aoulu.example/\"}\n",
                1,
            ),
        ),
    ] {
        let cfg = config::parse(&text, file).unwrap();
        let files = mimamori::generate::files(&cfg, Default::default()).unwrap();
        for f in files.iter().filter(|f| f.path.ends_with(".yml")) {
            for line in f.contents.lines() {
                if let Some(name) = line.trim().strip_prefix("- alert: ") {
                    generated.insert(name.trim().to_string());
                }
            }
        }
    }
    assert!(generated.contains("BackupStale"), "{generated:?}");
    assert!(generated.contains("MimamoriNoticeOverdue"), "{generated:?}");
    assert!(
        generated.contains("MimamoriBrowserUnavailable"),
        "{generated:?}"
    );
    let doc = read("docs/alerts.md");
    let documented: BTreeSet<String> = table_rows(&doc, "alert")
        .into_iter()
        .filter_map(|(_, cells)| code_spans(&cells[0]).into_iter().next())
        .collect();
    let missing: Vec<_> = generated.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&generated).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in docs/alerts.md: {missing:?}; in docs/alerts.md but never generated: {extra:?}"
    );
}

// ---------------------------------------------------------------------------
// Metrics: the real binary's `/metrics` against docs/metrics.md.

/// One family as exposed or documented: type, label names (without `le`), help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Family {
    kind: String,
    labels: BTreeSet<String>,
    help: String,
}

/// The families of a text exposition.
pub(crate) fn families(exposition: &str) -> BTreeMap<String, Family> {
    let mut out: BTreeMap<String, Family> = BTreeMap::new();
    let mut help: BTreeMap<String, String> = BTreeMap::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help.insert(name.into(), text.into());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            out.insert(
                name.into(),
                Family {
                    kind: kind.into(),
                    labels: BTreeSet::new(),
                    help: help.get(name).cloned().unwrap_or_default(),
                },
            );
        } else if !line.starts_with('#') && !line.is_empty() {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let series = &line[..name_end];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|s| series.strip_suffix(s))
                .find(|f| out.get(*f).is_some_and(|f| f.kind == "histogram"))
                .unwrap_or(series);
            let labels = label_names(&line[name_end..]);
            let f = out
                .get_mut(family)
                .unwrap_or_else(|| panic!("a sample without its TYPE: {line}"));
            f.labels.extend(labels.into_iter().filter(|l| l != "le"));
        }
    }
    out
}

/// The label names of `{a="x",b="y\"z"} 1`.
fn label_names(rest: &str) -> Vec<String> {
    let Some(body) = rest.strip_prefix('{') else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut chars = body.chars();
    let mut name = String::new();
    while let Some(c) = chars.next() {
        match c {
            '}' => break,
            ',' => {}
            '=' => {
                names.push(std::mem::take(&mut name));
                assert_eq!(chars.next(), Some('"'));
                while let Some(v) = chars.next() {
                    match v {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            c => name.push(c),
        }
    }
    names
}

/// The families docs/metrics.md documents for the exporter.
fn documented_families() -> BTreeMap<String, (usize, Family)> {
    documented_families_in("family")
}

/// The families of docs/metrics.md's tables whose first header cell is
/// `header` (`family` for the exporter, `status family` for `mimamori status`).
pub(crate) fn documented_families_in(header: &str) -> BTreeMap<String, (usize, Family)> {
    let doc = read("docs/metrics.md");
    let mut out = BTreeMap::new();
    for (n, cells) in table_rows(&doc, header) {
        assert_eq!(cells.len(), 4, "metrics.md:{n}: family, type, labels, help");
        let name = code_spans(&cells[0]).pop().expect("a `family`");
        let family = Family {
            kind: cells[1].clone(),
            labels: code_spans(&cells[2]).into_iter().collect(),
            help: cells[3].clone(),
        };
        assert!(
            out.insert(name.clone(), (n, family)).is_none(),
            "metrics.md:{n}: {name} twice"
        );
    }
    out
}

#[test]
fn exposition_parsing() {
    let f = families(
        "# HELP a_seconds Help.\n# TYPE a_seconds histogram\na_seconds_bucket{x=\"1\",le=\"1\"} 1\n\
         a_seconds_sum{x=\"1\"} 1\na_seconds_count{x=\"1\"} 1\n# HELP b B \"q\".\n# TYPE b gauge\n\
         b{y=\"a,b=\\\"c\\\"\",z=\"}\"} 1\nb 2\n",
    );
    assert_eq!(f["a_seconds"].labels, ["x"].map(String::from).into());
    assert_eq!(f["b"].labels, ["y", "z"].map(String::from).into());
    assert_eq!(f["b"].help, "B \"q\".");
}

/// A child process, killed when dropped (also when the test fails).
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something accepts connections on the port.
fn wait_port(port: u16) {
    crate::common::wait_until(
        std::time::Duration::from_secs(30),
        &format!("a listener on port {port}"),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
}

#[test]
fn metrics_md_documents_exactly_the_families_of_a_real_exporter() {
    use crate::common::prometheus::free_port;
    use crate::common::tools::tool;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let Some(openssl) = tool("openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An HTTPS server the probes trust, behind a name from a hosts file.
    let pki = crate::common::pki::ca();
    let (cert, key, _) = crate::common::pki::leaf(&pki, &["docs.test"], 2024, 2099);
    std::fs::write(d.join("ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(d.join("cert.pem"), cert).unwrap();
    std::fs::write(d.join("key.pem"), key).unwrap();
    std::fs::write(d.join("hosts"), "127.0.0.1 docs.test\n").unwrap();
    let https = free_port();
    let _tls = Child(
        Command::new(openssl)
            .args(["s_server", "-accept", &format!("127.0.0.1:{https}")])
            .arg("-cert")
            .arg(d.join("cert.pem"))
            .arg("-key")
            .arg(d.join("key.pem"))
            .args(["-www", "-quiet", "-no_tls1", "-no_tls1_1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts"),
    );
    wait_port(https);
    // A self-check target that accepts connections.
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    std::thread::spawn(move || target.incoming().for_each(drop));
    // Backups: a directory, and an S3 bucket served by s3s-fs.
    let backups = d.join("backups");
    std::fs::create_dir_all(backups.join("bucket")).unwrap();
    std::fs::write(backups.join("bucket/db-1.dump"), "x").unwrap();
    let s3 = tool("s3s-fs").map(|bin| {
        let port = free_port();
        let child = Child(
            Command::new(bin)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", "DOCSKEY", "--secret-key", "DOCSSECRET"])
                .arg(&backups)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("s3s-fs starts"),
        );
        wait_port(port);
        (child, port)
    });
    let s3_entry = s3.as_ref().map_or(String::new(), |(_, port)| {
        format!(
            "  - service: svc
    name: s3
    display_name: {{ja: S3, en: S3}}
    s3:
      endpoint: http://127.0.0.1:{port}
      bucket: bucket
      access_key_id: ${{secret:key_id}}
      secret_access_key: ${{secret:secret_key}}
"
        )
    });
    // A browser transaction (when Chromium is installed) for the browser families.
    let chromium = cfg!(feature = "browser")
        .then(|| tool("chromium"))
        .flatten();
    let browser_tx = if chromium.is_some() {
        format!(
            // Its own deadlines: Chromium's start and first page take more
            // than the HTTP transactions' 1 s on a loaded machine, and the
            // page-load gauges appear only after a run that completed.
            "      - name: ui
        interval: 20s
        timeout: 15s
        tls: {{ca_file: {ca}}}
        browser:
          steps:
            - name: open
              timeout: 15s
              goto: https://docs.test:{https}/
",
            ca = d.join("ca.pem").display()
        )
    } else {
        String::new()
    };
    let closed = free_port();
    let yaml = format!(
        "global:
  location: docs
  interval: 3s
  timeout: 1s
  step_timeout: 1s
  hosts_file: {hosts}
secrets:
  key_id: {{env: DOCS_S3_KEY}}
  secret_key: {{env: DOCS_S3_SECRET}}
services:
  - name: svc
    display_name: {{ja: サービス, en: Service}}
    plain_http_url: http://127.0.0.1:{closed}/
    transactions:
      - name: tx
        tls: {{ca_file: {ca}}}
        resolve: all
        retries: 1
        retry_delay: 100ms
        steps:
          - name: get
            url: https://docs.test:{https}/
          # Two steps: a one-step transaction has no run histogram.
          - name: again
            url: https://docs.test:{https}/
{browser_tx}self_check:
  targets:
    - {{name: loop, tcp: \"{target_addr}\"}}
  locations:
    docs: [loop]
backups:
  - service: svc
    name: dir
    display_name: {{ja: ディレクトリ, en: Directory}}
    directory: {dir}
{s3_entry}",
        hosts = d.join("hosts").display(),
        ca = d.join("ca.pem").display(),
        dir = backups.join("bucket").display(),
    );
    let cfg_path = d.join("mimamori.yaml");
    std::fs::write(&cfg_path, &yaml).unwrap();
    let port = free_port();
    let _serve = Child(
        Command::new(env!("CARGO_BIN_EXE_mimamori"))
            .arg("serve")
            .arg("--config")
            .arg(&cfg_path)
            .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
            .env("DOCS_S3_KEY", "DOCSKEY")
            .env("DOCS_S3_SECRET", "DOCSSECRET")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mimamori serve starts"),
    );
    wait_port(port);

    let documented = documented_families();
    let mut expected: BTreeSet<&String> = documented.keys().collect();
    if s3.is_none() {
        expected.remove(&"mimamori_backup_anonymous_access_refused".to_string());
    }
    if chromium.is_none() {
        expected.retain(|n| !n.starts_with("mimamori_browser_"));
    }
    // Every documented family appears within a few probe rounds (the TLS
    // policy check and the backup listings run shortly after the start).
    // The page-load gauges wait for a browser run that completed: on a loaded
    // machine Chromium's start and the first runs can take minutes.
    let exposed = crate::common::wait_until(
        Duration::from_secs(240),
        "every documented family on /metrics",
        || {
            let (status, body) =
                crate::common::http(&format!("127.0.0.1:{port}"), "GET", "/metrics");
            assert_eq!(status, 200, "{body}");
            let f = families(&body);
            let missing: Vec<_> = expected.iter().filter(|n| !f.contains_key(**n)).collect();
            if missing.is_empty() {
                Ok(f)
            } else {
                // What the browser transaction did meanwhile, to tell why.
                let ui: Vec<&str> = body
                    .lines()
                    .filter(|l| l.contains("transaction=\"ui\"") && !l.ends_with(" 0"))
                    .filter(|l| {
                        l.starts_with("mimamori_probe_")
                            || l.starts_with("mimamori_transaction_runs")
                    })
                    .collect();
                Err(format!(
                    "documented in docs/metrics.md but not exposed: {missing:?}; the browser transaction: {ui:?}"
                ))
            }
        },
    );

    let mut problems = Vec::new();
    for (name, f) in &exposed {
        match documented.get(name) {
            None => problems.push(format!(
                "{name} ({f:?}) is exposed but not in docs/metrics.md"
            )),
            Some((n, d)) if d != f => problems.push(format!(
                "metrics.md:{n}: {name} is documented as {d:?} but exposed as {f:?}"
            )),
            Some(_) => {}
        }
    }
    // (Every documented family was exposed: the wait above.)
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
