//! Finds where a value sits in a YAML source, so validation errors found after
//! deserialization can still name `file:line:column`.
//!
//! Why two YAML libraries. serde_yaml (serde_yaml_ng, the maintained fork of
//! the deprecated serde_yaml 0.9, under the old name; over libyaml) reads the configuration
//! into its types and writes the generated files (rules, Alertmanager config,
//! promtool tests); its error wording and positions are what the bad-config
//! table asserts, and its output is what the committed files are. But it has no
//! public position API (no spans, no marked events): only its own errors carry a
//! place. Errors found later (`validate()`, plan building, and our value
//! parsers' errors, which serde_yaml puts at the enclosing mapping) need a path
//! turned into a place, so this module runs yaml-rust2's marked event parser.
//! Where the two parsers disagree on an odd document, [`Locator::find`] falls
//! back to the nearest ancestor it knows.
//!
//! Replacements tried (December 2026), against the table's errors and by
//! re-serializing every committed generated YAML file:
//! - serde-saphyr 2.2 would do both jobs (serde over its own parser, with
//!   positions), but its messages differ: no field path (`unknown field
//!   `colour`, expected one of location, interval` instead of `global: unknown
//!   field ...`), `expected string scalar` instead of `invalid type: sequence,
//!   expected a string`, `unclosed bracket '['` at 1:11 instead of `did not find
//!   expected node content` at 2:1; its writer quotes differently (`"12:00"` for
//!   `12:00`, `"2025"` for `'2025'`), so generated files would change; and it
//!   needs Rust 1.89 (this crate: 1.85).
//! - serde_yaml_ng 0.10 gave messages, positions and output identical to
//!   serde_yaml 0.9's, so it replaced it (renamed in Cargo.toml: no code
//!   changed). It has no position API either, so yaml-rust2 stays with it.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step of a path into a YAML document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path into the document, e.g. `services[0].transactions[1].steps[2].url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<Seg>);

impl Path {
    pub fn root() -> Self {
        Path(Vec::new())
    }
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if first => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// Line and column, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Map from every node's path to where the node (or, for mapping values,
/// the key that introduces it) starts.
#[derive(Debug, Default)]
pub struct Locator {
    positions: HashMap<Path, Pos>,
}

enum Frame {
    Map {
        path: Path,
        pending_key: Option<(String, Pos)>,
    },
    Seq {
        path: Path,
        next: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    positions: HashMap<Path, Pos>,
}

impl Builder {
    /// Called for each node start: returns the node's path, or `None` when the
    /// node is a mapping key (recorded as pending).
    fn node(&mut self, scalar_key: Option<&str>, pos: Pos) -> Option<Path> {
        match self.stack.last_mut() {
            None => Some(Path::root()),
            Some(Frame::Seq { path, next }) => {
                let p = path.index(*next);
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, pending_key }) => match pending_key.take() {
                Some((k, key_pos)) => {
                    let p = path.key(&k);
                    // Point at the key: that is where a person looks for a field.
                    self.positions.insert(p.clone(), key_pos);
                    Some(p)
                }
                None => {
                    // A block mapping is best placed at its first key.
                    self.positions.entry(path.clone()).or_insert(pos);
                    *pending_key = Some((scalar_key.unwrap_or("").to_string(), pos));
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos {
            line: mark.line(),
            column: mark.col() + 1,
        };
        match ev {
            Event::Scalar(value, ..) => {
                if let Some(p) = self.node(Some(&value), pos) {
                    self.positions.entry(p).or_insert(pos);
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.node(Some(""), pos) {
                    self.positions.entry(p).or_insert(pos);
                }
            }
            Event::MappingStart(..) => {
                let p = self.node(None, pos).unwrap_or_default();
                self.stack.push(Frame::Map {
                    path: p,
                    pending_key: None,
                });
            }
            Event::SequenceStart(..) => {
                let p = self.node(None, pos).unwrap_or_default();
                self.positions.entry(p.clone()).or_insert(pos);
                self.stack.push(Frame::Seq { path: p, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

impl Locator {
    /// Builds the locator; a document that does not parse yields an empty one
    /// (serde_yaml reports the syntax error with its own position first).
    pub fn new(src: &str) -> Self {
        let mut b = Builder {
            stack: Vec::new(),
            positions: HashMap::new(),
        };
        let _ = Parser::new_from_str(src).load(&mut b, false);
        Locator {
            positions: b.positions,
        }
    }

    /// Position of the path, or of its nearest ancestor that exists in the file
    /// (a missing field is reported at the mapping that lacks it).
    pub fn find(&self, path: &Path) -> Pos {
        let mut p = path.clone();
        loop {
            if let Some(pos) = self.positions.get(&p) {
                return *pos;
            }
            if p.0.pop().is_none() {
                return Pos { line: 1, column: 1 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_items() {
        let src = "a: 1\nlist:\n  - name: x\n    url: http://x\n  - name: y\n    url: http://y\n";
        let loc = Locator::new(src);
        let p = Path::root().key("list").index(1).key("url");
        assert_eq!(p.to_string(), "list[1].url");
        assert_eq!(loc.find(&p), Pos { line: 6, column: 5 });
        assert_eq!(loc.find(&Path::root().key("a")), Pos { line: 1, column: 1 });
        // Missing field: falls back to its parent item.
        let missing = Path::root().key("list").index(0).key("timeout");
        assert_eq!(loc.find(&missing), Pos { line: 3, column: 5 });
    }
}
