//! `rules/tests/mimamori-probers.yaml`: the probers' own alerts (probers
//! gone, certificates about to expire, the TLS policy), for every service at once.

use super::{
    at, group, render, AlertTest, Ctx, ExpAlert, Series, TestFile, TestGroup, MIN, PER_MIN,
};
use crate::config::{Config, LabelName};
use crate::generate::rules::{self, Rule, RuleFile, INSTANCE};
use crate::promql::metric;
use crate::slo::plan::{ServicePlan, EVAL_SECONDS};

/// The probers' test file.
pub(super) fn file(cfg: &Config, plans: &[ServicePlan]) -> TestFile {
    let mut locations = cfg.alerting.locations.clone();
    if locations.is_empty() {
        locations = vec![cfg.global.location.clone()];
    }
    let s = Probers {
        job: &cfg.alerting.job,
        probers: rules::prober_rules(cfg),
        locations,
        svc: plans.first().map(|p| p.service.as_str()).unwrap_or("svc"),
    };
    TestFile {
        rule_files: vec!["../mimamori-probers.yml".into()],
        evaluation_interval: format!("{EVAL_SECONDS}s"),
        tests: vec![probers_gone(&s), certificates(&s), tls_policy(&s)],
    }
}

struct Probers<'a> {
    job: &'a String,
    probers: RuleFile,
    locations: Vec<LabelName>,
    /// The first service (the certificate and TLS scenarios need one).
    svc: &'a str,
}

impl Probers<'_> {
    fn rule(&self, name: &str) -> Rule {
        self.probers
            .rules()
            .find(|r| r.alert.as_deref() == Some(name))
            .cloned()
            .expect("known alert")
    }
}

fn probers_gone(s: &Probers) -> TestGroup {
    let (job, locations) = (s.job, &s.locations);
    let rule = |name: &str| s.rule(name);
    let mut g = group(
        "probers gone: every SLO is blind (page), each prober down (ticket)",
        locations
            .iter()
            .map(|l| Series {
                series: format!(
                    "{}{{job=\"{job}\",instance=\"{}\"}}",
                    metric::UP,
                    Ctx::instance(l)
                ),
                values: format!("0x{}", 10 * PER_MIN),
            })
            .collect(),
    );
    g.alert_rule_test.push(AlertTest {
        eval_time: at(4 * MIN),
        alertname: "MimamoriProbersAbsent".into(),
        exp_alerts: vec![],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(6 * MIN),
        alertname: "MimamoriProbersAbsent".into(),
        exp_alerts: vec![ExpAlert {
            exp_labels: [("severity".to_string(), "page".to_string())].into(),
            exp_annotations: rule("MimamoriProbersAbsent").annotations,
        }],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(6 * MIN),
        alertname: "MimamoriProberDown".into(),
        exp_alerts: locations
            .iter()
            .map(|l| ExpAlert {
                exp_labels: [
                    ("severity".to_string(), "ticket".to_string()),
                    ("job".into(), job.clone()),
                    ("instance".into(), Ctx::instance(l)),
                ]
                .into(),
                exp_annotations: render(
                    &rule("MimamoriProberDown"),
                    &[(INSTANCE, &Ctx::instance(l))],
                ),
            })
            .collect(),
    });
    g
}

/// Certificates: 10 days left is a ticket; 2 days left is a page too.
fn certificates(s: &Probers) -> TestGroup {
    let (svc, locations) = (s.svc, &s.locations);
    let rule = |name: &str| s.rule(name);
    let at_eval = 5 * MIN;
    let mut g = group(
        "certificate expiry: a ticket at 21 days, a page at 3 days",
        vec![Series {
            series: format!(
                "{}{{service=\"{svc}\",location=\"{}\"}}",
                metric::TLS_CERTIFICATE_EXPIRY,
                locations[0]
            ),
            values: format!(
                "{}x{} {}x{}",
                10 * 86400 + at_eval,
                PER_MIN * 10,
                2 * 86400 + 20 * MIN,
                PER_MIN * 10
            ),
        }],
    );
    let cert = |name: &str, value: &str| ExpAlert {
        exp_labels: [
            (
                "severity".to_string(),
                rule(name).labels["severity"].clone(),
            ),
            ("service".into(), svc.to_string()),
        ]
        .into(),
        exp_annotations: render(
            &rule(name),
            &[
                ("{{ $labels.service }}", svc),
                ("{{ $value | humanizeDuration }}", value),
            ],
        ),
    };
    g.alert_rule_test.push(AlertTest {
        eval_time: at(at_eval),
        alertname: "MimamoriCertificateExpiresSoon".into(),
        exp_alerts: vec![cert("MimamoriCertificateExpiresSoon", "10d 0h 0m 0s")],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(at_eval),
        alertname: "MimamoriCertificateExpiresVerySoon".into(),
        exp_alerts: vec![],
    });
    g.alert_rule_test.push(AlertTest {
        eval_time: at(20 * MIN),
        alertname: "MimamoriCertificateExpiresVerySoon".into(),
        exp_alerts: vec![cert("MimamoriCertificateExpiresVerySoon", "2d 0h 0m 0s")],
    });
    g
}

/// TLS policy: a server that accepts TLS 1.1 and a plain-HTTP address that
/// serves content are tickets; compliant values are silent.
fn tls_policy(s: &Probers) -> TestGroup {
    let (svc, locations) = (s.svc, &s.locations);
    let rule = |name: &str| s.rule(name);
    let mut g = group(
        "TLS policy: legacy TLS accepted and plain HTTP served are tickets",
        vec![
            Series {
                series: format!(
                    "{}{{service=\"{svc}\",location=\"{}\",transaction=\"t\",step=\"s\",version=\"TLSv1.1\"}}",
                    metric::TLS_LEGACY_ACCEPTED,
                    locations[0]
                ),
                values: format!("0x{} 1x{}", PER_MIN * 10, PER_MIN * 10),
            },
            Series {
                series: format!(
                    "{}{{service=\"{svc}\",location=\"{}\"}}",
                    metric::PLAIN_HTTP_REFUSED,
                    locations[0]
                ),
                values: format!("1x{} 0x{}", PER_MIN * 10, PER_MIN * 10),
            },
        ],
    );
    let policy = |name: &str, extra: &[(&str, &str)]| {
        let mut labels: std::collections::BTreeMap<String, String> = [
            ("severity".to_string(), "ticket".to_string()),
            ("service".into(), svc.to_string()),
        ]
        .into();
        let mut subst = vec![("{{ $labels.service }}", svc)];
        for (k, v) in extra {
            labels.insert(k.to_string(), v.to_string());
        }
        if let Some((_, v)) = extra.iter().find(|(k, _)| *k == "version") {
            subst.push(("{{ $labels.version }}", v));
        }
        ExpAlert {
            exp_labels: labels,
            exp_annotations: render(&rule(name), &subst),
        }
    };
    for (name, extra) in [
        ("MimamoriLegacyTlsAccepted", vec![("version", "TLSv1.1")]),
        ("MimamoriPlainHttpServed", vec![]),
    ] {
        g.alert_rule_test.push(AlertTest {
            eval_time: at(5 * MIN),
            alertname: name.into(),
            exp_alerts: vec![],
        });
        g.alert_rule_test.push(AlertTest {
            eval_time: at(15 * MIN),
            alertname: name.into(),
            exp_alerts: vec![policy(name, &extra)],
        });
    }
    g
}
