//! The same rules for the rulers of long-term stores: Mimir's ruler (`mimirtool rules load`
//! reads a namespace per file) and Thanos ruler (Prometheus' format plus each group's
//! `partial_response_strategy`). The rules themselves do not change: they aggregate by
//! `service` and `location`, labels the probers set, and assume no external labels.

use serde::Serialize;

use super::rules::{Group, Rule, RuleFile};
use super::GeneratedFile;

/// Which rule files `generate` writes besides `rules/*.yml` (always written: the promtool
/// tests and `deploy/prometheus` use them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RulerFormat {
    /// Prometheus rule files only (`rules/*.yml`).
    #[default]
    Prometheus,
    /// Also `rules/mimir/mimamori.yml`: every group in the namespace `mimamori`,
    /// for `mimirtool rules load`.
    Mimir,
    /// Also `rules/thanos/*.yml`: the Prometheus files with `partial_response_strategy: abort`.
    Thanos,
}

/// The Mimir namespace the rules are loaded into.
pub const MIMIR_NAMESPACE: &str = "mimamori";

/// A file for `mimirtool rules load`: one namespace and its groups.
#[derive(Debug, Serialize)]
struct MimirFile<'a> {
    namespace: &'static str,
    groups: &'a [Group],
}

/// A Thanos ruler group: Prometheus' fields plus the partial-response strategy.
#[derive(Debug, Serialize)]
struct ThanosGroup<'a> {
    name: &'a str,
    interval: &'a str,
    /// `abort`: a query that misses a store answers with an error, so the rule is not
    /// evaluated rather than evaluated on part of the data (a location missing from the
    /// answer would look like a location not reporting, a service like a blind one).
    partial_response_strategy: &'static str,
    rules: &'a [Rule],
}

#[derive(Debug, Serialize)]
struct ThanosFile<'a> {
    groups: Vec<ThanosGroup<'a>>,
}

/// The ruler files for `format`, from the Prometheus rule files `(file name, rules)` and the
/// header each generated file starts with.
pub fn files(
    format: RulerFormat,
    rule_files: &[(String, RuleFile)],
    head: &str,
) -> anyhow::Result<Vec<GeneratedFile>> {
    match format {
        RulerFormat::Prometheus => Ok(Vec::new()),
        RulerFormat::Mimir => {
            let groups: Vec<Group> = rule_files
                .iter()
                .flat_map(|(_, rf)| rf.groups.iter().cloned())
                .collect();
            let file = MimirFile {
                namespace: MIMIR_NAMESPACE,
                groups: &groups,
            };
            Ok(vec![GeneratedFile::new(
                "rules/mimir/mimamori.yml",
                format!("{head}{}", serde_yaml::to_string(&file)?),
            )])
        }
        RulerFormat::Thanos => rule_files
            .iter()
            .map(|(name, rf)| {
                let file = ThanosFile {
                    groups: rf
                        .groups
                        .iter()
                        .map(|g| ThanosGroup {
                            name: &g.name,
                            interval: &g.interval,
                            partial_response_strategy: "abort",
                            rules: &g.rules,
                        })
                        .collect(),
                };
                Ok(GeneratedFile::new(
                    format!("rules/thanos/{name}"),
                    format!("{head}{}", serde_yaml::to_string(&file)?),
                ))
            })
            .collect(),
    }
}
