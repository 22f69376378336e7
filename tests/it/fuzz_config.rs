//! Property tests ("fuzzing" on stable Rust) of the configuration loader and of
//! `${...}` substitution: whatever the input, no panic, and every error names
//! `file:line:column`.
//!
//! Default: a few hundred cases per property, a few seconds in CI. A longer run:
//! `PROPTEST_CASES=200000 cargo test --test it fuzz_config::` (see docs/fuzzing.md).

use std::collections::HashMap;

use mimamori::config::{self, Template};
use proptest::prelude::*;

const FILE: &str = "fuzz.yaml";
const SHIPPED: &str = include_str!("../../deploy/aoulu.yaml");

/// Cases per property: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every key name the loader accepts and every value of a closed set (e.g.
/// `resolve: all`, `body: {form: ...}`), so generated documents reach deep
/// checks. Derived from the loader by the same enumeration that keeps
/// `docs/configuration.md` true (`crate::docs::schema_keys`): a key added to
/// the schema is fuzzed without touching this file.
fn keys() -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for k in crate::docs::schema_keys() {
        names.insert(k.name.clone());
        if let crate::docs::Shape::OneOf(values) = &k.shape {
            names.extend(values.iter().cloned());
        }
    }
    names.into_iter().collect()
}

/// The sections at the top of a file.
fn top_level_keys() -> Vec<String> {
    crate::docs::schema_keys()
        .iter()
        .filter(|k| !k.path.contains(['.', '[']))
        .map(|k| k.name.clone())
        .collect()
}

#[test]
fn the_fuzzed_keys_cover_the_schema() {
    let keys = keys();
    for k in [
        "retries",
        "resolve",
        "fail_when",
        "ip_protocol",
        "backups",
        "shard",
        "hosts_file",
        "notices",
        "self_check",
        "pointer",
        "form",
        "all_addresses",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
    assert_eq!(
        top_level_keys(),
        [
            "alerting",
            "backups",
            "exclusions",
            "global",
            "maintenance",
            "notices",
            "notify",
            "secrets",
            "self_check",
            "services"
        ]
    );
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "15s",
            "0s",
            "-1s",
            "1h",
            "5m30s",
            "1.5s",
            "18446744073709551616s",
            "99.99",
            "100",
            "0",
            "-1",
            "3",
            "NaN",
            ".inf",
            "true",
            "false",
            "null",
            "~",
            "''",
            "2027-05-09T01:00:00+09:00",
            "2027-05-09T01:00:00",
            "2027-02-30T00:00:00Z",
            "http://127.0.0.1:9/",
            "https://[::1]:0/x",
            "${base}/x",
            "${env:X:-d}",
            "${env:X}",
            "${secret:s}",
            "${secret:}",
            "${",
            "${}",
            "$$",
            "$",
            "${a b}",
            "2xx",
            "200-299",
            "299-200",
            "600",
            "9xx",
            "GET",
            "POST",
            "BREW",
            "/token",
            "[",
            "]",
            "{",
            "}",
            "'",
            "\"",
            "&a",
            "*a",
            "!!binary AA==",
            "|",
            ">",
            "? x",
            "- x",
            "# c",
            ":",
            "\t",
            "%YAML 1.2",
            "---",
            "...",
            "\\u0000",
            "(",
            "[a-",
        ])
        .prop_map(String::from),
        "[a-z0-9_.-]{0,12}",
        "\\PC{0,16}",
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(keys()),
        1 => "[a-z_]{1,8}",
        1 => scalar(),
    ]
}

/// A YAML-ish tree: what a person might write, right or wrong.
#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    scalar()
        .prop_map(Node::Scalar)
        .prop_recursive(6, 96, 8, |inner| {
            prop_oneof![
                prop::collection::vec((key(), inner.clone()), 0..8).prop_map(Node::Map),
                prop::collection::vec(inner, 0..6).prop_map(Node::Seq),
            ]
        })
}

/// Renders block style, with flow style and odd indentation mixed in.
fn render(n: &Node, indent: usize, flow: bool, out: &mut String) {
    let pad = " ".repeat(indent);
    match n {
        Node::Scalar(s) => out.push_str(s),
        Node::Map(m) if flow || m.is_empty() => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                render(v, 0, true, out);
            }
            out.push('}');
        }
        Node::Seq(s) if flow || s.is_empty() => {
            out.push('[');
            for (i, v) in s.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(v, 0, true, out);
            }
            out.push(']');
        }
        Node::Map(m) => {
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    out.push_str(&pad);
                }
                out.push_str(k);
                out.push(':');
                match v {
                    Node::Scalar(_) => {
                        out.push(' ');
                        render(v, indent + 2, false, out);
                    }
                    _ => {
                        out.push('\n');
                        out.push_str(&pad);
                        out.push_str("  ");
                        render(v, indent + 2, k.len() % 3 == 0, out);
                    }
                }
            }
        }
        Node::Seq(s) => {
            for (i, v) in s.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    out.push_str(&pad);
                }
                out.push_str("- ");
                render(v, indent + 2, false, out);
            }
        }
    }
}

fn yaml_doc() -> impl Strategy<Value = String> {
    let top = prop_oneof![
        4 => prop::sample::select(top_level_keys()),
        1 => key(),
    ];
    let root = prop_oneof![
        6 => prop::collection::vec((top, node()), 1..6).prop_map(Node::Map),
        1 => node(),
    ];
    root.prop_map(|n| {
        let mut s = String::new();
        render(&n, 0, false, &mut s);
        s.push('\n');
        s
    })
}

/// The shipped configuration with a few edits: a deleted span, inserted text.
fn mutated_shipped() -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0usize..12, scalar());
    prop::collection::vec(edit, 1..4).prop_map(|edits| {
        let mut chars: Vec<char> = SHIPPED.chars().collect();
        for (at, delete, insert) in edits {
            let i = at.index(chars.len() + 1);
            let end = (i + delete).min(chars.len());
            chars.splice(i..end, insert.chars());
        }
        chars.into_iter().collect()
    })
}

/// Parses `src`; on failure every error must be placed in the file.
fn check_loader(src: &str) -> Result<(), TestCaseError> {
    let lines = src.lines().count().max(1) + 1;
    match config::parse(src, FILE) {
        Ok(cfg) => {
            // Building the plans is part of loading (secrets, env, CA files).
            if let Err(errs) =
                mimamori::probe::plan::build(&cfg, "fuzz", &|k| (k != "UNSET").then(|| "v".into()))
            {
                check_errors(&errs, lines)?;
            }
            let _ = cfg.warnings();
        }
        Err(errs) => check_errors(&errs, lines)?,
    }
    Ok(())
}

fn check_errors(errs: &config::ConfigErrors, lines: usize) -> Result<(), TestCaseError> {
    prop_assert!(!errs.0.is_empty(), "an error without a message");
    for e in &errs.0 {
        prop_assert_eq!(&e.file, FILE);
        prop_assert!(e.pos.line >= 1 && e.pos.column >= 1, "position {:?}", e.pos);
        prop_assert!(
            e.pos.line <= lines,
            "line {} past the end ({lines})",
            e.pos.line
        );
        let shown = e.to_string();
        let prefix = format!("{FILE}:{}:{}: ", e.pos.line, e.pos.column);
        prop_assert!(shown.starts_with(&prefix), "{}", shown);
        prop_assert!(!e.message.is_empty(), "{}", shown);
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn loader_never_panics_on_arbitrary_text(src in "\\PC{0,400}") {
        check_loader(&src)?;
    }

    #[test]
    fn loader_never_panics_on_yaml_shaped_documents(src in yaml_doc()) {
        check_loader(&src)?;
    }

    #[test]
    fn loader_never_panics_on_edited_shipped_config(src in mutated_shipped()) {
        check_loader(&src)?;
    }

    #[test]
    fn templates_parse_render_and_print_back(
        s in prop_oneof![
            "\\PC{0,64}",
            prop::collection::vec(scalar(), 0..6).prop_map(|v| v.concat()),
        ],
        vars in prop::collection::hash_map("[a-z_.-]{1,6}", "\\PC{0,8}", 0..4),
    ) {
        if let Ok(t) = Template::parse(&s) {
            // What `check` prints parses back to the same template.
            let shown = t.to_string();
            let again = Template::parse(&shown);
            prop_assert_eq!(again.as_ref(), Ok(&t), "{}", shown);
            let secrets: HashMap<String, String> =
                t.secrets().map(|n| (n.to_string(), "S3CR3T".to_string())).collect();
            let _ = t.render(&vars, &secrets);
            let resolved = t.resolve_env(&|k| (k != "UNSET").then(|| "e".into()));
            if let Ok(r) = resolved {
                let env_left = r.parts.iter().any(|p| matches!(p, config::Part::Env { .. }));
                prop_assert!(!env_left, "environment reference left in {:?}", r);
            }
        }
    }
}
